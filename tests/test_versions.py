"""Copies and versions of a story are found; different stories on one topic stay apart."""

import json
import os
import subprocess
import sys

import pytest
from conftest import make_article

from index.models import Article
from index.versions import (
    LONG_SHINGLES,
    StoryFinder,
    containment,
    fingerprint,
    fingerprint_article,
    resemblance,
    same_story,
    shingles,
    words,
)


def copy(article: Article, article_id: str, **changes) -> Article:
    """Return a copy of `article` under another id, with some fields changed."""
    fields = {"title": article.title, "paragraphs": list(article.paragraphs), **changes}
    return make_article(article_id, fields.pop("title"), fields.pop("paragraphs"), **fields)


TRIAL_OPENS = make_article(
    "trial-1",
    "Ferry firm boss denies fraud as trial opens",
    [
        "The former chief executive of Northsea Ferries defrauded investors of £14m by hiding "
        "mounting losses on the company's new routes, a jury at Southwark Crown Court has heard.",
        "Martin Hale, 58, of Harrogate, denies six counts of fraud and one of false accounting. "
        "Prosecutor Anne Rigby KC told the court that Mr Hale signed off accounts he knew to be "
        "false in the months before the company collapsed in March 2022.",
        '"This was not a mistake or an oversight," Ms Rigby said. "The defendant knew the routes '
        'were losing money every week, and he chose to tell shareholders the opposite." She said '
        "emails would show Mr Hale instructing staff to move costs into the following year.",
        "Northsea Ferries ran services between Hull, Rotterdam and Zeebrugge until it went into "
        "administration with debts of £40m. About 600 jobs were lost when the company collapsed.",
        "The trial, which is expected to last eight weeks, continues.",
    ],
)

# The second day of the same trial: the same names, court and background paragraph.
TRIAL_DAY_TWO = make_article(
    "trial-2",
    "Ferry firm finance chief tells fraud trial of pressure",
    [
        "A former finance director of Northsea Ferries has told a jury she was pressured to move "
        "costs out of the company's accounts in the months before it collapsed.",
        "Giving evidence at Southwark Crown Court, Helen Marsh said the former chief executive, "
        'Martin Hale, told her the losses on the new routes were "temporary" and should not '
        'worry shareholders. "I said I was uncomfortable, and he told me that was not my '
        'decision to make," she said.',
        "Under cross-examination by defence barrister Paul Okafor KC, Ms Marsh accepted that she "
        "had signed the same accounts herself and had not reported her concerns to the auditors.",
        "Martin Hale, 58, of Harrogate, denies six counts of fraud and one of false accounting.",
        "Northsea Ferries ran services between Hull, Rotterdam and Zeebrugge until it went into "
        "administration with debts of £40m. About 600 jobs were lost when the company collapsed.",
        "The trial continues.",
    ],
)

MATCH_REPORT = make_article(
    "match-report",
    "Rovers 2-1 United: late Diaz header settles derby",
    [
        "Luis Diaz headed an 89th-minute winner as Rovers came from behind to beat United 2-1 in "
        "a tense derby at Ashton Park on Saturday.",
        "United took the lead after 23 minutes when Tom Bright curled a free-kick over the wall "
        "and past goalkeeper Sam Ellis. Rovers pushed for an equaliser but found United's "
        "defence, marshalled by captain Joe Reid, hard to break down.",
        "Substitute Kyle Mensah levelled eight minutes after the break, turning in a low cross "
        "from Ben Ward at the near post. Rovers then dominated possession, and Ellis had to save "
        "well from Bright on the counter-attack.",
        "Diaz settled it late on, rising above Reid to meet Ward's corner and send the home crowd "
        "into raptures. The win lifts Rovers to fourth in the table, two points behind United.",
    ],
)

