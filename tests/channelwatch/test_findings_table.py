"""`channelwatch findings list` fits the terminal it prints to."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from channelwatch.commands.findings import _table

ROW = {
    "finding_id": "0123456789abcdef",
    "status": "new",
    "severity": "high",
    "rule": "safeguarding.concern",
    "platform": "facebook",
    "account_id": "104958162837",
    "detected_at": datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc),
    "due_at": datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc),
    "evidence": "public comment names a child and says " + "they are not being fed " * 8,
}


def table(width: int) -> list[str]:
    out = io.StringIO()
    _table(
        [ROW, {**ROW, "finding_id": "fedcba9876543210", "evidence": "short"}],
        ZoneInfo("Europe/London"),
        out,
        width=width,
    )
    return out.getvalue().splitlines()


def test_every_line_fits_an_80_column_terminal_and_the_evidence_is_cut_with_an_ellipsis():
    lines = table(80)
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("ID") and "EVIDENCE" in lines[0] and "DUE" in lines[0]
    assert "0123456789" in lines[1] and lines[1].endswith("…")


def test_a_wide_terminal_shows_every_column_and_more_of_the_evidence():
    narrow, wide = table(80), table(200)
    assert "CHANNEL" in wide[0] and "DETECTED" in wide[0]
    assert "facebook:104958162837" in wide[1]
    assert len(wide[1]) > len(narrow[1])
    assert max(len(line) for line in wide) <= 200
