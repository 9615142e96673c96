"""Search on a real archive: the query language, typos, filters, facets, order, grouping."""

from __future__ import annotations

import pytest
from conftest import make_article
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.ingest import store_articles
from index.marking import to_html
from index.models import SearchRequest


def html_of(hit) -> str:
    """A hit as the pages render it."""
    return str(to_html(hit.marked))


@pytest.fixture
def newsroom(archive):
    store_articles(
        archive,
        [
            make_article(
                "ferry-week",
                title="Ferry week",
                date="2025-03-10",
                source="Harbour Post",
                category="local",
                paragraphs=[
                    f"Ferry update number {n}: the ferry ran late again." for n in range(5)
                ],
            ),
            make_article(
                "ferry-electric",
                date="2025-03-14",
                source="Harbour Post",
                category="local",
            ),
            make_article(
                "library",
                title="Library opens",
                date="2024-11-02",
                source="Valley Courier",
                category="culture",
                paragraphs=[
                    "The new library opens with <script>alert('x')</script> displays.",
                    "Volunteers scanned the newspaper archive of the valley.",
                ],
            ),
            make_article(
                "observatory",
                title="Pupils spot a comet",
                date="2023-01-09",
                source="Valley Courier",
                category="science",
                paragraphs=[
                    "Pupils at the hill school observatory discovered a faint comet.",
                    "The comet should be visible through a small telescope in February.",
                ],
            ),
        ],
    )
    return archive


def ids(page) -> list[str]:
    return [result.id for result in page.results]


def with_every_word(page) -> list[str]:
    """The results counted in the total (not those filling the page below them)."""
    return [result.id for result in page.results if not result.missing]


def test_an_article_with_five_matching_paragraphs_appears_once(newsroom):
    page = newsroom.search("ferry")
    assert page.total == 2
    assert sorted(ids(page)) == ["ferry-electric", "ferry-week"]
    week = next(r for r in page.results if r.id == "ferry-week")
    assert len(week.hits) == 3  # the best paragraphs, at most three, in document order
    assert [h.paragraph for h in week.hits] == sorted(h.paragraph for h in week.hits)
    assert ids(page)[0] == "ferry-week"  # more matching paragraphs and a title match


def test_every_word_required_else_words_left_out_and_said(newsroom):
    both = newsroom.search("ferry passengers")
    assert with_every_word(both) == ["ferry-electric"] and not both.dropped
    # No article has both: the last of two equally rare words is left out, and said.
    page = newsroom.search("library passengers")
    assert with_every_word(page) == ["library"] and page.dropped == ["passengers"]
    assert "left out: “passengers”" in page.message and page.total == 1
    # The page is filled below with the articles that have some of the words, each
    # saying which it lacks (and not counted).
    below = [r for r in page.results if r.missing]
    assert [(r.id, r.missing) for r in below] == [("ferry-electric", ["library"])]


def test_a_short_list_is_followed_by_articles_with_some_of_the_words(newsroom):
    page = newsroom.search("comet passengers")
    assert page.total == 0 or page.dropped  # no article has both
    page = newsroom.search("ferry late")
    assert page.total == 1 and with_every_word(page) == ["ferry-week"]
    assert [(r.id, r.missing) for r in page.results[1:]] == [("ferry-electric", ["late"])]
    assert page.message.startswith("Only 1 article has all of these words")
    # Only on the last page, and never when sorted by date.
    assert with_every_word(newsroom.search("ferry late", sort="date")) == ids(
        newsroom.search("ferry late", sort="date")
    )


def test_phrase(newsroom):
    assert ids(newsroom.search('"faint comet"')) == ["observatory"]
    assert newsroom.search('"comet faint"').total == 0


@pytest.mark.parametrize("query", ["ferry -late", "ferry NOT late"])
def test_exclusion(newsroom, query):
    assert ids(newsroom.search(query)) == ["ferry-electric"]


def test_exclusion_stays_in_the_any_term_fallback(newsroom):
    page = newsroom.search("library telescope -comet")
    assert ids(page) == ["library"]


