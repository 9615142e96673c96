"""The web app in a real browser: Debian's Chromium driven by Playwright, against a real server.

Each module run starts `precis serve` on a free port with a temporary archive holding a few
articles written here, and drives headless Chromium through the search box, htmx updates,
history, the no-JavaScript form, keyboard use, uploads, article anchors and axe's
accessibility rules.

Chromium is found at $PRECIS_CHROMIUM or /usr/lib/chromium/chromium (Debian's `chromium`
package; `playwright install` is never needed). Without it these tests are skipped, except
under CI (CI=true), where a missing browser is an error.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from servers import Server, clean_env, precis, serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PRECIS_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "test-token"
TIMEOUT_MS = 10_000

FERRY = {
    "id": "ferry",
    "title": "Harbour council approves electric ferry",
    "date": "2025-03-14",
    "source": "Harbour Gazette",
    "category": "local",
    "paragraphs": [
        "The harbour council voted seven to two on Thursday to replace the diesel ferry "
        "that links the old town with Gull Island with a battery-electric vessel.",
        "The new ferry will carry up to 120 passengers and twelve bicycles, and will charge "
        "at the town quay during the ten-minute turnaround between crossings.",
        "Opponents argued that the battery supplier had never delivered a vessel of this size "
        "in northern waters, and asked for a winter trial before the contract is signed.",
        "Islanders who commute to the mainland welcomed the decision, saying the old boat "
        "breaks down every February and leaves them stranded on the quay.",
        "The first electric sailing is planned for next spring; until then the diesel ferry "
        "keeps its timetable, with an extra evening crossing on Fridays.",
    ],
}
LIBRARY = {
    "id": "library",
    "title": "Town library puts a century of newspapers online",
    "date": "2025-06-02",
    "source": "Valley Courier",
    "category": "culture",
    "paragraphs": [
        "Volunteers at the town library have finished scanning every surviving issue of the "
        "Valley Courier, a weekly newspaper published from 1898 until it closed in 1999.",
        "The archive holds about forty thousand pages, and readers can search for a family "
        "name, a street or a football club and jump straight to the right page.",
        "The head librarian said the project began when a flood in the basement threatened "
        "the bound volumes that had sat on the shelves for a century.",
        "Local historians have already used the archive to date the opening of the first "
        "cinema on Mill Street and to trace a tram line pulled up in the 1950s.",
    ],
}
COMET = {
    "id": "comet",
    "title": "Observatory spots a bright comet over the valley",
    "date": "2025-01-09",
    "source": "Science Wire",
    "category": "science",
    "paragraphs": [
        "Astronomers at the hill observatory say a bright comet will be visible to the naked "
        "eye over the valley for the next two weeks, low in the western sky after sunset.",
        "The comet was first photographed on Tuesday night by a student who was calibrating "
        "the observatory's new camera during a routine survey.",
        "Observers with a small telescope should be able to see its tail, which the "
        "astronomers estimate is several million kilometres long.",
    ],
}
# A long article, so that paragraph anchors far down the page need scrolling.
LONG = {
    "id": "long-read",
    "title": "A year on the river: the lock keeper's diary",
    "date": "2024-12-20",
    "source": "Valley Courier",
    "category": "features",
    "paragraphs": [
        f"In month {n} the lock keeper counted {n * 37} boats through the gates, noting the "
        f"weather, the water level and the names of the narrowboats that moored overnight "
        f"beside the cottage at the bottom of the towpath."
        for n in range(1, 19)
    ],
}
ARTICLES = [FERRY, LIBRARY, COMET, LONG]

UPLOAD_WORD = "quokkaburrow"
UPLOAD_TITLE = "Zoo welcomes a family of quokkas"
UPLOAD_TEXT = f"""# {UPLOAD_TITLE}

The city zoo has opened a new enclosure, the {UPLOAD_WORD}, for a family of five quokkas
that arrived from an island sanctuary on Monday morning.

