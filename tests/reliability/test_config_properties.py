"""Property tests (hypothesis) for the configuration loader: whatever a file holds,
`load_settings` returns `Settings` or raises `ConfigError` with one printable line — never
another exception, never a hang — and a command given a bad file prints that one line,
exits 2 and writes nothing.

Generators (docs/reliability.md, "Hostile configuration", lists them with their budgets):
random YAML documents shaped like the configuration (random scalars of every YAML type,
nesting, duplicate keys, anchors and aliases, tags); numbers of any size in every numeric
key; odd strings as time zones, lexicon paths and the report folder; valid configurations,
which must load with their values intact; mutations of the example file; random bytes; and
the same hostile files handed to the `channelwatch` commands.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import typing
from datetime import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kernel.config import (
    LEXICON_FAMILIES,
    ConfigError,
    Settings,
    load_settings,
    settings_from_dict,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "channelwatch.example.yml"
_DIRS: list[Path] = []  # one folder for the module, one file in it rewritten per example


def _dir() -> Path:
    if not _DIRS:
        _DIRS.append(Path(tempfile.mkdtemp(prefix="cw-config-props-")))
    return _DIRS[0]


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    for folder in _DIRS:
        shutil.rmtree(folder, ignore_errors=True)


def _field_names(model: type[BaseModel], seen: set) -> set[str]:
    names: set[str] = set()
    if model in seen:
        return names
    seen.add(model)
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in [
            field.annotation,
            *typing.get_args(field.annotation),
            *[a for t in typing.get_args(field.annotation) for a in typing.get_args(t)],
        ]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _field_names(arg, seen)
    return names


KEYS = sorted(_field_names(Settings, set()) - {"source"}) + [
    "facebook",
    "instagram",
    "youtube",
    "twitter",
    "high",
    "medium",
    "low",
    "foi_workng_days",
    "profanty",
    "token",
    "x",
    "",
]

# Plain scalars YAML 1.1 reads as something else than they look, or cannot read at all.
TRICKY = [
    "9:00",
    "17:00",
    "8:30",
    "1:30.5",
    "010",
    "0x1F",
    "0b101",
    "0o17",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "1.0e+400",
    "-1.0e+400",
    "1e400",
    "9" * 30,
    "9" * 5000,
    "~",
    "null",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "False",
    "2027-03-22",
    "2027-13-45",
    "2027-02-30",
    "2027-03-22 10:00:00",
    "2027-03-22T10:00:00Z",
    "Europe",
    "Europe/London",
    "UTC",
    "/dev/zero",
    "/etc/passwd",
    "/",
    ".",
    "..",
    "=",
    "<<",
    "0",
    "-0",
    "+1",
    "3.14",
    "1e3",
    "'9:00'",
    '"09:00"',
    "'08:30'",
]
TAGS = [
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!timestamp",
    "!!binary",
    "!!set",
    "!!omap",
    "!!python/name:os.system",
    "!custom",
    "!!merge",
    "!",
]


def _quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar: printable ASCII as is, the rest escaped
    (a lone surrogate's escape is refused by the YAML reader: a one-line error too)."""
    out = []
    for ch in text:
        if " " <= ch <= "~" and ch not in '"\\':
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


SCALARS = st.one_of(
    st.sampled_from(TRICKY),
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**700).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: (
            ".nan"
            if math.isnan(f)
            else (".inf" if f > 0 else "-.inf")
            if math.isinf(f)
            else repr(f)
        )
    ),
    st.text(alphabet=string.ascii_letters + string.digits + " :-_./@#", max_size=12),
    st.text(max_size=12).map(_quoted),
)


