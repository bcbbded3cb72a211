"""Hostile and careless configuration, class by class (issue 15): each is refused at load
with one line, ``FILE: KEY.PATH: reason``, before any command touches the warehouse or the
report folder (the command-level proof is in tests/reliability/test_bad_input.py and
test_config_properties.py).

Classes: unquoted times (YAML 1.1 base-60 numbers) and other surprising numbers; duplicate
keys; anchors, aliases and merge keys; the file's size and kind; every bad kind of path a
lexicon or the report folder can name; a time zone that is a folder; numbers beyond what the
code computes with; unknown keys under checks: and lexicons: (and everywhere else).
"""

from __future__ import annotations

import os
import typing
from datetime import time
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from kernel import config as config_module
from kernel import yamlsafe
from kernel.config import (
    LEXICON_FAMILIES,
    MAX_CONFIG_BYTES,
    MAX_LEXICON_BYTES,
    ConfigError,
    Settings,
    load_settings,
    settings_from_dict,
)
from tests.conftest import ROOT

# Both parsers: libyaml's (used where PyYAML has it) and PyYAML's own.
PARSERS = [pytest.param(yaml.SafeLoader, id="pure-python")]
if yaml.__with_libyaml__:
    PARSERS.insert(0, pytest.param(yaml.CSafeLoader, id="libyaml"))


@pytest.fixture(params=PARSERS)
def parser(request, monkeypatch):
    monkeypatch.setattr(yamlsafe, "_LOADER", request.param)
    return request.param


def refused(tmp_path: Path, text: str | bytes, name: str = "c.yml") -> str:
    config = tmp_path / name
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and message.isprintable(), repr(message)
    assert message.startswith(f"{config}: "), message
    return message[len(f"{config}: ") :]


# --- times: YAML 1.1 reads an unquoted 9:00 as 540 ---------------------------------------------


@pytest.mark.parametrize(
    "text,where,shown",
    [
        ("business_hours:\n  start: 9:00\n", "business_hours.start", "540"),
        ("business_hours:\n  start: '08:00'\n  end: 17:00\n", "business_hours.end", "1020"),
        ("report:\n  due_by: 8:30\n", "report.due_by", "510"),
        ("report: {due_by: 8:30:15}\n", "report.due_by", "30615"),
        ("council: 1:30.5\n", "council", "90.5"),
    ],
)
def test_an_unquoted_time_is_refused_with_the_advice_to_quote_it(
    tmp_path, parser, text, where, shown
):
    reason = refused(tmp_path, text)
    assert reason.startswith(f"{where}: line "), reason
    assert f"base-60 number {shown}" in reason and "write times in quotes" in reason, reason


def test_quoted_times_are_read_as_times(tmp_path, parser):
    config = tmp_path / "c.yml"
    config.write_text(
        "business_hours:\n  start: '9:00'\n  end: \"17:30\"\nreport:\n  due_by: 08:15\n"
    )  # 08:15 is not a base-60 number in YAML
    settings = load_settings(config)
    assert (settings.business_hours.start, settings.business_hours.end) == (time(9), time(17, 30))
    assert settings.report.due_by == time(8, 15)


@pytest.mark.parametrize(
    "value,says",
    [
        (540, "write times in quotes, e.g. '9:00'"),
        (32400.0, "write times in quotes"),
        (True, "write times in quotes"),
        ("9", "not a time of day"),
        ("25:00", "not a time of day"),
        ("09:00+01:00", "not a time of day"),  # an offset would make the time aware
        ("9:00 am", "not a time of day"),
        ([9, 0], "time of day"),
    ],
)
def test_a_time_is_read_only_from_text(value, says):
    for where, data in (
        ("business_hours.start", {"business_hours": {"start": value}}),
        ("report.due_by", {"report": {"due_by": value}}),
    ):
        with pytest.raises(ConfigError) as caught:
            settings_from_dict(data)
        assert str(caught.value).startswith(f"<config>: {where}: "), str(caught.value)
        assert says in str(caught.value)


def test_an_unquoted_octal_number_is_refused(tmp_path, parser):
    reason = refused(tmp_path, "api:\n  page_size: 010\n")
    assert reason.startswith("api.page_size: line 2: ") and "octal number 8" in reason, reason