Keepers said the animals settled in quickly and were already greeting visitors at the fence,
and that the {UPLOAD_WORD} will be open every day from ten until four.
"""


# --- the browser -----------------------------------------------------------------------------


def chromium_executable() -> str:
    """Return Chromium's path, or skip (fail under CI) when it is not installed."""
    path = Path(CHROMIUM)
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set PRECIS_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = chromium_executable()
    browser = playwright.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


# --- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser")
    source = tmp / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), "utf-8")
    env = clean_env(tmp, write_token=TOKEN)
    index = tmp / "index"
    ingested = precis("ingest", str(source), "--index", str(index), "--no-progress", env=env)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    with serving(index, env) as running:
        yield running


# --- pages -----------------------------------------------------------------------------------


@dataclass
class Problems:
    """What went wrong inside the page: uncaught exceptions and console errors."""

    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


def new_context(browser: Browser, server: Server, **options) -> BrowserContext:
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def watch(page: Page, problems: Problems | None = None) -> Problems:
    """Record the page's uncaught exceptions and console errors in `problems`."""
    problems = Problems() if problems is None else problems
    page.on("pageerror", lambda error: problems.errors.append(str(error)))

    def console(message) -> None:
        if message.type == "error":
            where = "{url}:{lineNumber}:{columnNumber}".format(**message.location)
            problems.console.append(f"{message.text} ({where})")

    page.on("console", console)
    return problems


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    context = new_context(browser, server)
    yield context
    context.close()


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(context: BrowserContext, problems: Problems) -> Iterator[Page]:
    page = context.new_page()
    watch(page, problems)
    yield page
    assert not problems.errors, f"JavaScript errors in the page: {problems.errors}"


def result_titles(page: Page) -> list[str]:
    return page.locator("#results li.result h2 a").all_inner_texts()


def type_query(page: Page, query: str) -> None:
    """Replace the search box's text the way a person does: select all, type."""
    box = page.locator("#q")
    box.click()
    box.press("ControlOrMeta+a")
    box.press_sequentially(query, delay=20)


def expect_results_for(page: Page, title: str) -> None:
    expect(page.locator("#results li.result h2 a").first).to_have_text(title)


def url_has_query(query: str) -> re.Pattern[str]:
    return re.compile(r"[?&]q=" + re.escape(quote(query, safe="")) + r"(&|$)")


# --- the tests -------------------------------------------------------------------------------


def test_typing_updates_results_in_place_and_the_url(page: Page) -> None:
    page.goto("/")
    page.evaluate("window.__marker = 1")
    type_query(page, "ferry")
    expect_results_for(page, FERRY["title"])
    expect(page.locator("#results p.status")).to_have_text(re.compile(r"\b1 article matches\b"))
    expect(page).to_have_url(url_has_query("ferry"))
    assert page.evaluate("window.__marker") == 1, "typing caused a full page load"
    assert result_titles(page) == [FERRY["title"]]


def test_the_word_being_typed_finds_results_at_each_letter(page: Page) -> None:
    # app.js marks the keystrokes' requests; the server completes the last word.
    page.goto("/")
    box = page.locator("#q")
    box.click()
    for letter in "ferry":
        box.press(letter)
        typed = box.input_value()
        if len(typed) >= 2:
            expect_results_for(page, FERRY["title"])
    # The address holds the query only, and reloading it reads the query as typed.
    page.goto("/?q=fer")
    expect(page.locator("#results li.result")).to_have_count(0)


def test_query_words_are_highlighted_in_hits_and_digest(page: Page) -> None:
    page.goto("/")
    type_query(page, "ferry")
    expect_results_for(page, FERRY["title"])
    result = page.locator("#results li.result").first
    expect(result.locator("p.hit mark").first).to_be_visible()
    # The digest beside the hits leaves out the sentences they already show.
    hits = " ".join(result.locator("p.hit").all_inner_texts())
    for sentence in result.locator("aside.digest a").all_inner_texts():
        assert sentence.strip() not in hits
    for text in result.locator("p.hit mark, aside.digest mark").all_inner_texts():
        assert text.lower().startswith("ferr"), text