# A separate report on the same match: the managers' reaction, with the same names and score.
MATCH_REACTION = make_article(
    "match-reaction",
    "Rovers boss hails Diaz after derby win",
    [
        'Rovers manager Gary Holt said Luis Diaz had "earned every bit" of his late winner after '
        "his side beat United 2-1 in Saturday's derby at Ashton Park.",
        "Diaz headed in Ben Ward's corner in the 89th minute, after substitute Kyle Mensah had "
        "cancelled out Tom Bright's first-half free-kick.",
        '"He has been working on his heading every day in training, and today he got his reward," '
        'Holt said. "The lads showed real character after going a goal down. Derbies are about '
        'nerve as much as football."',
        "United boss Mark Fenwick was unhappy with the corner that led to the winner, saying his "
        "captain Joe Reid had been pushed. \"It's a foul every day of the week, and the referee "
        'was standing five yards away," he said.',
        "The win lifts Rovers to fourth in the table, two points behind United, who host the "
        "leaders next weekend.",
    ],
)

# TRIAL_OPENS as a sub-editor left it: a word changed, added or cut in each paragraph and
# two sentences swapped in the third.
TRIAL_EDITED = make_article(
    "trial-1-edited",
    "Ferry firm boss denies fraud as trial opens",
    [
        "The former chief executive of Northsea Ferries defrauded investors of £14m by concealing "
        "mounting losses on the company's new routes, a jury at Southwark Crown Court has heard.",
        "Martin Hale, 58, from Harrogate, denies six counts of fraud and one of false accounting. "
        "Prosecutor Anne Rigby KC told the court that Mr Hale signed off accounts he knew to be "
        "false in the months before the company collapsed in March 2022.",
        "She said emails would show Mr Hale instructing staff to move costs into the following "
        'year. "This was not a mistake or an oversight," Ms Rigby said. "The defendant knew the '
        'routes were losing money every week, and he chose to tell shareholders the opposite."',
        "Northsea Ferries ran services between Hull, Rotterdam and Zeebrugge until it went into "
        "administration with debts of £40m. About 600 jobs were lost when the firm collapsed.",
        "The trial, which is expected to last eight weeks, continues on Monday.",
    ],
)

TEMPLATE = (
    "Police are appealing for witnesses and anyone with information should call 101, quoting "
    "the incident number, or Crimestoppers anonymously on 0800 555 111."
)
BRIEF_LEEDS = make_article(
    "brief-leeds",
    "Man hurt in Leeds stabbing",
    [
        "A man is in hospital with serious injuries after a stabbing in Leeds on Saturday. "
        + TEMPLATE
    ],
)
BRIEF_YORK = make_article(
    "brief-york",
    "Woman hurt in York assault",
    [f"A woman was treated for minor injuries after an assault in York on Friday. {TEMPLATE}"],
)


def test_an_exact_duplicate_is_the_same_story():
    original = fingerprint_article(TRIAL_OPENS)
    duplicate = fingerprint_article(copy(TRIAL_OPENS, "dup", source="Another Paper"))
    assert resemblance(original, duplicate) == 1.0
    assert same_story(original, duplicate)
    assert original.bands == duplicate.bands


# A later, longer version: the same text with the defence's opening and more background.
TRIAL_LONGER = copy(
    TRIAL_OPENS,
    "trial-1-longer",
    paragraphs=[
        *TRIAL_OPENS.paragraphs[:4],
        "Mr Hale's barrister, Paul Okafor KC, told jurors that his client had relied on "
        "forecasts prepared by the company's finance team and had never set out to mislead "
        "anyone who invested in the business.",
        '"Businesses fail. That is not a crime," Mr Okafor said. "The question for you is '
        "whether Martin Hale was dishonest, and the evidence will show that he was not. He put "
        'his own savings into this company and lost them with everyone else."',
        "The jury was told that the routes to Rotterdam and Zeebrugge were launched in 2019 with "
        "the help of a £6m loan from a regional development fund, which has since been written "
        "off. Passenger numbers on both routes fell well short of the company's own targets.",
        "Several former employees are expected to give evidence for the prosecution, including "
        "the company's former finance director and two members of its audit committee.",
        "Shareholders who lost money when the company collapsed have been told by the "
        "administrators that they are unlikely to recover more than a few pence in the pound. "
        "A group of small investors from Hull is pursuing a separate civil claim.",
        TRIAL_OPENS.paragraphs[4],
    ],
)
NEW_TITLE = "Ex-ferry boss hid £14m losses, jury told"
COPIES = {
    "edited": TRIAL_EDITED,
    "re-headlined": copy(TRIAL_OPENS, "new-title", title=NEW_TITLE),
    "truncated": copy(TRIAL_OPENS, "first-three", paragraphs=TRIAL_OPENS.paragraphs[:3]),
    "truncated-short": copy(TRIAL_OPENS, "first-two", paragraphs=TRIAL_OPENS.paragraphs[:2]),
    "longer-version": TRIAL_LONGER,
    "wire-byline": copy(
        TRIAL_OPENS,
        "wire",
        paragraphs=["LONDON (Reuters) -", *TRIAL_OPENS.paragraphs],
        source="Reuters",
    ),
}