# --- duplicate keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,where,lines",
    [
        (
            "accounts:\n  facebook:\n    - {id: '1', name: Council, conn_id: cw_fb}\n"
            "  instagram: []\n  facebook:\n    - {id: '2', name: Other, conn_id: cw_fb2}\n",
            "accounts.facebook",
            (2, 5),
        ),
        (
            "report:\n  recipients: [comms@example.gov.uk]\ncouncil: C\nreport:\n  out_dir: r\n",
            "report",
            (1, 4),
        ),
        ("checks:\n  review_hours: {high: 4, high: 2}\n", "checks.review_hours.high", (2, 2)),
        ("partners:\n  - name: A\n    name: B\n", "partners[0].name", (2, 3)),
        ("council: A\n'council': B\n", "council", (1, 2)),  # quoted or not, the same key
    ],
)
def test_a_duplicate_key_names_its_path_and_both_lines(tmp_path, parser, text, where, lines):
    reason = refused(tmp_path, text)
    assert reason.startswith(f"{where}: duplicate key (lines {lines[0]} and {lines[1]})"), reason


# --- anchors, aliases, merge keys -----------------------------------------------------------------

BOMB = (
    "\n".join(
        ["a: &a [x, x, x, x, x, x, x, x, x]"]
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]"
            for i in range(8)
        ]
    )
    + "\n"
)


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, parser):
    assert len(BOMB) < 500  # 9^9 = 387 million strings once expanded
    reason = refused(tmp_path, BOMB)
    assert reason.startswith("a: line 1: YAML anchors and aliases"), reason


@pytest.mark.parametrize(
    "text,where",
    [
        ("council: &name Bracknell\n", "council"),
        (
            "report:\n  recipients: &r [a@b.uk]\n  safeguarding_recipients: *r\n",
            "report.recipients",
        ),
        ("api: {timeout_seconds: 3}\nx: &x {}\n<<: *x\n", "x"),
        ("business_hours:\n  <<: {timezone: UTC}\n", "business_hours"),
        ("a: &loop [*loop]\n", "a"),
    ],
)
def test_anchors_aliases_and_merge_keys_are_refused(tmp_path, parser, text, where):
    reason = refused(tmp_path, text)
    assert reason.startswith(f"{where}: line "), reason
    assert "anchors and aliases" in reason or "merge keys" in reason, reason


@pytest.mark.parametrize(
    "text,says",
    [
        ("council: !!binary aGVsbG8=\n", "tag"),
        ("council: !!python/object/apply:os.system [id]\n", "tag"),
        ("partners: !!set {a, b}\n", "tag"),
        ("council: A\n---\ncouncil: B\n", "more than one YAML document"),
        ("x: " + "[" * 40 + "]" * 40 + "\n", "nested more than"),
        ("? [a, b]\n: c\n", "a key must be a name"),
        (
            "pre_election_periods:\n  - {name: May, start: 2027-13-45, end: 2027-05-06}\n",
            "month must be in 1..12",
        ),
        ("api:\n  lookback_days: " + "9" * 5000 + "\n", "too many digits"),
        ('council: "tab\there"\x00\n', "U+0000"),
    ],
)
def test_other_yaml_that_would_be_a_surprise_or_a_crash(tmp_path, parser, text, says):
    assert says in refused(tmp_path, text)


# --- the file itself: size and kind ------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    # Invalid YAML beyond the limit: a size message, not a syntax error, proves no parse.
    text = "council: [" + "x" * MAX_CONFIG_BYTES
    reason = refused(tmp_path, text)
    assert reason.startswith("larger than 1 MB"), reason
    just_fits = "council: '" + "x" * (MAX_CONFIG_BYTES - 20) + "'\n"
    (tmp_path / "fits.yml").write_text(just_fits)
    assert load_settings(tmp_path / "fits.yml").council.startswith("xxx")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_or_pipe_is_not_read_as_a_configuration(tmp_path):
    for target in ("/dev/zero", "/dev/null"):
        with pytest.raises(ConfigError, match="not a regular file"):
            load_settings(target)
    os.mkfifo(tmp_path / "pipe.yml")  # opening it to read would wait for a writer forever
    with pytest.raises(ConfigError, match="not a regular file"):
        load_settings(tmp_path / "pipe.yml")
    (tmp_path / "link.yml").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_settings(tmp_path / "link.yml")


# --- paths: lexicons and the report folder -------------------------------------------------------