def test_fast_second_query_wins_over_slow_first(page: Page) -> None:
    held = []  # the first query's request, held back for about 1.5 s

    def hold_first_ferry_search(route) -> None:
        if "q=ferry" in route.request.url and not held:
            held.append((route, time.monotonic()))
        else:
            route.continue_()

    page.goto("/")
    page.route(re.compile(r"/search\?"), hold_first_ferry_search)
    type_query(page, "ferry")
    deadline = time.monotonic() + 5
    while not held:
        assert time.monotonic() < deadline, "the first query was never sent"
        page.wait_for_timeout(20)
    type_query(page, "comet")

    # Let the first answer through about 1.5 s after it was asked for: it must not win.
    route, since = held[0]
    page.wait_for_timeout(max(0, 1500 - (time.monotonic() - since) * 1000))
    try:
        route.continue_()
    except PlaywrightError:
        pass  # htmx already aborted the first request (hx-sync replace)
    expect_results_for(page, COMET["title"])
    page.wait_for_timeout(1000)
    page.wait_for_load_state("networkidle")

    assert result_titles(page) == [COMET["title"]]
    expect(page).to_have_url(url_has_query("comet"))
    expect(page.locator("#q")).to_have_value("comet")


def test_back_forward_and_reload_restore_results(page: Page) -> None:
    page.goto("/")
    type_query(page, "library")
    expect_results_for(page, LIBRARY["title"])
    expect(page).to_have_url(url_has_query("library"))
    search_url = page.url
    titles = result_titles(page)

    page.locator("#results li.result h2 a").first.click()
    expect(page.locator("h1")).to_have_text(LIBRARY["title"])
    assert "/articles/library" in page.url

    page.go_back()
    expect(page).to_have_url(search_url)
    expect_results_for(page, LIBRARY["title"])
    assert result_titles(page) == titles
    expect(page.locator("#q")).to_have_value("library")

    page.go_forward()
    expect(page.locator("h1")).to_have_text(LIBRARY["title"])

    page.go_back()
    expect(page).to_have_url(search_url)
    page.reload()
    expect_results_for(page, LIBRARY["title"])
    assert result_titles(page) == titles
    expect(page.locator("#q")).to_have_value("library")


