"""docs/report.png: the demo team's `report --html` page, as headless Chromium draws it.

    python docs/make_screenshot.py [--out docs/report.png] [--width 1280]

Runs `salespool demo --keep` in a temporary folder (the demo writes its page beside
the store), opens the page in Debian's Chromium (/usr/bin/chromium, driven by
playwright, which downloads no browser of its own) and saves a full-page screenshot.
The browser setup (BROWSER, ARGS, `launch`) is the one tests/test_browser.py uses.
A CJK font must be installed for the Chinese names (Debian: fonts-wqy-zenhei).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

BROWSER = "/usr/bin/chromium"
# Headless and quiet: no sandbox (CI runs as root), no GPU, and nothing that phones home.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def launch():
    """A headless Chromium from BROWSER with ARGS, closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def demo_page(folder: Path) -> Path:
    """Run the demo into `folder`; the HTML page it writes beside its store (as its
    `--json` names it: the demo alone knows where it puts the page)."""
    store = folder / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "salespool", "demo", "--keep", str(store), "--json"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Path(json.loads(done.stdout)["html"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "report.png")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = demo_page(Path(tmp))
        with launch() as browser:
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