def _lexicon_cases(tmp_path: Path) -> list[tuple[str, str]]:
    """(path as configured, words the reason must contain), one per bad kind of file."""
    tmp_path.mkdir()
    (tmp_path / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    )
    (tmp_path / "binary.yml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.yml").write_bytes("strong: [caf\xe9]\n".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    big = tmp_path / "big.yml"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_LEXICON_BYTES + 1)
    (tmp_path / "bomb.yml").write_text(BOMB)
    (tmp_path / "dup.yml").write_text("strong: [a]\nstrong: [b]\n")
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    (tmp_path / "bools.yml").write_text("strong: [no, yes]\n")
    (tmp_path / "empty.yml").write_text("")
    os.mkfifo(tmp_path / "pipe.yml")
    (tmp_path / "dangling.yml").symlink_to(tmp_path / "nowhere.yml")
    (tmp_path / "zero.yml").symlink_to("/dev/zero")
    unreadable = tmp_path / "secret.yml"
    unreadable.write_text("strong: [a]\n")
    unreadable.chmod(0)
    cases = [
        ("passwd", "must map list names"),
        (str(tmp_path / "passwd"), "must map list names"),
        ("binary.yml", "not UTF-8"),
        ("latin1.yml", "not UTF-8"),
        ("folder", "is a directory"),
        ("big.yml", "larger than 2 MB"),
        ("bomb.yml", "anchors and aliases"),
        ("dup.yml", "duplicate key"),
        ("list.yml", "must map list names"),
        ("bools.yml", "quote words"),
        ("empty.yml", "must map list names"),
        ("missing.yml", "file not found"),
        ("passwd/below.yml", "file not found"),
        ("pipe.yml", "not a regular file"),
        ("dangling.yml", "file not found"),
        ("zero.yml", "not a regular file"),
        ("/dev/zero", "not a regular file"),
        ("a\x00b.yml", "not a valid file name"),
        ("x" * 5000 + ".yml", "cannot read"),
    ]
    if os.geteuid() != 0:  # root reads anything
        cases.append(("secret.yml", "Permission denied"))
    return cases


def test_every_bad_kind_of_lexicon_file_is_refused_at_load(tmp_path):
    for family in ("abuse", "needs_reply"):
        for configured, says in _lexicon_cases(tmp_path / family):
            with pytest.raises(ConfigError) as caught:
                settings_from_dict(
                    {"lexicons": {family: configured}}, origin=tmp_path / family / "c.yml"
                )
            message = str(caught.value)
            assert message.startswith(f"<config>: lexicons.{family}: "), message
            assert says in message, (configured[:40], message)
            assert len(message.splitlines()) == 1 and message.isprintable(), repr(message)


def test_a_lexicon_folder_must_be_a_folder_and_its_files_good(tmp_path):
    (tmp_path / "file.yml").write_text("strong: [a]\n")
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "profanity.yml").write_text("strong: [blimey]\n")
    (tmp_path / "lex" / "other.yml").write_text("not: [looked, at]\n: broken\n")
    origin = tmp_path / "c.yml"
    assert settings_from_dict({"lexicons": {"directory": "lex"}}, origin=origin)
    for directory, says in (("file.yml", "not a folder"), ("none", "folder not found")):
        with pytest.raises(ConfigError, match=f"lexicons.directory: '{directory}': {says}"):
            settings_from_dict({"lexicons": {"directory": directory}}, origin=origin)
    (tmp_path / "lex" / "abuse.yml").write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"lexicons.directory: 'lex': abuse.yml: .*must map list"):
        settings_from_dict({"lexicons": {"directory": "lex"}}, origin=origin)
    # A family configured on its own is read from its own file, not the folder's.
    assert settings_from_dict(
        {"lexicons": {"directory": "lex", "abuse": "file.yml"}}, origin=origin
    )


def test_a_relative_lexicon_is_checked_where_the_checks_will_read_it(tmp_path, monkeypatch):
    from checks.matcher import lexicon_path

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "swears.yml").write_text("strong: [blimey]\n")
    config = tmp_path / "conf" / "c.yml"
    config.write_text("lexicons:\n  profanity: swears.yml\n")
    monkeypatch.chdir(tmp_path)  # not the configuration's folder
    settings = load_settings(config)
    assert lexicon_path("profanity", settings) == tmp_path / "conf" / "swears.yml"