@st.composite
def documents(draw, depth: int = 0) -> str:
    """A flow-style YAML node: a mapping (often the configuration's own keys, sometimes one
    twice), a list, or a scalar; any of them may carry an anchor, be an alias or a tag."""
    kind = draw(st.sampled_from(["map", "map", "list", "scalar"] if depth < 6 else ["scalar"]))
    prefix = ""
    if draw(st.integers(0, 39)) == 0:
        prefix = f"&{draw(st.sampled_from('ab'))} "
    elif draw(st.integers(0, 39)) == 0:
        return f"*{draw(st.sampled_from('ab'))}"
    if draw(st.integers(0, 12)) == 0:
        prefix += draw(st.sampled_from(TAGS)) + " "
    if kind == "scalar":
        return prefix + draw(SCALARS)
    if kind == "list":
        return prefix + "[" + ", ".join(draw(st.lists(documents(depth + 1), max_size=4))) + "]"
    keys = draw(st.lists(st.sampled_from(KEYS) | st.text(max_size=6).map(_quoted), max_size=5))
    return prefix + "{" + ", ".join(f"{k}: {draw(documents(depth + 1))}" for k in keys) + "}"


@st.composite
def config_texts(draw) -> str:
    """A block-style file whose top-level keys are (mostly) the configuration's sections."""
    lines = []
    for key in draw(
        st.lists(
            st.sampled_from(list(Settings.model_fields) + ["source", "x"]), min_size=1, max_size=6
        )
    ):  # repeats are duplicate keys
        lines.append(f"{key}: {draw(documents(1))}")
    if draw(st.booleans()):
        lines.append("deep: " + "[" * draw(st.integers(20, 60)) + "]" * 60)
    return "\n".join(lines) + "\n"


def _check_outcome(outcome) -> None:
    if isinstance(outcome, ConfigError):
        message = str(outcome)
        assert len(message.splitlines()) == 1 and message.isprintable(), repr(message)
        # For --hypothesis-show-statistics: which kinds of refusal the generator reaches.
        reason = re.sub(r"^.*?(line \d+: )", "", message.rsplit("': ", 1)[-1])
        event("refused: " + " ".join(reason.split(": ")[-1].split()[:4]))
    else:
        assert isinstance(outcome, Settings)
        event("loaded")


def _load_text(text: str | bytes, name: str = "c.yml"):
    path = _dir() / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        return load_settings(path)
    except ConfigError as exc:
        return exc


def _load_dict(data):
    try:
        return settings_from_dict(data, origin=_dir() / "c.yml")
    except ConfigError as exc:
        return exc


@settings(max_examples=200, deadline=None)
@given(config_texts())
def test_a_generated_file_loads_or_fails_in_one_line(text):
    _check_outcome(_load_text(text))


@settings(max_examples=100, deadline=None)
@given(documents())
def test_any_yaml_node_as_the_whole_file_loads_or_fails_in_one_line(text):
    _check_outcome(_load_text(text + "\n"))


NUMERIC_KEYS = [
    ("api", "lookback_days"),
    ("api", "page_size"),
    ("api", "timeout_seconds"),
    ("api", "max_retries"),
    ("api", "max_wait_seconds"),
    ("api", "youtube_daily_quota"),
    ("business_hours", "response_target_hours"),
    ("checks", "foi_working_days"),
    ("checks", "review_hours", "high"),
    ("retention", "public_comment_days"),
    ("retention", "raw_payload_days"),
    ("retention", "findings_days"),
    ("monitoring", "gap_hours"),
    ("monitoring", "pools", "youtube"),
]
NUMBER_TEXT = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.text(alphabet=string.digits, min_size=1, max_size=6000),
    st.floats(allow_nan=False, allow_infinity=False).map(
        lambda f: f"{f!r}".replace("e", ".0e") if "e" in repr(f) and "." not in repr(f) else repr(f)
    ),
    st.sampled_from(
        [
            ".inf",
            "-.inf",
            ".nan",
            "1.0e+309",
            "-0.0",
            "0x7fffffffffffffff",
            "1_000_000",
            "9:00",
            "010",
            "yes",
            "~",
            "'12'",
            "1e400",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMERIC_KEYS), NUMBER_TEXT)
def test_a_number_of_any_size_is_accepted_only_finite_and_in_range(path, number):
    text = "".join(f"{'  ' * i}{key}:\n" for i, key in enumerate(path[:-1]))
    text += f"{'  ' * (len(path) - 1)}{path[-1]}: {number}\n"
    outcome = _load_text(text)
    _check_outcome(outcome)
    if isinstance(outcome, Settings):
        value = outcome
        for key in path:
            value = value[key] if isinstance(value, dict) else getattr(value, key)
        assert math.isfinite(value) and 0 <= value <= 1_000_000_000, (path, number, value)