@pytest.mark.parametrize("changed", COPIES.values(), ids=COPIES.keys())
def test_a_copy_or_version_is_the_same_story(changed: Article):
    original, other = fingerprint_article(TRIAL_OPENS), fingerprint_article(changed)
    assert same_story(original, other)
    assert same_story(other, original)
    finder = StoryFinder()
    finder.add(TRIAL_OPENS.id, original)
    assert finder.add(changed.id, other) == TRIAL_OPENS.id


def test_the_copies_exercise_each_rule():
    original = fingerprint_article(TRIAL_OPENS)
    edited = fingerprint_article(TRIAL_EDITED)
    longer = fingerprint_article(TRIAL_LONGER)
    short = fingerprint_article(COPIES["truncated-short"])
    assert 0.5 <= resemblance(original, edited) < 0.8 and containment(original, edited) < 0.95
    assert resemblance(original, longer) < 0.5 <= 0.8 <= containment(original, longer)
    assert len(short) < LONG_SHINGLES <= len(original)


@pytest.mark.parametrize(
    "first, second",
    [
        pytest.param(TRIAL_OPENS, TRIAL_DAY_TWO, id="two-days-of-a-trial"),
        pytest.param(MATCH_REPORT, MATCH_REACTION, id="two-reports-of-a-match"),
        pytest.param(BRIEF_LEEDS, BRIEF_YORK, id="briefs-sharing-a-template"),
    ],
)
def test_different_stories_on_one_topic_stay_apart(first: Article, second: Article):
    a, b = fingerprint_article(first), fingerprint_article(second)
    assert containment(a, b) > 0  # they do share text
    assert not same_story(a, b)
    finder = StoryFinder()
    finder.add(first.id, a)
    assert finder.add(second.id, b) == second.id


def test_short_briefs_need_the_same_title_and_nearly_all_their_text():
    leeds = fingerprint_article(BRIEF_LEEDS)
    # The same template with only the place changed, under the same kind of headline.
    bradford = fingerprint(
        "Man hurt in Bradford stabbing", [BRIEF_LEEDS.paragraphs[0].replace("Leeds", "Bradford")]
    )
    assert len(leeds) < LONG_SHINGLES
    assert resemblance(leeds, bradford) > 0.6  # two long articles this close would merge
    assert not same_story(leeds, bradford)
    assert same_story(leeds, fingerprint_article(copy(BRIEF_LEEDS, "again")))
    # A brief's body under another headline may be a template filled in twice: kept apart.
    retitled = copy(BRIEF_LEEDS, "retitled", title="Leeds stabbing: police appeal")
    assert not same_story(leeds, fingerprint_article(retitled))


def test_a_round_up_does_not_join_the_stories_it_quotes():
    round_up = copy(
        TRIAL_OPENS,
        "round-up",
        title="Weekend round-up",
        paragraphs=[
            "Here are some of the stories you may have missed this week.",
            *TRIAL_OPENS.paragraphs,
            *MATCH_REPORT.paragraphs,
        ],
    )
    finder = StoryFinder()
    for article in (round_up, TRIAL_OPENS, MATCH_REPORT):
        finder.add(article.id, fingerprint_article(article))
    assert finder.story_of(TRIAL_OPENS.id) != finder.story_of(MATCH_REPORT.id)


