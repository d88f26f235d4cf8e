"""The single-file HTML report opened in headless Chromium: its rendered text holds the key figures, it asks the
network for nothing (its Content-Security-Policy forbids it, no address in it leads anywhere, and Chromium's network
log shows no request made for the page), and a screenshot is written to test-artifacts/ for a person to look at.

CI installs Debian's ``chromium`` (.ci/run) and sets MIPS_REQUIRE_CHROMIUM=1, so there the test cannot be skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine import explain, score

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "2020-individual-quality-ia-pi.json"
PROFILE = ROOT / "examples" / "2020-small-practice.yaml"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _chromium() -> str:
    found = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                 None)
    if found is None:
        if os.environ.get("MIPS_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (MIPS_REQUIRE_CHROMIUM is set) but is not installed")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)")
    return found


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=True)


def _page_requests(netlog: Path) -> list[str]:
    """Addresses Chromium requested on behalf of a page (its own background requests have no page origin)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"] if e["type"] == start
            and e["params"].get("initiator", "not an origin") != "not an origin"
            and not e["params"]["url"].startswith(("file:", "data:"))]


class _Addresses(HTMLParser):
    """Every src and href of a document, and its Content-Security-Policy."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.policy = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.addresses += [v for k, v in attrs if k in ("src", "href", "xlink:href", "action") and v]
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.policy = values.get("content") or ""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("report") / "feedback.html"
    page.write_text(explain(score(EXAMPLE, 2020, profile=PROFILE), "html"), encoding="utf-8")
    return page


def test_the_report_loads_nothing_from_anywhere(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    parser = _Addresses()
    parser.feed(html)
    assert parser.policy == CSP
    assert [a for a in parser.addresses if not a.startswith("#")] == []
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|url\(|@import|<script|<link|<iframe|<img", html)


def test_chromium_shows_the_key_figures_and_requests_nothing(report: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    netlog = tmp_path / "netlog.json"
    dom = _run(chromium, tmp_path / "profile", f"--log-net-log={netlog}", "--dump-dom", report.as_uri()).stdout
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    for figure in ("Final score 89.1703", "Quality 85.2187%", "Cost N/A", "Improvement Activities 100%",
                   "Promoting Interoperability 69%", "46.8703", "20.7", "6.6", "+0.59%", "+0.5919%", "+7.2279%",
                   "Controlling High Blood Pressure", "Provide Patients Electronic Access to Their Health Information"):
        assert figure in text, figure
    assert _page_requests(netlog) == []


def test_the_network_check_sees_a_page_that_does_load_something(tmp_path: Path) -> None:
    """The check above would notice a request: a page with an image from elsewhere is caught."""
    chromium = _chromium()
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><p>x</p></body></html>')
    netlog = tmp_path / "netlog.json"
    _run(chromium, tmp_path / "profile", f"--log-net-log={netlog}", "--dump-dom", page.as_uri())
    assert _page_requests(netlog) == ["http://127.0.0.1:9/x.png"]


def test_a_screenshot_of_the_report_is_written(report: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "feedback-2020-example.png"
    shot.unlink(missing_ok=True)
    _run(chromium, tmp_path / "profile", "--window-size=1100,5200", f"--screenshot={shot}", report.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
