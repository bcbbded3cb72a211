"""Configuration: the example is valid, and every mistake is one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernel.config import ConfigError, load_settings
from tests.conftest import ROOT

EXAMPLE = ROOT / "channelwatch.example.yml"

GOOD_ACCOUNT = "accounts:\n  facebook:\n    - {id: '1', name: Council, conn_id: cw_facebook}\n"

# (file text, the key path the error must name, words the reason must contain)
BAD = [
    (
        "accounts:\n  facebook:\n    - {id: '1', name: Council}\n",
        "accounts.facebook[0].conn_id",
        "required",
    ),
    ("accounts:\n  myspace: []\n", "accounts.myspace", "unknown key"),
    (
        "business_hours:\n  timezone: Europe/Londres\n",
        "business_hours.timezone",
        "unknown time zone",
    ),
    (
        "business_hours:\n  start: '17:00'\n  end: '09:00'\n",
        "business_hours",
        "end must be after start",
    ),
    ("business_hours:\n  days: [mon, funday]\n", "business_hours.days[1]", "mon"),
    (
        "business_hours:\n  response_target_hours: -3\n",
        "business_hours.response_target_hours",
        "greater than 0",
    ),
    (
        "business_hours:\n  holiday_nations: [ENG, XYZ]\n",
        "business_hours.holiday_nations[1]",
        "ENG",
    ),
    (
        "pre_election_periods:\n  - {name: May, start: 2027-05-06, end: 2027-03-01}\n",
        "pre_election_periods[0]",
        "end is before start",
    ),
    (
        "pre_election_periods:\n  - {name: May, start: not-a-date, end: 2027-03-01}\n",
        "pre_election_periods[0].start",
        "date",
    ),
    ("report:\n  recipients: [comms-team]\n", "report.recipients", "not an email address"),
    ("api:\n  base_url: ftp://example.org\n", "api.base_url", "http"),
    ("api:\n  graph_version: '23'\n", "api.graph_version", "pattern"),
    ("api:\n  access_token: EAAB123\n", "api.access_token", "secrets do not belong"),
    (
        "accounts:\n  twitter:\n    - {id: '1', name: X, conn_id: cw, bearer_token: abc}\n",
        "accounts.twitter[0].bearer_token",
        "secrets do not belong",
    ),
    (
        GOOD_ACCOUNT + "    - {id: '1', name: Again, conn_id: cw_other}\n",
        "accounts",
        "appears twice",
    ),
    (
        "retention:\n  public_comment_days: 0\n",
        "retention.public_comment_days",
        "greater than or equal to 1",
    ),
    (
        "monitoring:\n  pools: {facebook: 0}\n",
        "monitoring.pools.facebook",
        "greater than or equal to 1",
    ),
    ("- just\n- a list\n", "(top level)", "mapping"),
    ("council: [unclosed\n", "line 2", "YAML syntax error"),
]


def test_the_example_documents_a_valid_configuration():
    settings = load_settings(EXAMPLE)
    assert [p for p, _ in settings.accounts.all()] == [
        "facebook",
        "instagram",
        "youtube",
        "twitter",
    ]
    assert settings.business_hours.timezone == "Europe/London"
    assert settings.business_hours.response_target_hours == 8


def test_defaults_suit_an_english_council():
    settings = load_settings(None)
    bh = settings.business_hours
    assert (bh.timezone, bh.days, str(bh.start), str(bh.end)) == (
        "Europe/London",
        ["mon", "tue", "wed", "thu", "fri"],
        "09:00:00",
        "17:00:00",
    )
    assert settings.resolved_warehouse_url().startswith("sqlite:///var/")


@pytest.mark.parametrize("body,path,reason", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_a_bad_file_names_file_key_and_reason_on_one_line(tmp_path, body, path, reason):
    config = tmp_path / "bad.yml"
    config.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{config}: {path}: "), message
    assert reason in message, message


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(binary)


def test_the_cli_prints_one_line_and_exits_non_zero(tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text("business_hours:\n  timezone: Mars/Olympus\n")
    before = set(Path(tmp_path).iterdir())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "channelwatch",
            "db",
            "upgrade",
            "--config",
            str(config),
            "--url",
            f"sqlite:///{tmp_path}/w.db",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "Traceback" not in proc.stderr
    assert f"{config}: business_hours.timezone: unknown time zone" in proc.stderr
    assert set(Path(tmp_path).iterdir()) == before  # nothing written