def test_an_article_linking_two_stories_merges_them():
    start = copy(TRIAL_OPENS, "start", paragraphs=TRIAL_OPENS.paragraphs[:2])
    retitled = copy(TRIAL_OPENS, "retitled", title="Ex-ferry boss hid £14m losses, jury told")
    finder = StoryFinder()
    assert finder.add(start.id, fingerprint_article(start)) == "start"
    # A short start under another title is not enough to join: a story of its own.
    assert finder.add(retitled.id, fingerprint_article(retitled)) == "retitled"
    placed = finder.place(TRIAL_OPENS.id, fingerprint_article(TRIAL_OPENS))
    assert (placed.story, placed.merged) == ("retitled", ["start"])
    assert placed.match is not None and placed.match.article_id == "retitled"
    assert finder.stories() == {"retitled": ["retitled", "start", TRIAL_OPENS.id]}


def test_removing_the_first_article_passes_the_story_key_on():
    finder = StoryFinder()
    for article in (TRIAL_OPENS, TRIAL_EDITED, MATCH_REPORT):
        finder.add(article.id, fingerprint_article(article))
    finder.remove(TRIAL_OPENS.id)
    assert finder.story_of(TRIAL_EDITED.id) == TRIAL_EDITED.id
    assert TRIAL_OPENS.id not in finder and len(finder) == 2
    # Adding an id again replaces the article: the day-two report is a story of its own.
    assert finder.add(TRIAL_EDITED.id, fingerprint_article(TRIAL_DAY_TWO)) == TRIAL_EDITED.id
    assert finder.add("again", fingerprint_article(TRIAL_OPENS)) == "again"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Don't PANIC, it's 4.75% now!", ["dont", "panic", "its", "475", "now"]),
        ("£1,500 — “quoted” words…", ["1500", "quoted", "words"]),
        ("Straße ﬁnal Kilroy-Silk", ["strasse", "final", "kilroy", "silk"]),
    ],
)
def test_words_are_casefolded_without_punctuation(text: str, expected: list[str]):
    assert words(text) == expected


def test_shingles_read_across_paragraphs():
    assert shingles(["one two three", "four five six"]) == {
        "one two three four five",
        "two three four five six",
    }
    assert shingles(["Too short"]) == {"too short"}
    assert shingles(["", "…"]) == set()


def test_an_article_without_words_has_no_bands_and_no_story_mates():
    empty = fingerprint("Pictures", ["…", "—"])
    assert empty.bands == [] and len(empty) == 0
    assert not same_story(empty, fingerprint("Pictures", ["…", "—"]))


def test_band_tokens_are_short_keyword_tokens():
    bands = fingerprint_article(TRIAL_OPENS).bands
    assert len(bands) == len(set(bands)) == 28
    assert all(token.isalnum() and token.islower() and len(token) == 15 for token in bands)