def test_the_shipped_lexicons_pass_the_checks_a_configured_one_must(tmp_path):
    from checks.matcher import FAMILIES, default_path

    assert LEXICON_FAMILIES == FAMILIES
    for family in FAMILIES:
        assert config_module._lexicon_problem(default_path(family)) is None, family
    # So a council can start from a copy of one.
    (tmp_path / "abuse.yml").write_bytes(default_path("abuse").read_bytes())
    assert settings_from_dict({"lexicons": {"abuse": "abuse.yml"}}, origin=tmp_path / "c.yml")


def test_the_report_folder_must_not_be_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    for out_dir, says in (
        ("a-file", "is a file, not a folder"),
        ("a-file/reports", "cannot be made: 'a-file' is a file"),
        (str(tmp_path / "a-file" / "x" / "y"), "is a file"),
        ("bad\x00name", "not a valid folder name"),
    ):
        with pytest.raises(ConfigError) as caught:
            settings_from_dict({"report": {"out_dir": out_dir}})
        assert str(caught.value).startswith("<config>: report.out_dir: "), str(caught.value)
        assert says in str(caught.value)
    # A folder that does not exist yet is fine, and loading does not make it.
    assert settings_from_dict({"report": {"out_dir": "reports/daily"}})
    assert not (tmp_path / "reports").exists()


# --- time zones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone",
    [
        "Europe",
        "America",
        "Europe/",
        "",
        "Europe/London/",
        "../../etc/passwd",
        "/etc/localtime",
        "Europe/London\n",
        "Europe/Londres",
        "a\x00b",
    ],
)
def test_a_time_zone_must_be_a_real_zone(zone):
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"business_hours": {"timezone": zone}})
    assert str(caught.value).startswith("<config>: business_hours.timezone: "), str(caught.value)
    assert "time zone" in str(caught.value)


@pytest.mark.parametrize("zone", ["Europe/London", "UTC", "America/St_Johns", "Asia/Kolkata"])
def test_real_zones_are_accepted(zone):
    assert settings_from_dict({"business_hours": {"timezone": zone}}).business_hours.zone


# --- numbers -----------------------------------------------------------------------------------------


def _numeric_fields(model: type[BaseModel], prefix: tuple = ()) -> list[tuple[tuple, object]]:
    """(key path, field info) of every int or float field reachable from `model`, a dict's
    value type included (its path ends with one of the dict's allowed keys)."""
    out = []
    for name, field in model.model_fields.items():
        if name == "source":
            continue
        annotation = field.annotation
        args = typing.get_args(annotation)
        if annotation in (int, float):
            out.append(((*prefix, name), field))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_numeric_fields(annotation, (*prefix, name)))
        elif typing.get_origin(annotation) is dict:
            key = typing.get_args(args[0])[0]
            value_type = typing.get_args(args[1])[0] if typing.get_args(args[1]) else args[1]
            if value_type in (int, float):
                out.append(((*prefix, name, key), args[1]))
        elif (
            typing.get_origin(annotation) is list
            and args
            and isinstance(args[0], type)
            and issubclass(args[0], BaseModel)
        ):
            out.extend(_numeric_fields(args[0], (*prefix, name, 0)))
    return out


NUMERIC = _numeric_fields(Settings)


def _nest(path: tuple, value) -> dict:
    for part in reversed(path):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def test_every_number_in_the_configuration_has_an_upper_bound():
    assert len(NUMERIC) >= 14
    for path, field in NUMERIC:
        metadata = getattr(field, "metadata", None) or typing.get_args(field)[1:]
        metadata = [inner for m in metadata for inner in [m, *getattr(m, "metadata", [])]]
        bounds = {type(m).__name__ for m in metadata}
        assert bounds & {"Le", "Lt"}, f"{path} has no upper bound"


@pytest.mark.parametrize(
    "value",
    [float("inf"), float("-inf"), float("nan"), 1e300, 10**30, -(10**30), 10**400, True, "1e999"],
    ids=["inf", "-inf", "nan", "1e300", "10^30", "-10^30", "10^400", "true", "'1e999'"],
)
def test_every_number_is_finite_and_bounded(value):
    for path, _ in NUMERIC:
        with pytest.raises(ConfigError) as caught:
            settings_from_dict(_nest(path, value))
        assert str(caught.value).startswith(f"<config>: {yamlsafe.key_path(path[:2])}"), str(
            caught.value
        )


