"""Digests: length, order, provenance, what never goes in, focus, odd articles."""

from __future__ import annotations

import pytest
from conftest import SEED_TEXT, make_article, write

from index.digest import (
    ALGORITHMS,
    MAX_CANDIDATES,
    DigestError,
    digest,
    parse_length,
    summarize,
)
from index.formats import read_path

NEWS = [
    "The city council approved a new budget on Monday after a long debate about taxes.",
    "The budget raises spending on schools and libraries by five percent next year.",
    "Opponents said the plan would force the city to borrow more money within two years.",
    "The mayor said the budget was balanced and would not raise local taxes at all.",
    "A separate vote on the harbour ferry timetable was postponed until next month.",
    "Residents who attended the meeting asked about the cost of repairing old bridges.",
    "The council will publish the full budget documents on its website this week.",
]


def article(**fields):
    return make_article(title="Council approves budget", paragraphs=list(NEWS), **fields)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_gives_whole_sentences_in_document_order(algorithm):
    result = summarize(article(), "3", algorithm)
    assert len(result.sentences) == 3
    positions = [NEWS.index(s.text) for s in result.sentences]  # whole sentences, verbatim
    assert positions == sorted(positions)
    assert all(NEWS[s.paragraph] == s.text for s in result.sentences)  # provenance
    assert result.text == " ".join(s.text for s in result.sentences)


def test_length_as_sentences_ratio_and_words():
    assert len(summarize(article(), 2).sentences) == 2
    assert len(summarize(article(), "30%").sentences) == 3  # 30% of 7, rounded up
    short = summarize(article(), "40 words")
    assert 1 <= len(short.sentences) and sum(len(s.text.split()) for s in short.sentences) <= 40
    assert len(summarize(article(), "1 word").sentences) == 1  # never less than a sentence
    for bad in ("0", "many", "150%", "-3", "3 lines"):
        with pytest.raises(DigestError):
            parse_length(bad)


def test_metadata_and_junk_never_go_in(tmp_path):
    parsed = read_path(write(tmp_path / "seed.txt", SEED_TEXT)).articles[0]
    text = " ".join(s.text for s in summarize(parsed, 10).sentences)
    assert (
        "min read" not in text and "[Getty]" not in text and "Coalition ministers meet" not in text
    )
    junk = make_article(
        title="Budget passes",
        paragraphs=[
            "By Jane Smith",
            "Share this article on your favourite social network today please.",
            "Read more about the council and its budget on our website.",
            "LONDON",
            "“ ” “ ” ‘ ’ “ ” quoted",
            "Budget passes",
            "Too short to use.",
            "The council passed the budget after a debate that lasted well into the night.",
        ],
    )
    assert [s.text for s in summarize(junk, 5).sentences] == [junk.paragraphs[-1]]


def test_query_focused_digest_prefers_the_query_words():
    generic = summarize(article(), 2)
    assert not any("ferry" in s.text for s in generic.sentences)
    focused = digest(article(), query="ferries timetable", length=2)
    assert any("ferry timetable" in s.text for s in focused.sentences)
    assert len(focused.sentences) == 2
    assert [s.paragraph for s in focused.sentences] == sorted(
        s.paragraph for s in focused.sentences
    )
    assert digest(article(), query="", length=2) == generic
    assert digest(article(), query="zebra", length=2).sentences == generic.sentences


def test_one_sentence_and_empty_articles():
    one = make_article(paragraphs=["The only sentence of this very short article is here."])
    assert [s.text for s in summarize(one).sentences] == [one.paragraphs[0]]
    empty = make_article(paragraphs=["Tiny.", "Also tiny."])
    result = summarize(empty)
    assert not result and result.sentences == [] and result.text == ""


def test_a_5000_paragraph_article_is_bounded():
    paragraphs = [f"{NEWS[n % len(NEWS)][:-1]}, report {n} said." for n in range(5000)]
    result = summarize(make_article(paragraphs=paragraphs))
    assert len(result.sentences) == 3
    assert all(s.paragraph < MAX_CANDIDATES for s in result.sentences)  # later ones never ranked


def test_non_english_and_unknown_languages(caplog):
    german = make_article(
        title="Hafen",
        language="de",
        paragraphs=[
            "Der Hafen der Stadt wurde am Montag nach einem schweren Sturm geschlossen.",
            "Die Fähren fahren erst wieder, wenn der Wind nachlässt, sagte der Bürgermeister.",
            "Viele Pendler mussten deshalb einen langen Umweg über die Brücke nehmen.",
        ],
    )
    assert len(summarize(german, 2).sentences) == 2
    klingon = make_article(language="tlh", paragraphs=list(NEWS))
    with caplog.at_level("WARNING"):
        assert len(summarize(klingon, 2).sentences) == 2
    assert "no sentence model for language 'tlh'" in caplog.text


def test_abbreviations_do_not_split_sentences():
    text = "Dr. Smith met officials from the U.S. and e.g. Canada on Monday to discuss trade."
    result = summarize(make_article(paragraphs=[text, *NEWS[:3]]), "100%", "lead")
    assert result.sentences[0].text == text
