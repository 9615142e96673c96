"""A small newsroom archive for tests of what reads across articles (briefings, related
articles): three running stories, each covered by several articles from different desks
on different days, written here for the tests.

Each topic has a bank of sentences; the articles of a topic take different sentences of
its bank (so they share a subject and words, not text), and one article is filed twice
under two sources: the copy is a version of the same story.
"""

from __future__ import annotations

from conftest import make_article

from index.models import Article

TOPICS: dict[str, list[str]] = {
    "ferry": [
        "Ferry crews walked out on Monday in a dispute over night shifts and harbour pay.",
        "The harbour ferry strike left thousands of commuters stranded on the island quay.",
        "Union leaders said the ferry operator had refused to discuss the new rota.",
        "The operator said talks with the ferry union would resume at the harbour office.",
        "Island shopkeepers reported empty streets as the ferry strike entered its third day.",
        "A replacement ferry chartered by the council carried only two hundred passengers.",
        "Commuters queued for hours at the mainland terminal waiting for a ferry crossing.",
        "The council leader called on both sides to end the ferry strike before the holiday.",
        "Striking crews gathered at the harbour gates with banners about unpaid overtime.",
        "Ferry timetables will return to normal once the strike is over, the operator said.",
    ],
    "flood": [
        "The river burst its banks overnight and flooded two hundred homes in the valley town.",
        "Firefighters used boats to rescue residents trapped by the flood water on Mill Street.",
        "The environment agency issued a severe flood warning for the lower river valley.",
        "Volunteers filled sandbags at the town hall as the river kept rising through the day.",
        "Insurers said the cost of the valley flood damage could reach several million pounds.",
        "Flood defences built after the last disaster held along the northern river bank.",
        "Families moved into the school gymnasium after the flood reached their kitchens.",
        "Forecasters expect more heavy rain over the river catchment later in the week.",
        "The mayor asked the government for emergency funds to repair the flooded bridges.",
        "Residents began clearing mud from their homes as the flood water slowly drained away.",
    ],
    "cup": [
        "The county football club reached the cup semi-final with a late winning goal.",
        "The striker scored twice as the football club beat the league leaders in the cup.",
        "Thousands of supporters travelled to the capital for the club's cup semi-final.",
        "The manager praised his young football squad after the dramatic cup victory.",
        "The club's goalkeeper saved a penalty in the final minute of the cup tie.",
        "Ticket sales for the cup semi-final broke the football club's attendance record.",
        "The football club had never reached a cup semi-final in its hundred year history.",
        "Injuries to two defenders worry the manager before the cup semi-final match.",
        "The chairman promised supporters a new stand if the club wins the cup final.",
        "Fans celebrated in the town square until late after the football club's cup win.",
    ],
}
SOURCES = ("Gazette", "Courier", "Herald", "Wire")
# Which sentences of its topic's bank each article of the topic tells, in order.
PICKS = ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 4], [1, 6, 3, 8], [2, 7, 9, 5])


def topic_articles(topic: str) -> list[Article]:
    """The articles of one topic: different desks, different days, different sentences."""
    bank = TOPICS[topic]
    category = {"ferry": "transport", "flood": "weather", "cup": "sport"}[topic]
    articles = []
    for n, picks in enumerate(PICKS):
        sentences = [bank[i] for i in picks]
        paragraphs = [" ".join(sentences[:2]), sentences[2], sentences[3]]
        articles.append(
            make_article(
                f"{topic}-{n + 1}",
                bank[picks[0]].rstrip("."),
                paragraphs,
                date=f"2025-03-{10 + n:02}",
                source=SOURCES[n % len(SOURCES)],
                category=category,
            )
        )
    return articles


def newsroom() -> list[Article]:
    """Every topic's articles, and a copy of `ferry-1` filed by another source (a version
    of its story)."""
    articles = [article for topic in TOPICS for article in topic_articles(topic)]
    first = articles[0]
    copy = make_article(
        "ferry-1-copy",
        first.title,
        list(first.paragraphs),
        date=first.date,
        source="Syndicate",
        category=first.category,
    )
    return articles + [copy]