def test_or(newsroom):
    assert sorted(ids(newsroom.search("library OR telescope"))) == ["library", "observatory"]


def test_title_field(newsroom):
    assert ids(newsroom.search("title:comet")) == ["observatory"]
    assert newsroom.search("title:telescope").total == 0  # only in the body
    assert ids(newsroom.search("nosuchfield:telescope")) == ["observatory"]


def test_prefix(newsroom):
    assert ids(newsroom.search("observ*")) == ["observatory"]
    assert ids(newsroom.search("teles*")) == ["observatory"]
    assert "<mark>telescope</mark>" in html_of(newsroom.search("teles*").results[0].hits[-1])


def test_typo_tolerance_and_suggestion(newsroom):
    page = newsroom.search("telescpe")
    assert ids(page) == ["observatory"]
    assert page.suggestion == "telescope"
    assert "close matches" in page.message
    assert "<mark>telescope</mark>" in html_of(page.results[0].hits[0])
    assert ids(newsroom.search("obsrevatory")) == ["observatory"]  # 11 letters: 2 edits
    assert ids(newsroom.search("lbrary")) == ["library"]  # one edit
    assert newsroom.search("lxbrarx").total == 0  # seven letters allow one edit, not two


def typing(text: str, **fields) -> SearchRequest:
    return SearchRequest(text, typing=True, **fields)


def test_the_word_being_typed_finds_its_article_at_every_letter(newsroom):
    word = "telescope"
    for end in range(2, len(word) + 1):
        page = newsroom.search(typing(word[:end]))
        assert "observatory" in ids(page), word[:end]
        assert any("<mark>telescope</mark>" in html_of(hit) for hit in page.results[0].hits)
    # Settled, half a word is a word (and too short to be a typo): nothing.
    assert newsroom.search("telesc").total == 0
    # The other words are all required as before, the last one completed.
    assert ids(newsroom.search(typing("comet teles"))) == ["observatory"]
    assert ids(newsroom.search(typing("library teles"))) != ["observatory"]


def test_the_word_being_typed_is_not_a_typo(newsroom):
    # Settled, "telescpe" is read as a typo of "telescope"; half-typed, it completes to
    # nothing, and no close matches are added behind the reader's back.
    page = newsroom.search(typing("telescpe"))
    assert page.total == 0 and page.suggestion == ""
    assert "close matches" not in page.message
    # A finished word before it is still forgiven.
    assert ids(newsroom.search(typing("telescpe comet"))) == ["observatory"]
    assert ids(newsroom.search(typing("telescpe com"))) == ["observatory"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ferry -libr", {"ferry-week", "ferry-electric"}),  # an exclusion is not completed
        ("title:comet", {"observatory"}),  # nor a field's word
        ("ferry f", {"ferry-week", "ferry-electric"}),  # one letter is too few
        ("the lib", {"library"}),  # a stop word before it changes nothing
        ("li", {"library"}),  # two letters: the commonest completions
    ],
)
def test_what_is_completed_while_typing(newsroom, text, found):
    assert set(ids(newsroom.search(typing(text)))) == found


def test_a_word_inside_an_unfinished_phrase_is_not_completed(newsroom):
    for text in ('"faint com', '"small teles'):
        assert newsroom.search(typing(text)).total == newsroom.search(text).total


def test_short_words_are_not_fuzzed(newsroom):
    assert newsroom.search("ferr").total == 0
    assert newsroom.search("ferr").suggestion == ""


