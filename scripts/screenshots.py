"""Take the README's screenshots: the search page, an article page, a briefing and related
articles, served from samples/.

Ingests samples/ into a temporary archive, starts `precis serve` on a free port, opens

    /?q=ferry OR library OR Carter        -> docs/screenshots/search.png
    the seed article's page from the results (with ?q=) -> docs/screenshots/article.png
    /?q=ferry strike, then "Brief me"     -> docs/screenshots/briefing.png
    the related articles of sample-strike-3 -> docs/screenshots/related.png

in headless Chromium (1280x900) and stops the server. Chromium is Debian's
(/usr/lib/chromium/chromium, or $PRECIS_CHROMIUM); `playwright install` is not needed.

    python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

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
QUERY = "ferry OR library OR Carter"
BRIEFING_QUERY = "ferry strike"
RELATED_ARTICLE = "sample-strike-3"
VIEWPORT = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, url: str, timeout: float = 30) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited with status {process.returncode}")
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    time.sleep(0.2)  # a port taken by another server shows as an exit by now
                    if process.poll() is None:
                        return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    sys.exit(f"the server did not answer on {url}")


def take(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="precis-screenshots-") as tmp:
        env = {name: value for name, value in os.environ.items() if not name.startswith("PRECIS_")}
        env.update(PRECIS_CONFIG=str(Path(tmp) / "no-config.toml"), PYTHONUNBUFFERED="1")
        index = Path(tmp) / "index"
        cli = [sys.executable, "-m", "webapp.cli"]
        subprocess.run(
            [*cli, "ingest", str(ROOT / "samples"), "--index", str(index), "--no-progress"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [*cli, "serve", "--index", str(index), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            print(process.stdout.readline().strip())
            wait_until_serving(process, base + "/")
            shoot(base, out)
        finally:
            process.terminate()
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def shoot(base: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                base_url=base, viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce"
            )
            page = context.new_page()
            page.goto("/?q=" + quote(QUERY))
            page.wait_for_load_state("networkidle")
            first = page.locator("#results li.result h2 a").first
            first.wait_for()
            page.screenshot(path=out / "search.png")
            print(f"wrote {out / 'search.png'}")

            # The article page shows the seed article (the one Precis started from).
            seed = page.locator("#results li.result h2 a", has_text="Pentagon chief")
            href = seed.get_attribute("href")
            print(f"article: {seed.inner_text()} ({href})")
            page.goto(href)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / "article.png")
            print(f"wrote {out / 'article.png'}")

            # "Brief me" on a running story of samples/harbour-strike.jsonl.
            page.goto("/?q=" + quote(BRIEFING_QUERY))
            page.wait_for_load_state("networkidle")
            page.get_by_role("link", name="Brief me").click()
            page.locator("#briefing-heading").wait_for()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / "briefing.png")
            print(f"wrote {out / 'briefing.png'}")

            # The related articles under an article of that story.
            page.goto("/articles/" + quote(RELATED_ARTICLE, safe=""))
            page.wait_for_load_state("networkidle")
            page.locator("aside.related").screenshot(path=out / "related.png")
            print(f"wrote {out / 'related.png'}")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or PRECIS_CHROMIUM)")
    take(args.out)


if __name__ == "__main__":
    main()