@pytest.mark.parametrize(
    "text,where,says",
    [
        ("monitoring:\n  gap_hours: .inf\n", "monitoring.gap_hours", "finite"),
        ("monitoring:\n  gap_hours: 1.0e+300\n", "monitoring.gap_hours", "less than or equal"),
        (
            "retention:\n  findings_days: 100000\n",
            "retention.findings_days",
            "less than or equal to 3650",
        ),
        ("retention:\n  public_comment_days: 0\n", "retention.public_comment_days", "greater than"),
        ("api:\n  youtube_daily_quota: 1.0e+30\n", "api.youtube_daily_quota", ""),
        ("checks:\n  review_hours: {high: .nan}\n", "checks.review_hours.high", "finite"),
        (
            "business_hours:\n  response_target_hours: -.inf\n",
            "business_hours.response_target_hours",
            "",
        ),
    ],
)
def test_unbounded_numbers_in_a_file(tmp_path, text, where, says):
    reason = refused(tmp_path, text)
    assert reason.startswith(f"{where}: ") and says in reason, reason


@pytest.mark.parametrize(
    "start,end", [("09:00:00", "09:00:01"), ("09:00", "09:59"), ("23:00", "23:59:59")]
)
def test_a_business_day_lasts_at_least_an_hour(start, end):
    with pytest.raises(
        ConfigError, match="business_hours: the business day .* shorter than an hour"
    ):
        settings_from_dict({"business_hours": {"start": start, "end": end}})
    assert settings_from_dict({"business_hours": {"start": "09:00", "end": "10:00"}})


# --- unknown keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,where",
    [
        ("checks:\n  foi_workng_days: 20\n", "checks.foi_workng_days"),
        ("checks:\n  brand:\n    requird_name: X\n", "checks.brand.requird_name"),
        ("lexicons:\n  profanty: swears.yml\n", "lexicons.profanty"),
        ("lexicons:\n  Abuse: a.yml\n", "lexicons.Abuse"),
        ("checks:\n  review_hours: {urgent: 1}\n", "checks.review_hours.urgent"),
        ("monitoring:\n  pools: {myspace: 1}\n", "monitoring.pools.myspace"),
        ("source: /etc\n", "source"),
        ("'report ': {}\n", "'report '"),
    ],
)
def test_unknown_keys_are_refused_everywhere(tmp_path, text, where):
    assert refused(tmp_path, text).startswith(f"{where}: unknown key"), text


def test_every_section_forbids_unknown_keys_and_every_dict_names_its_keys():
    seen: set[type] = set()
    todo: list[type] = [Settings]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, field in model.model_fields.items():
            for arg in [field.annotation, *typing.get_args(field.annotation)]:
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    todo.append(arg)
                elif (
                    typing.get_origin(arg) is list
                    and isinstance(typing.get_args(arg)[0], type)
                    and issubclass(typing.get_args(arg)[0], BaseModel)
                ):
                    todo.append(typing.get_args(arg)[0])
            if typing.get_origin(field.annotation) is dict:
                key_type = typing.get_args(field.annotation)[0]
                assert typing.get_origin(key_type) is typing.Literal, f"{model.__name__}.{name}"
    assert len(seen) >= 14


def test_every_lexicon_family_is_a_key_and_still_reaches_the_checks(tmp_path):
    from checks.matcher import lexicon_path

    (tmp_path / "mine.yml").write_text("strong: [blimey]\n")
    for family in LEXICON_FAMILIES:
        settings = settings_from_dict({"lexicons": {family: "mine.yml"}}, origin=tmp_path / "c.yml")
        assert lexicon_path(family, settings) == tmp_path / "mine.yml"


# --- one line, always -----------------------------------------------------------------------------


def test_messages_stay_on_one_printable_line(tmp_path):
    odd = tmp_path / "odd\nname\u2028.yml"
    odd.write_text('"acc\\nounts\\u2029": 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(odd)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and message.isprintable(), repr(message)
    assert "unknown key" in message
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"report": {"recipients": ["a\ud800\nb"]}})
    assert str(caught.value).isprintable() and "not an email address" in str(caught.value)


def test_the_example_and_the_docs_write_times_in_quotes():
    import re

    bare = re.compile(r"^\s*(start|end|due_by):\s*\d{1,2}:\d\d", re.M)
    for doc in [
        ROOT / "channelwatch.example.yml",
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]:
        assert not bare.search(doc.read_text(encoding="utf-8")), doc