def test_filters_and_facet_counts(newsroom):
    page = newsroom.search("the")  # a stop word: nothing to search for
    assert page.total == 0 and "no words" in page.message
    page = newsroom.search("valley OR ferry OR comet")
    assert page.total == 4
    counts = {name: {c.value: c.count for c in values} for name, values in page.facets.items()}
    assert counts["source"] == {"Harbour Post": 2, "Valley Courier": 2}
    assert counts["category"] == {"local": 2, "culture": 1, "science": 1}
    assert counts["year"] == {"2025": 2, "2024": 1, "2023": 1}

    narrowed = newsroom.search("valley OR ferry OR comet", source="Valley Courier")
    assert sorted(ids(narrowed)) == ["library", "observatory"]
    counts = {name: {c.value: c.count for c in values} for name, values in narrowed.facets.items()}
    assert counts["source"] == {"Harbour Post": 2, "Valley Courier": 2}  # its own filter ignored
    assert counts["category"] == {"culture": 1, "science": 1}
    dated = newsroom.search(
        "valley OR ferry OR comet", date_from="2024-01-01", date_to="2025-03-12"
    )
    assert sorted(ids(dated)) == ["ferry-week", "library"]
    assert newsroom.search("ferry", category="science").total == 0
    assert "filters" in newsroom.search("ferry", category="science").message


def test_sort_by_date_and_pagination(newsroom):
    query = "valley OR ferry OR comet"
    newest = newsroom.search(query, sort="date", per_page=3)
    assert ids(newest) == ["ferry-electric", "ferry-week", "library"]
    assert all(r.hits for r in newest.results)
    second = newsroom.search(query, sort="date", per_page=3, page=2)
    assert ids(second) == ["observatory"] and second.total == 4
    by_relevance = [ids(newsroom.search(query, per_page=1, page=n))[0] for n in range(1, 5)]
    assert sorted(by_relevance) == sorted(ids(newsroom.search(query, per_page=10)))
    # A page past the end shows the last page, and says which it is.
    past = newsroom.search(query, page=9, per_page=3)
    assert past.page == 2 and ids(past) == ids(newsroom.search(query, page=2, per_page=3))


def test_empty_query_lists_newest_articles(newsroom):
    page = newsroom.search("", category="local")
    assert ids(page) == ["ferry-electric", "ferry-week"]
    assert page.results[0].digest and page.results[0].hits == []


def test_hits_are_stemmed_cropped_and_escaped(newsroom, archive):
    result = newsroom.search("opening library").results[0]
    html = html_of(result.hits[0])
    assert "<mark>opens</mark>" in html and "<mark>library</mark>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    long = " ".join(f"Sentence {n} is filler about the harbour." for n in range(60))
    store_articles(archive, [make_article("long", paragraphs=[long + " The telescope arrived."])])
    hit = html_of(archive.search("telescope arrived").results[0].hits[0])
    assert hit.startswith("… ") and "<mark>telescope</mark>" in hit and len(hit) < 500


def test_digest_is_query_focused_and_highlighted(archive):
    paragraphs = [
        "The council met on Monday to discuss the budget for the coming year in detail.",
        "Councillors argued for an hour about the cost of repairing the old town hall roof.",
        "The mayor said the budget would be balanced without raising local taxes this year.",
        "Later, a resident asked about the ferry timetable and the late evening crossings.",
        "The meeting closed after the council agreed to publish the budget next week online.",
    ]
    store_articles(
        archive, [make_article("council", title="Council budget", paragraphs=paragraphs)]
    )
    stored = archive.get("council")
    generic = [s.text for s in stored.digest.sentences]
    assert not any("ferry" in text for text in generic)
    result = archive.search("ferry timetable").results[0]
    focused = [s.text for s in result.digest]
    assert any("ferry" in text for text in focused)
    assert len(focused) == len(generic)
    assert [s.paragraph for s in result.digest] == sorted(s.paragraph for s in result.digest)
    assert any("<mark>ferry</mark>" in str(to_html(m)) for m in result.digest_marked)


HOSTILE = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            '"',
            '"unbalanced',
            "*",
            "?",
            "-",
            "NOT",
            "OR",
            "AND",
            "title:",
            ":",
            "()",
            "(((",
            "x" * 10_000,
            "\x00\x1b[31m",
            "🗞️ news",
            "שלום עולם",
            "<script>alert(1)</script>",
            "'; DROP TABLE articles; --",
            "title:(",
            "a*b*c",
            "-*",
            "NOT NOT",
            '"" OR ""',
        ]
    ),  # fmt: skip
    st.lists(
        st.sampled_from(["ferry", "OR", "NOT", "-", '"', "*", "title:", "(", ")", "comet"])
    ).map(" ".join),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=HOSTILE, page=st.integers(1, 5), sort=st.sampled_from(["relevance", "date"]))