ODD = st.one_of(
    st.text(max_size=30),
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Zl", "Zp", "Lo"]),
        max_size=10,
    ),
    st.sampled_from(
        [
            "/dev/zero",
            "/dev/random",
            "/dev/null",
            "/proc/self/environ",
            "/proc/self/mem",
            "/proc/kcore",
            "/etc/passwd",
            "/etc",
            "/",
            ".",
            "..",
            "Europe",
            "America",
            "Europe/",
            "Europe/London",
            "UTC",
            "posixrules",
            "../../../etc/passwd",
            "x" * 5000,
            "a\x00b",
            "\ud800",
            "lex\n.yml",
            str(EXAMPLE),
            "channelwatch.example.yml",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["timezone", "out_dir", "directory", *LEXICON_FAMILIES]), ODD, st.booleans())
def test_odd_strings_as_zones_and_paths_load_or_fail_in_one_line(key, value, through_yaml):
    if key == "timezone":
        data = {"business_hours": {"timezone": value}}
    elif key == "out_dir":
        data = {"report": {"out_dir": value}}
    else:
        data = {"lexicons": {key: value}}
    if through_yaml:  # as a double-quoted YAML string, escapes and all
        [(section, inner)] = data.items()
        [(field, text)] = inner.items()
        outcome = _load_text(f"{section}:\n  {field}: {_quoted(text)}\n")
    else:
        outcome = _load_dict(data)
    _check_outcome(outcome)
    if isinstance(outcome, Settings) and key == "timezone":
        assert outcome.business_hours.zone.key == value


ZONES = ["Europe/London", "UTC", "Europe/Dublin", "America/New_York", "Asia/Kolkata"]


@st.composite
def valid_configs(draw) -> dict:
    start = draw(st.integers(0, 22 * 60))
    end = draw(st.integers(start + 60, 23 * 60 + 59))
    data = {
        "council": draw(st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=30)),
        "business_hours": {
            "timezone": draw(st.sampled_from(ZONES)),
            "days": draw(
                st.lists(
                    st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                    min_size=1,
                    max_size=7,
                    unique=True,
                )
            ),
            "start": f"{start // 60}:{start % 60:02d}",
            "end": f"{end // 60:02d}:{end % 60:02d}",
            "response_target_hours": draw(st.floats(0.5, 200)),
        },
        "api": {
            "lookback_days": draw(st.integers(0, 365)),
            "timeout_seconds": draw(st.floats(0.1, 600)),
        },
        "retention": {
            "public_comment_days": draw(st.integers(1, 3650)),
            "findings_days": draw(st.integers(1, 3650)),
        },
        "monitoring": {
            "gap_hours": draw(st.floats(0.5, 24 * 366)),
            "pools": {"facebook": draw(st.integers(1, 64))},
        },
        "checks": {
            "foi_working_days": draw(st.integers(1, 60)),
            "review_hours": {"high": draw(st.floats(0.5, 200))},
        },
        "report": {
            "due_by": f"{draw(st.integers(0, 23))}:{draw(st.integers(0, 59)):02d}",
            "recipients": draw(
                st.lists(
                    st.sampled_from(["comms@bracknell-forest.gov.uk", "a.b@example.org"]),
                    max_size=2,
                )
            ),
        },
    }
    for key in draw(st.lists(st.sampled_from(list(data)), max_size=3, unique=True)):
        del data[key]
    return data


@settings(max_examples=100, deadline=None)
@given(valid_configs(), st.booleans())
def test_a_valid_configuration_loads_with_its_values(data, block_style):
    outcome = _load_text(
        yaml.safe_dump(data, default_flow_style=None if block_style else True, allow_unicode=True)
    )
    assert isinstance(outcome, Settings), outcome
    if "business_hours" in data:
        bh = data["business_hours"]
        hours, minutes = map(int, bh["start"].split(":"))
        assert outcome.business_hours.start == time(hours, minutes)
        assert outcome.business_hours.timezone == bh["timezone"]
    if "report" in data:
        hours, minutes = map(int, data["report"]["due_by"].split(":"))
        assert outcome.report.due_by == time(hours, minutes)
    if "retention" in data:
        assert outcome.retention.findings_days == data["retention"]["findings_days"]