def test_band_tokens_are_the_same_in_another_process():
    here = fingerprint_article(MATCH_REPORT).bands
    code = (
        "import json, sys\n"
        "from index.versions import fingerprint\n"
        "title, paragraphs = json.load(sys.stdin)\n"
        "print(json.dumps(fingerprint(title, paragraphs).bands))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([MATCH_REPORT.title, MATCH_REPORT.paragraphs]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(result.stdout) == here


def test_band_tokens_do_not_drift_between_releases():
    # Tokens stored in an archive must keep matching: a change here (a new datasketch, a new
    # constant) means fingerprinting the archive again and changing SCHEME.
    assert fingerprint("", ["one two three four five six seven"]).bands[::7] == [
        "b0091c690105793",
        "b0709ed44476cf8",
        "b146bd02caae952",
        "b21f72d63588c8d",
    ]


# --- in the archive: ingest decides the story, search shows one card per story ---------------


def _record(article: Article, **fields) -> dict:
    return {"id": article.id, "title": article.title, "paragraphs": article.paragraphs, **fields}


@pytest.fixture
def story_archive(archive, tmp_path):
    from index.ingest import ingest_paths

    first = tmp_path / "first.jsonl"
    records = [
        _record(TRIAL_OPENS, source="Courier", date="2024-03-01"),
        _record(TRIAL_DAY_TWO, source="Courier", date="2024-03-02"),
        _record(MATCH_REPORT, source="Courier", date="2024-03-02"),
    ]
    first.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    assert ingest_paths(archive, [first], workers=1).ok
    # A later ingest: the edited copy and an exact copy under another source, in one batch.
    later = tmp_path / "later.jsonl"
    copies = [
        _record(TRIAL_EDITED, source="Wire", date="2024-03-03"),
        _record(copy(MATCH_REPORT, "match-wire"), source="Wire", date="2024-03-04"),
        _record(copy(MATCH_REPORT, "match-wire-2"), source="Agency", date="2024-03-05"),
    ]
    later.write_text("\n".join(json.dumps(r) for r in copies), encoding="utf-8")
    assert ingest_paths(archive, [later], workers=1).ok
    return archive


def test_ingest_puts_copies_in_the_story_they_copy(story_archive):
    story = {i: story_archive.get(i).story for i in story_archive.ids()}
    assert story["trial-1-edited"] == story["trial-1"] == "trial-1"
    assert story["match-wire"] == story["match-wire-2"] == story["match-report"]
    assert story["trial-2"] == "trial-2"  # the same trial, another day: another story


def test_search_shows_one_card_per_story_with_its_versions(story_archive):
    from index.models import SearchRequest

    page = story_archive.search("Northsea Ferries Hale")
    assert page.total == 2  # the trial's opening (two versions) and its second day
    ids = [r.id for r in page.results]
    assert "trial-2" in ids and len(ids) == 2
    opening = next(r for r in page.results if r.id != "trial-2")
    assert {v.id for v in opening.versions} | {opening.id} == {"trial-1", "trial-1-edited"}
    assert page.to_json()["results"][0].keys() >= {"versions"}
    derby = story_archive.search("Diaz header")
    assert derby.total == 1 and len(derby.results[0].versions) == 2
    newest = story_archive.search("")  # the latest articles, one per story too
    assert newest.total == 3
    apart = story_archive.search(SearchRequest("Diaz header", group=False))
    assert apart.total == 3 and all(not r.versions for r in apart.results)


def test_pages_and_the_api_list_the_versions(story_archive, index_dir):
    from webapp import create_app

    client = create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()
    html = client.get("/?q=Diaz+header").get_data(as_text=True)
    assert html.count('class="result"') == 1 and "2 other versions" in html
    article = client.get("/articles/match-report").get_data(as_text=True)
    assert "Other versions of this story" in article and "/articles/match-wire" in article
    api = client.get("/api/search?q=Diaz+header").get_json()
    assert len(api["results"]) == 1 and len(api["results"][0]["versions"]) == 2
    assert client.get("/api/articles/match-wire").get_json()["story"] == "match-report"
    ungrouped = create_app(
        {"INDEX": str(index_dir), "TESTING": True, "GROUP_VERSIONS": False}
    ).test_client()
    assert ungrouped.get("/api/search?q=Diaz+header").get_json()["total"] == 3


def test_a_story_found_in_the_archive_can_take_in_a_story_of_the_batch():
    """An article may match a stored story (closest) and one begun earlier in its batch:
    it joins the stored one, whose key the batch's finder has never seen."""
    from index.versions import Match

    finder = StoryFinder()
    finder.add("batch-copy", fingerprint_article(TRIAL_OPENS))
    stored = Match("a-stored", "stored-story", 1.0, 1.0)  # sorts first on a tie
    where = finder.place("another-copy", fingerprint_article(TRIAL_OPENS), also=[stored])
    assert where.story == "stored-story" and where.merged == ["batch-copy"]
    assert finder.story_of("batch-copy") == finder.story_of("another-copy") == "stored-story"