def test_hostile_queries_never_raise(newsroom, query, page, sort):
    result = newsroom.search(SearchRequest(query=query, page=page, sort=sort))
    assert result.total >= 0
    assert len(result.results) <= result.per_page
    for article in result.results:
        for hit in article.hits:
            assert "<script" not in html_of(hit)


def test_other_languages_are_stemmed_in_their_own_language(archive):
    store_articles(
        archive,
        [
            make_article(
                "hafen",
                title="Hafen geschlossen",
                language="german",
                paragraphs=["Die Häuser am Hafen wurden gestern wegen des Sturms geschlossen."],
            ),
            make_article("klingon", language="tlhIngan", paragraphs=["Houses by the harbour."]),
        ],
    )
    page = archive.search("Haus")
    assert ids(page) == ["hafen"]
    assert "<mark>Häuser</mark>" in html_of(page.results[0].hits[0])
    assert ids(archive.search("houses")) == ["klingon"]  # unknown language: English rules


def test_a_long_query_is_a_description_ranked_by_how_much_matches(newsroom):
    # Seven words: read as a description, any word, the articles with most of them first.
    page = newsroom.search("pupils telescope comet valley library harbour mayor")
    assert ids(page)[0] == "observatory"  # has four of the words
    assert "library" in ids(page)  # has two: still listed, lower
    assert page.total == 3 and "long query" in page.message  # any word: the count is honest
    by_date = newsroom.search(
        "school observatory comet telescope valley harbour mayor", sort="date"
    )
    assert ids(by_date) == ["observatory"]  # sorted by date: the articles with most words


def test_a_third_word_never_widens_the_results(newsroom):
    two = newsroom.search("comet telescope")
    three = newsroom.search("comet telescope pupils")
    assert with_every_word(three) == with_every_word(two) == ["observatory"]
    assert three.total <= two.total and not three.dropped
    # The words may be spread over the article's paragraphs: it matches as an article.
    spread = newsroom.search("faint telescope")  # paragraph 1 and paragraph 2
    assert ids(spread) == ["observatory"] and not spread.message


def test_words_are_left_out_one_at_a_time_least_informative_first(newsroom):
    # "ferry" is in two articles, "valley" in two others, "volunteers" in one: no
    # article has all three. Leaving out one word is enough: the commonest that works.
    page = newsroom.search("ferry volunteers valley")
    assert page.dropped == ["ferry"] and with_every_word(page) == ["library"]
    assert "left out: “ferry”" in page.message
    # Two words to leave out: one at a time, until something matches.
    page = newsroom.search("ferry telescope volunteers")
    assert len(page.dropped) == 2 and page.total == 1
    # An exclusion is never left out.
    assert newsroom.search("library -valley").total == 0
    assert newsroom.search("library valley -ferry").total == 1


def test_curly_quotes_are_phrases_and_apostrophes_match(newsroom):
    assert ids(newsroom.search("“faint comet”")) == ids(newsroom.search('"faint comet"'))
    assert newsroom.search("“comet faint”").total == 0
    assert newsroom.search("‘comet faint’").total == 0
    assert ids(newsroom.search("«faint comet»")) == ["observatory"]
    assert ids(newsroom.search("library’s")) == ids(newsroom.search("library's")) == ["library"]


def test_did_you_mean_proposes_whole_words_in_the_readers_case(archive):
    # Two commits, two segments: whoosh3's reader over several segments offers stems.
    store_articles(archive, [make_article("arnie", "Governor", ["Schwarzenegger signs it."])])
    store_articles(archive, [make_article("sky", "Stars", ["The observatory opened."])])
    assert archive.search("Schwarzeneger budget").suggestion == "Schwarzenegger budget"
    assert archive.search("obsrvatory").suggestion == "observatory"
    assert archive.search("OBSRVATORY").suggestion == "OBSERVATORY"


