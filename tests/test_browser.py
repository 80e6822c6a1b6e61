"""The HTML pages in a real browser: Debian's headless Chromium, driven by playwright.

Each page is drawn at a phone's width (390 px) and a desktop's (1280 px): no console
error, nothing fetched from outside the file, nothing wider than the viewport outside
the wrappers that let wide tables scroll, a screenshot taken; and it prints to A4.

Skipped when /usr/bin/chromium or playwright is missing, unless
SALESPOOL_REQUIRE_BROWSER=1 (as .ci/run sets it), when that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
from test_html_report import team  # noqa: F401  (the fixture: a team with Chinese names)

pytestmark = pytest.mark.slow  # starts a browser of its own

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "make_screenshot.py"
WIDTHS = (390, 1280)
# Every element's box against the viewport; those inside a scrolling wrapper are the
# wrapper's to hold (the wrapper itself must fit).
OVERFLOW = """() => {
  const limit = document.documentElement.clientWidth + 0.5;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.scroll') && !el.classList.contains('scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > limit || box.left < -0.5 || box.width > limit) {
      wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className.baseVal ?? el.className}`
        + ` ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {wide, scroll: document.documentElement.scrollWidth, width: limit - 0.5};
}"""


def _setup():
    spec = importlib.util.spec_from_file_location("make_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def skip_without(browser_path: str) -> None:
    """Skip when the browser or playwright is missing; fail instead when
    SALESPOOL_REQUIRE_BROWSER=1 (CI must not pass by skipping)."""
    missing = None
    if not Path(browser_path).exists():
        missing = f"{browser_path} is not installed (apt-get install chromium)"
    elif importlib.util.find_spec("playwright") is None:
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None:
        return
    if os.environ.get("SALESPOOL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SALESPOOL_REQUIRE_BROWSER=1 but {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="module")
def browser():
    """The headless Chromium of docs/make_screenshot.py (the same setup), or a skip."""
    setup = _setup()
    skip_without(setup.BROWSER)
    with setup.launch() as chromium:
        yield chromium


def test_a_missing_browser_skips_unless_required(tmp_path, monkeypatch):
    nowhere = str(tmp_path / "chromium")
    monkeypatch.delenv("SALESPOOL_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not installed"):
        skip_without(nowhere)
    monkeypatch.setenv("SALESPOOL_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="SALESPOOL_REQUIRE_BROWSER=1 but"):
        skip_without(nowhere)


def _draw(browser, path: Path, width: int, shot: Path) -> dict:
    """Open `path` at `width`; what the console said, what was fetched, what overflowed."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    errors: list[str] = []
    fetched: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    found = page.evaluate(OVERFLOW)
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    return {"errors": errors, "fetched": fetched, **found}


@pytest.mark.parametrize("command", ["report", "coach"])
def test_the_page_draws_cleanly_on_a_phone_and_a_desktop(browser, team, command):  # noqa: F811
    path = team.db.parent / f"{command}.html"
    team(command, "--html", str(path))
    for width in WIDTHS:
        shot = team.db.parent / f"{command}-{width}.png"
        drawn = _draw(browser, path, width, shot)
        assert drawn["errors"] == [], drawn["errors"]
        assert drawn["fetched"] == [path.as_uri()]  # the file itself, nothing else
        assert drawn["wide"] == [], (width, drawn["wide"])
        assert drawn["scroll"] <= drawn["width"], drawn
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_prints_to_a4(browser, team):  # noqa: F811
    path = team.db.parent / "report.html"
    team("report", "--html", str(path))
    page = browser.new_page()
    page.goto(path.as_uri())
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    page.close()
    assert pdf[:5] == b"%PDF-"
    # Every page 595 x 842 points (210 x 297 mm): the A4 the page's @page asks for.
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(round(float(w)) == 595 and round(float(h)) == 842 for w, h in boxes)