EXAMPLE_LINES = EXAMPLE.read_text(encoding="utf-8").splitlines()


@st.composite
def mutated_examples(draw) -> str:
    """The example file with a few lines duplicated, dropped, re-valued, anchored/aliased."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["duplicate", "drop", "value", "alias", "indent"]))
        line = lines[i]
        if action == "duplicate":
            lines.insert(i + draw(st.integers(1, 3)), line)
        elif action == "drop":
            del lines[i]
        elif action == "value" and ": " in line:
            lines[i] = line.split(": ", 1)[0] + ": " + draw(SCALARS)
        elif action == "alias" and ": " in line:
            head, tail = line.split(": ", 1)
            lines[i] = f"{head}: &v {tail}" if draw(st.booleans()) else f"{head}: *v"
        elif action == "indent":
            lines[i] = "  " + line
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None)
@given(mutated_examples())
def test_a_mutated_example_loads_or_fails_in_one_line(text):
    _check_outcome(_load_text(text))


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=400) | st.binary(max_size=60).map(lambda b: EXAMPLE.read_bytes()[:2000] + b)
)
def test_random_bytes_load_or_fail_in_one_line(raw):
    _check_outcome(_load_text(raw))


# --- the commands ------------------------------------------------------------------------------

COMMANDS = [
    ("run", "--date", "2026-03-01", "--no-ingest"),
    ("report", "--date", "2026-03-01"),
    ("findings", "list"),
    ("erase", "--author", "u1", "--reason", "SAR-1"),
    ("check", "--input", "items.jsonl", "--output", "out.jsonl"),
    ("db", "upgrade"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A folder with a migrated warehouse holding a finding (tests/reliability/
    test_bad_input.py builds the same), for each example to copy."""
    from tests.reliability.test_bad_input import _template

    return _template(tmp_path_factory.mktemp("config-cli") / "template")


@st.composite
def bad_files(draw, home: Path) -> str:
    """A configuration that would write to `home` (its warehouse and report folder), made
    bad by one generated fault."""
    good = [f"warehouse_url: sqlite:///{home}/warehouse.db", f"report:\n  out_dir: {home}/reports"]
    fault = draw(st.sampled_from(["mutation", "section", "number"]))
    if fault == "mutation":
        text = draw(mutated_examples()).replace("warehouse_url: null", good[0])
        text = text.replace("out_dir: reports", f"out_dir: {home}/reports")
    elif fault == "section":
        text = "\n".join(good) + "\n" + draw(config_texts())
    else:
        path, number = draw(st.sampled_from(NUMERIC_KEYS)), draw(NUMBER_TEXT)
        text = (
            "\n".join(good[:1])
            + "\n"
            + "".join(f"{'  ' * i}{key}:\n" for i, key in enumerate(path[:-1]))
        )
        text += f"{'  ' * (len(path) - 1)}{path[-1]}: {number}\n"
    return text


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
    ],
)
@given(data=st.data(), command=st.sampled_from(COMMANDS))
def test_a_command_given_a_generated_bad_file_says_one_line_and_writes_nothing(
    template, data, command
):
    from tests.reliability.test_bad_input import state

    home = Path(tempfile.mkdtemp(prefix="case-", dir=template.parent))
    shutil.rmtree(home)
    shutil.copytree(template, home)
    text = data.draw(bad_files(home))
    (home / "bad.yml").write_text(text, encoding="utf-8")
    with contextlib.chdir(home):
        expected = _load_text_at(home / "bad.yml")
    assume(isinstance(expected, ConfigError))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHANNELWATCH_", "WAREHOUSE_URL", "AIRFLOW_CONN_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    before = state(home)
    done = subprocess.run(
        [sys.executable, "-m", "channelwatch", *command, "--config", "bad.yml"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [f"channelwatch: error: {expected}"], done.stderr
    assert state(home) == before, "the command wrote something"


def _load_text_at(path: Path):
    try:
        return load_settings(path.name)
    except ConfigError as exc:
        return exc
