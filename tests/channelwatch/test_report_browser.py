"""The report of a realistic sandbox day, opened in headless Chromium (Debian's chromium):
it renders with no console errors, the key sections are there, hostile comments stay text,
and a screenshot is written to test-output/report_browser/report.png."""

from __future__ import annotations

import os
import re
import struct
import subprocess
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from channelwatch.findings import sync_findings
from channelwatch.report import build_report
from channelwatch.warehouse import load
from kernel.items import Item
from tests.channelwatch.reportday import Finding, build_days
from tests.conftest import ROOT, make_settings, missing

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "report_browser"
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)
HOSTILE = (
    'Fix the road <script>console.error("xss ran")</script> '
    "<img src=x onerror=\"console.error('img ran')\"> now!"
)
SECTIONS = (
    "headline",
    "channels",
    "do-first",
    "section-safeguarding",
    "section-foi",
    "section-overdue_unanswered",
    "section-advertising_political",
    "new-vs-carried",
    "trends",
    "chart-findings",
    "chart-response",
    "pipeline-health",
)


class Dom(HTMLParser):
    """The rendered DOM: element counts by tag, text by id, all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "id":
                self.ids.add(value)
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_the_report_renders_in_chromium(sqlite_engine, tmp_path):
    if not CHROMIUM.exists():
        missing(
            "Debian's chromium is not installed (apt-get install chromium; `make test` installs it)"
        )
    settings = make_settings(report={"out_dir": str(tmp_path / "reports")})
    build_days(sqlite_engine, settings, end_day=DAY, days=8, per_day=10)
    fb = settings.accounts.facebook[0].id
    at = NOW - timedelta(hours=3)
    with sqlite_engine.begin() as conn:
        load.load_items(
            conn,
            "hostile",
            [
                Item(
                    "facebook",
                    "hostile1",
                    "comment",
                    fb,
                    "u666",
                    "<b>Mallory</b>",
                    False,
                    "p1",
                    "p1",
                    at,
                    HOSTILE,
                    "javascript:console.error('link ran')",
                    {},
                )
            ],
            NOW,
        )
    start = HOSTILE.index("<script>")
    sync_findings(
        sqlite_engine,
        [
            Finding(
                "hostile1",
                "facebook",
                "safeguarding",
                "safeguarding.concern",
                "high",
                "test: a hostile comment",
                "safeguarding_lead",
                at,
                at,
                (start, HOSTILE.index("</script>") + len("</script>")),
            )
        ],
        now=NOW,
    )
    html_path = build_report(settings, sqlite_engine, DAY, now=NOW).html.resolve()
    url = html_path.as_uri()

    run = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    dom = Dom()
    dom.feed(run.stdout)
    for section in SECTIONS:
        assert section in dom.ids, f"section {section} missing from the rendered page"
    assert dom.tags.get("svg") == 2 and dom.tags.get("rect", 0) > 20
    assert "script" not in dom.tags and "img" not in dom.tags and "iframe" not in dom.tags
    text = "".join(dom.text)
    assert 'Fix the road <script>console.error("xss ran")</script>' in text  # shown as text
    assert "<b>Mallory</b>" in text
    assert "What must be done first" in text and "Pipeline health" in text
    assert re.search(r"Daily report for Friday 20 November 2026", text)

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "report.png"
    shot.unlink(missing_ok=True)
    run = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.exists(), run.stderr[-2000:]
    assert png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a page of text and colour, not a blank frame
    os.utime(shot)
