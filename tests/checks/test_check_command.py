"""`channelwatch check` as a user runs it: a subprocess, files and stdin, exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "channelwatch", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def item(**over) -> str:
    base = {
        "platform": "twitter",
        "id": "1",
        "kind": "mention",
        "account": "acct",
        "is_own": False,
        "parent_id": None,
        "root_id": "1",
        "created_at": "2025-03-03T10:00:00Z",
        "text": "@council why was my bin not collected?",
    }
    return json.dumps({**base, **over})


def test_bad_lines_are_reported_by_number_skipped_and_exit_1(tmp_path):
    src = tmp_path / "items.jsonl"
    src.write_text(
        "\n".join(
            [
                item(),
                "{not json",
                item(id="2", kind="tweet"),
                "",
                item(id="3", text="I want to end my life", created_at="2025-03-03T11:00:00+00:00"),
                item(id="4", created_at="2025-03-03 11:00"),
            ]
        )
        + "\n"
    )
    out = tmp_path / "findings.jsonl"
    proc = run("--input", str(src), "--output", str(out), "--as-of", "2025-03-10T00:00:00Z")
    assert proc.returncode == 1
    errors = [l for l in proc.stderr.splitlines() if l.startswith("line ")]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3", "line 6"]
    assert "kind" in errors[1] and "created_at" in errors[2]
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert {(r["item_id"], r["rule"]) for r in rows} == {
        ("1", "unanswered.sla_breach"),
        ("3", "safeguarding.concern"),
    }
    assert set(rows[0]) == {
        "item_id",
        "platform",
        "category",
        "rule",
        "severity",
        "evidence",
        "route",
        "due_at",
        "detected_at",
    }
    assert all(r["detected_at"] == "2025-03-10T00:00:00+00:00" for r in rows)


def test_stdin_to_stdout_and_as_of_decides_what_is_overdue():
    early = run(
        "--input", "-", "--output", "-", "--as-of", "2025-03-03T12:00:00+00:00", stdin=item() + "\n"
    )
    assert early.returncode == 0 and early.stdout == ""
    late = run(
        "--input", "-", "--output", "-", "--as-of", "2025-03-04T10:00:01+00:00", stdin=item() + "\n"
    )
    assert late.returncode == 0
    row = json.loads(late.stdout)
    assert row["rule"] == "unanswered.sla_breach" and row["due_at"] == "2025-03-04T10:00:00+00:00"


def test_config_changes_the_target(tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text("business_hours:\n  response_target_hours: 2\n")
    proc = run(
        "--input",
        "-",
        "--output",
        "-",
        "--as-of",
        "2025-03-03T12:30:00Z",
        "--config",
        str(cfg),
        stdin=item() + "\n",
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["due_at"] == "2025-03-03T12:00:00+00:00"


def test_unusable_input_or_config_is_one_line_exit_2(tmp_path):
    missing = run("--input", str(tmp_path / "nope.jsonl"), "--output", "-")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "nope.jsonl" in missing.stderr
    cfg = tmp_path / "bad.yml"
    cfg.write_text("business_hours:\n  response_target_hours: -1\n")
    bad = run("--input", "-", "--output", "-", "--config", str(cfg), stdin="")
    assert bad.returncode == 2 and "response_target_hours" in bad.stderr
    assert "Traceback" not in bad.stderr
    asof = run("--input", "-", "--output", "-", "--as-of", "2025-03-03T12:00", stdin="")
    assert asof.returncode == 2 and "--as-of" in asof.stderr


def test_a_broken_lexicon_is_one_line_exit_2(tmp_path):
    (tmp_path / "bad.yml").write_text("strong: [no, yes]\n")
    cfg = tmp_path / "c.yml"
    cfg.write_text("lexicons:\n  profanity: bad.yml\n")
    proc = run("--input", "-", "--output", "-", "--config", str(cfg), stdin=item() + "\n")
    assert proc.returncode == 2 and "bad.yml" in proc.stderr and "quote" in proc.stderr
    assert "Traceback" not in proc.stderr