@pytest.mark.parametrize("order", [("spread", "single"), ("single", "spread")])
def test_an_article_whose_paragraphs_together_hold_the_words_ranks_as_an_article(archive, order):
    # Both articles have the same best paragraph; one has the other word strongly in a
    # second paragraph, the other only in passing: the first ranks higher, whichever
    # was stored first.
    texts = {
        "spread": ["Lighthouse lighthouse lighthouse keepers.", "Storm storm storm at sea."],
        "single": ["Lighthouse lighthouse lighthouse keepers.", "A calm day, then a storm."],
    }
    for name in order:
        store_articles(archive, [make_article(name, f"Story {name}", texts[name])])
    assert ids(archive.search("lighthouse storm")) == ["spread", "single"]


def test_date_histogram_in_years_or_months_and_undated_archives(archive):
    store_articles(
        archive,
        [
            make_article("old", "Old", ["ferry one"], date="2019-05-01", source="Post"),
            make_article("dec", "Dec", ["ferry two"], date="2024-12-20", source="Post"),
            make_article("mar", "Mar", ["ferry three"], date="2025-03-14", source="Wire"),
        ],
    )
    page = archive.search("ferry")
    assert [(b.label, b.count) for b in page.histogram] == [
        ("2019", 1), ("2020", 0), ("2021", 0), ("2022", 0), ("2023", 0), ("2024", 1), ("2025", 1),
    ]  # fmt: skip
    assert page.dated and page.histogram[0].date_to == "2019-12-31"
    # A narrow span is shown in months; the date filter does not narrow its own counts.
    narrow = archive.search(SearchRequest("ferry", date_from="2024-11-01", date_to="2025-03-31"))
    assert [b.label for b in narrow.histogram][:2] == ["2024-11", "2024-12"]
    assert narrow.histogram[-1].label == "2025-03" and narrow.histogram[-1].date_to == "2025-03-31"
    assert sum(b.count for b in narrow.histogram) == 2 == narrow.total
    # Other filters apply.
    assert (
        sum(b.count for b in archive.search(SearchRequest("ferry", source="Wire")).histogram) == 1
    )


def test_an_undated_archive_has_no_histogram(archive):
    store_articles(archive, [make_article("a", "A", ["ferry one"])])
    page = archive.search("ferry")
    assert not page.dated and page.histogram == []


WORDS = ["observatory", "dying", "skies", "U.S", "early", "Only", "a*b", "c_d", "École", "news"]


@given(
    st.lists(st.sampled_from([*WORDS, "x", ".", " ", "-", "'s", "3.5", "gently"]), max_size=40),
    st.sets(st.sampled_from(WORDS), min_size=1, max_size=3),
)
@settings(max_examples=300, deadline=None)
def test_the_fast_highlighter_finds_what_the_token_scan_finds(parts, words):
    from index.marking import english_spans
    from index.terms import term, term_spans

    text = "".join(parts)
    terms = frozenset(found for w in words if (found := term(w)) is not None)
    if terms:
        assert english_spans(text, terms) == term_spans(text, terms)


def test_results_carry_the_one_sentence_digest(archive, tmp_path):
    article = make_article(
        "budget",
        "Council sets a budget that closes the library",
        [
            "It was a cold night at the town hall on Tuesday.",
            "Councillors set a budget that closes the central library and cuts bus routes, "
            "after a three-hour debate over how to save four million pounds.",
            "The library will close in June; its books will move to the school.",
        ],
    )
    store_articles(archive, [article])
    stored = archive.get("budget")
    assert stored.short_digest is not None
    sentence = stored.short_digest.text
    assert sentence in " ".join(stored.article.paragraphs)
    page = archive.search("library")
    assert page.results[0].short_digest == sentence
    assert page.to_json()["results"][0]["short_digest"] == sentence
    assert stored.public_record()["short_digest"]["text"] == sentence