def test_search_works_without_javascript(browser: Browser, server: Server) -> None:
    context = new_context(browser, server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        page.locator("#q").fill("comet")
        with page.expect_navigation():
            page.locator("#q").press("Enter")
        expect(page).to_have_url(url_has_query("comet"))
        assert result_titles(page) == [COMET["title"]]
        expect(page.locator("#results p.status")).to_have_text(re.compile(r"1 article matches"))
        expect(page.locator("#results p.hit mark").first).to_have_text(re.compile("comet", re.I))
    finally:
        context.close()


def test_keyboard_only_search_and_open(page: Page) -> None:
    page.goto("/")
    focused = "document.activeElement && document.activeElement.id"
    for _ in range(5):  # the box has autofocus; Tab to it if the browser did not honour that
        if page.evaluate(focused) == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate(focused) == "q", "the search box can't be reached with Tab"

    page.keyboard.type("ferry", delay=20)
    expect_results_for(page, FERRY["title"])
    first_link = "document.activeElement === document.querySelector('#results li.result h2 a')"
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate(first_link):
            break
    assert page.evaluate(first_link), "Tab never reached the first result's title"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(FERRY["title"])
    assert "/articles/ferry" in page.url


def test_escape_clears_the_search(page: Page) -> None:
    page.goto("/")
    type_query(page, "ferry")
    expect_results_for(page, FERRY["title"])
    page.locator("#q").press("Escape")
    expect(page.locator("#q")).to_have_value("")
    # Either no results at all or the newest-first listing of an empty query: nothing of ferry's.
    expect(page.locator("#results mark")).to_have_count(0)
    expect(page.locator("#results p.status")).not_to_have_text(re.compile("match"))
    expect(page).not_to_have_url(url_has_query("ferry"))


def test_article_anchors_and_digest_links(browser: Browser, server: Server) -> None:
    context = new_context(browser, server, viewport={"width": 1024, "height": 600})
    try:
        page = context.new_page()
        errors = watch(page).errors
        page.goto(f"/articles/{LONG['id']}#p-2")
        expect(page.locator("#p-2")).to_be_in_viewport()
        page.goto(f"/articles/{LONG['id']}#p-15")
        expect(page.locator("#p-15")).to_be_in_viewport()
        assert page.evaluate("window.scrollY") > 0, "the page did not scroll to #p-15"

        for article in (LONG, FERRY):
            page.goto(f"/articles/{article['id']}")
            links = page.locator('section.digest a[href^="#p-"]')
            expect(links.first).to_be_visible()
            hrefs = links.evaluate_all("links => links.map(link => link.getAttribute('href'))")
            target = max(hrefs, key=lambda href: int(href.removeprefix("#p-")))
            page.locator(f'section.digest a[href="{target}"]').first.click()
            expect(page).to_have_url(re.compile(re.escape(target) + "$"))
            expect(page.locator(target)).to_be_in_viewport()
            assert page.evaluate("document.querySelector(':target').id") == target[1:]
        assert not errors, errors
    finally:
        context.close()


def test_article_page_highlights_the_query(page: Page) -> None:
    page.goto(f"/articles/{FERRY['id']}?q=ferry")
    expect(page.locator("h1")).to_have_text(FERRY["title"])
    marks = page.locator("article .body mark")
    expect(marks.first).to_be_visible()
    for text in marks.all_inner_texts():
        assert text.lower().startswith("ferr"), text
    page.goto(f"/articles/{FERRY['id']}")
    expect(page.locator("article .body mark")).to_have_count(0)


def test_upload_adds_a_searchable_article(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "quokkas.md"
    upload.write_text(UPLOAD_TEXT, "utf-8")
    response = page.goto("/add")
    assert response is not None and response.status == 200, "no /add page"
    form = page.locator("#add-form")
    form.locator('input[type="file"][name="files"]').set_input_files(upload)
    form.locator('input[name="token"]').fill(TOKEN)
    form.locator('button[type="submit"], input[type="submit"]').first.click()

    report = page.locator("table.ingest-report")
    expect(report).to_be_visible()
    row = report.locator("tr", has_text="quokkas.md")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("added")

    page.goto("/")
    type_query(page, UPLOAD_WORD)
    expect_results_for(page, UPLOAD_TITLE)
    assert result_titles(page) == [UPLOAD_TITLE]


def test_pasted_article_is_added(page: Page) -> None:
    page.goto("/add")
    form = page.locator("#add-form")
    form.locator('textarea[name="text"]').fill(
        "Ferris wheel returns to the pier\n\n"
        "The giant wheel, known locally as the wobblewhirl, is back on the pier after a "
        "winter of repairs and will turn every afternoon until October.\n\n"
        "Its owners said tickets would cost the same as last year."
    )
    form.locator('input[name="token"]').fill(TOKEN)
    form.locator('button[type="submit"], input[type="submit"]').first.click()
    rows = page.locator("table.ingest-report tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("added")

    page.goto("/search?q=wobblewhirl")
    assert result_titles(page) == ["Ferris wheel returns to the pier"]


@pytest.mark.parametrize("scheme", ["light", "dark"])  # the pages declare both colour schemes
@pytest.mark.parametrize(
    "path",
    [
        "/search?q=ferry",
        f"/articles/{FERRY['id']}?q=ferry",
        "/add",
        "/",
        "/articles/gone",
        "/briefing?q=ferry",
    ],
    ids=["search", "article", "add", "landing", "not-found", "briefing"],
)
def test_no_serious_accessibility_violations(page: Page, path: str, scheme: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.emulate_media(color_scheme=scheme)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if path.startswith("/search"):
        expect_results_for(page, FERRY["title"])
    if path == "/search?q=ferry":  # and the compact view
        page.locator("#results button.density").click()
    results = Axe().run(page)
    serious = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert not serious, f"axe found serious violations on {path} ({scheme}):\n" + describe(serious)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node['target']}: {node['html'][:200]}" for node in violation["nodes"])
    return "\n".join(lines)


def test_pages_log_no_console_errors(page: Page, problems: Problems) -> None:
    for path in ["/", "/search?q=ferry", f"/articles/{FERRY['id']}?q=ferry", "/add"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    # Searching from an article page: type (live search has no #results to fill), then Enter.
    page.goto(f"/articles/{FERRY['id']}")
    type_query(page, "comet")
    page.wait_for_timeout(500)
    page.locator("#q").press("Enter")
    expect_results_for(page, COMET["title"])
    page.wait_for_load_state("networkidle")
    assert not problems.console, "console errors:\n" + "\n".join(problems.console)


def test_the_result_count_is_announced_from_a_region_that_stays(page: Page) -> None:
    page.goto("/")
    region = page.locator("#announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    handle = region.element_handle()
    type_query(page, "comet")
    expect(region).to_have_text(re.compile(r"\b1 article matches\b"))
    assert page.locator("#results [aria-live]").count() == 0  # the list itself is not live
    assert handle.evaluate("element => element.isConnected")  # updated in place, not replaced


def test_live_search_runs_under_the_content_security_policy(page: Page, problems: Problems) -> None:
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    type_query(page, "comet")
    expect_results_for(page, COMET["title"])
    # htmx was told not to inject its indicator <style>, so the policy needs no inline style.
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert not problems.console, "console errors:\n" + "\n".join(problems.console)
    # The policy is enforced: a script smuggled into the page does not run, and says so.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.smuggled = true'; document.body.append(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.smuggled === undefined")
    assert any("Content Security Policy" in line for line in problems.console)


# --- history, keyboard, density, dates (issue 10) --------------------------------------------


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def settle(page: Page) -> None:
    """Wait for the live page to settle a query (a pause of a second) and go quiet."""
    page.wait_for_timeout(1400)
    page.wait_for_load_state("networkidle")


def test_back_and_forward_walk_through_searches_pages_and_filters(page: Page) -> None:
    page.goto("/?per_page=1")
    start = page.url
    type_query(page, "valley")  # two articles: two pages of one
    expect(page.locator("#results p.status")).to_have_text(re.compile(r"\b2 articles match"))
    settle(page)
    first = page.url
    assert "q=valley" in first and "per_page=1" in first
    page.locator("#results a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#results .pager")).to_contain_text("Page 2 of 2")
    assert focused_id(page) == "results-heading"  # paging moves the focus to the results
    second = page.url
    page.locator("#results .facets").get_by_role("link", name="science", exact=True).click()
    expect(page).to_have_url(re.compile(r"category=science"))
    assert result_titles(page) == [COMET["title"]]
    filtered = page.url
    type_query(page, "telescope")  # a new search keeps the filter
    expect_results_for(page, COMET["title"])
    expect(page).to_have_url(re.compile(r"q=telescope.*category=science"))
    settle(page)

    # Back: one step per settled search, page and filter; never keystroke by keystroke.
    for url, box in [(filtered, "valley"), (second, "valley"), (first, "valley"), (start, "")]:
        page.go_back()
        expect(page).to_have_url(url)
        expect(page.locator("#q")).to_have_value(box)
    expect(page.locator("#results p.status")).to_have_text(re.compile(r"articles, newest first"))
    page.go_forward()
    expect(page).to_have_url(first)
    expect(page.locator("#results p.status")).to_have_text(re.compile(r"\b2 articles match"))
    page.go_forward()
    expect(page).to_have_url(second)
    expect(page.locator("#results .pager")).to_contain_text("Page 2 of 2")


def test_back_and_forward_without_javascript(browser: Browser, server: Server) -> None:
    context = new_context(browser, server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/search?q=valley&per_page=1")
        first = page.url
        page.locator("#results a[rel=next]").click()
        expect(page.locator("#results .pager")).to_contain_text("Page 2 of 2")
        second = page.url
        page.locator("#results .facets").get_by_role("link", name="culture", exact=True).click()
        assert result_titles(page) == [LIBRARY["title"]]
        page.go_back()
        expect(page).to_have_url(second)
        page.go_back()
        expect(page).to_have_url(first)
        expect(page.locator("#q")).to_have_value("valley")
        page.go_forward()
        expect(page.locator("#results .pager")).to_contain_text("Page 2 of 2")
    finally:
        context.close()


def test_curly_quotes_are_phrases_in_the_box(page: Page) -> None:
    page.goto("/")
    type_query(page, "“bright comet”")
    expect_results_for(page, COMET["title"])
    settle(page)
    type_query(page, "“comet bright”")  # the same words, not as a phrase of the archive
    expect(page.locator("#results p.status")).to_have_text("No results")


def test_keyboard_shortcuts_and_focus_after_paging(page: Page) -> None:
    page.goto("/?per_page=2")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert focused_id(page) == "q"
    page.keyboard.press("ArrowDown")  # from the box to the first result
    links = page.locator("#results li.result h2 a")
    expect(links.first).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(links.first).to_be_focused()
    next_link = page.locator("#results a[rel=next]")
    next_link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#results .pager")).to_contain_text("Page 2 of")
    assert focused_id(page) == "results-heading"
    page.keyboard.press("ArrowDown")
    expect(page.locator("#results li.result h2 a").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).not_to_have_text(re.compile("Latest|Results"))
    assert "/articles/" in page.url


def test_a_results_page_has_few_tab_stops(page: Page) -> None:
    page.goto("/search?q=valley")
    stops = page.evaluate(
        "() => [...document.querySelectorAll('#results :is(a, button, input, summary)')]"
        ".filter(e => e.tabIndex >= 0 && e.getClientRects().length).length"
    )
    results = page.locator("#results li.result").count()
    hits = page.locator("#results p.hit").count()
    # One per result and per hit, the filters (source, category, dates, histogram bars),
    # the sort and view controls: not one per digest sentence.
    assert stops <= results + hits + 20, stops


def test_compact_view_is_remembered(page: Page) -> None:
    page.goto("/search?q=ferry")
    button = page.locator("#results button.density")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    tall = page.locator("#results li.result").first.bounding_box()["height"]
    first = page.locator("#results li.result").first
    expect(first.locator(".short-digest")).to_be_hidden()  # the full view has the digest
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.dataset.density") == "compact"
    short = page.locator("#results li.result").first.bounding_box()["height"]
    assert short < tall
    # Compact: the one-sentence digest stands in for the digest beside the hits.
    expect(first.locator(".short-digest")).to_be_visible()
    expect(first.locator("aside.digest")).to_be_hidden()
    page.reload()
    expect(page.locator("#results button.density")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#results li.result p.hit").nth(1)).to_be_hidden()
    page.locator("#results button.density").click()
    page.reload()
    expect(page.locator("#results button.density")).to_have_attribute("aria-pressed", "false")


def test_the_date_histogram_filters_by_month(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#results .landing")).to_contain_text("articles, from 2024-12")
    bars = page.locator("#results .histogram li a")
    # December 2024 to June 2025: a narrow span, so months.
    expect(bars.first).to_contain_text("2024-12: 1 article")
    page.locator("#results .histogram a", has_text="2025-03").click()
    expect(page).to_have_url(re.compile(r"from=2025-03-01&to=2025-03-31"))
    assert result_titles(page) == [FERRY["title"]]
    # The date inputs say the same, and can change it.
    expect(page.locator("#results form.dates input[name=from]")).to_have_value("2025-03-01")
    page.locator("#results form.dates input[name=from]").fill("2025-01-01")
    page.locator("#results form.dates button").click()
    expect(page).to_have_url(re.compile(r"from=2025-01-01"))
    expect(page.locator("#results li.result")).to_have_count(2)


def test_a_missing_article_gets_a_friendly_page(page: Page) -> None:
    response = page.goto("/articles/no-such-article")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("That article is not in the archive")
    expect(page.locator("#q")).to_be_visible()
    type_query(page, "comet")
    page.locator("#q").press("Enter")
    expect_results_for(page, COMET["title"])


def test_on_a_phone_results_come_first_and_filters_fold(browser: Browser, server: Server) -> None:
    context = new_context(browser, server, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto("/search?q=valley")
        first = page.locator("#results li.result").first.bounding_box()
        panel = page.locator("#results details.filters-panel")
        assert first["y"] < panel.bounding_box()["y"]  # the results first
        assert first["y"] < 844  # the first result starts on the first screen
        expect(panel).not_to_have_attribute("open", "")
        page.locator("#results details.filters-panel > summary").click()
        expect(panel.get_by_role("link", name="science", exact=True)).to_be_visible()
    finally:
        context.close()


def test_brief_me_loads_the_briefing_in_place_and_its_links_reach_the_paragraphs(
    page: Page,
) -> None:
    page.goto("/search?q=ferry")
    expect_results_for(page, FERRY["title"])
    page.get_by_role("link", name="Brief me").click()
    heading = page.locator("#briefing h2")
    expect(heading).to_have_text(re.compile(r"^Briefing: “ferry”"))
    expect(page).to_have_url(url_has_query("ferry"))  # the results page stays
    assert focused_id(page) == "briefing-heading"
    sentences = page.locator("#briefing .brief-sentence")
    assert sentences.count() >= 1
    first = sentences.first
    text = first.inner_text().rsplit("[", 1)[0].strip()
    first.locator("a.cite").click()
    expect(page).to_have_url(re.compile(r"/articles/ferry\?q=ferry#p-\d+$"))
    anchor = page.url.rsplit("#", 1)[1]
    expect(page.locator(f"#{anchor}")).to_contain_text(text)


def test_brief_me_without_javascript_is_a_page_of_its_own(browser: Browser, server: Server) -> None:
    context = new_context(browser, server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/search?q=comet")
        with page.expect_navigation():
            page.get_by_role("link", name="Brief me").click()
        expect(page).to_have_url(re.compile(r"/briefing\?q=comet$"))
        expect(page.locator("h1#briefing-heading")).to_have_text("Briefing: “comet”")
        expect(page.locator(".brief-sources li a")).to_have_text([COMET["title"]])
    finally:
        context.close()


def test_an_article_page_shows_related_articles_with_their_digests(page: Page) -> None:
    page.goto(f"/articles/{FERRY['id']}")
    related = page.locator("aside.related li")
    expect(related.first).to_be_visible()
    expect(related.first.locator(".short-digest")).to_be_visible()
    titles = related.locator("a").all_inner_texts()
    assert FERRY["title"] not in titles and len(titles) >= 1


def test_the_download_links_save_every_match(page: Page, tmp_path: Path) -> None:
    page.goto("/search?q=valley&sort=date")
    titles = result_titles(page)
    link = page.locator("#results .download a", has_text="CSV")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "precis-valley.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(titles) >= 2 and [row["title"] for row in rows] == titles
    assert [row["source"] for row in rows][0] == LIBRARY["source"]  # newest first
    # After a live search the link follows the new query.
    type_query(page, "comet")
    expect_results_for(page, COMET["title"])
    with page.expect_download() as info:
        page.locator("#results .download a", has_text="JSON Lines").click()
    saved = tmp_path / "comet.jsonl"
    info.value.save_as(saved)
    records = [json.loads(line) for line in saved.read_text("utf-8").splitlines()]
    assert [record["id"] for record in records] == [COMET["id"]]
    assert records[0]["paragraphs"] == COMET["paragraphs"] and "comet" in records[0]["best_hit"]
