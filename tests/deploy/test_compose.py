"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here):
the file parses, every service command exists in the image, every environment variable it
sets is one that channelwatch, Airflow or the service's image reads, and the image installs
the same pinned dependencies as `make venv`."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if "build" in s}
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Read by the official postgres image's entrypoint (https://hub.docker.com/_/postgres).
POSTGRES_IMAGE_VARS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def _env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_compose_runs_the_official_airflow_services_on_celery():
    assert {
        "postgres",
        "warehouse",
        "redis",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(SERVICES)
    assert set(OURS) >= {
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    }
    for name, service in OURS.items():
        env = _env(service)
        assert service["build"] == "."
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert "@warehouse:5432/" in env["WAREHOUSE_URL"]  # a separate PostgreSQL
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, (name, dependency)
    for name in (
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    ):
        assert (
            SERVICES[name]["depends_on"]["airflow-init"]["condition"]
            == "service_completed_successfully"
        )
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["warehouse"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")


def _commands():
    """Every argv run in our image: service commands and list-form health checks."""
    for name, service in OURS.items():
        yield name, service["command"]
        test = (service.get("healthcheck") or {}).get("test")
        if test and test[0] == "CMD":
            yield f"{name} healthcheck", test[1:]


@pytest.mark.parametrize("where,argv", list(_commands()), ids=lambda v: str(v)[:40])
def test_every_command_exists_in_the_image(where, argv, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert isinstance(argv, list) and argv, where
    program, args = argv[0], argv[1:]
    # The image installs the same lock as this environment: the same console scripts.
    assert (Path(sys.executable).parent / program).exists() or program == "python", argv
    if program == "airflow":
        from airflow.cli.cli_parser import get_parser

        parsed = get_parser().parse_args(args)  # SystemExit on an unknown command
        assert callable(parsed.func)
    elif program == "channelwatch":
        from channelwatch.cli import build_parser

        parsed = build_parser().parse_args(args)
        assert callable(parsed.func)
    elif program == "celery":
        app = args[args.index("--app") + 1]
        module, _, attr = app.rpartition(".")
        assert hasattr(__import__(module, fromlist=[attr]), attr)
        assert args[args.index("--app") + 2 :] == ["inspect", "ping"]
    elif program == "python":
        assert args[0] == "-c"
        compile(args[1], where, "exec")
    else:
        pytest.fail(f"{where}: unexpected program {program}")


def _reads(name: str) -> bool:
    """Whether the project's code reads the environment variable ``name``."""
    pattern = re.compile(
        r"""environ(?:\.get)?[\[(]\s*["']%s["']|getenv\(\s*["']%s["']""" % (name, name)
    )
    packages = ("kernel", "connectors", "checks", "channelwatch", "orchestration")
    return any(
        pattern.search(p.read_text()) for pkg in packages for p in (ROOT / pkg).rglob("*.py")
    )


def test_every_environment_variable_is_read_by_something():
    from airflow.configuration import conf

    conf.load_providers_configuration()
    options = {
        (section, key)
        for section, body in conf.configuration_description.items()
        for key in body.get("options", {})
    }
    from kernel.config import load_settings

    example = load_settings(ROOT / "channelwatch.example.yml")
    conn_ids = {a.conn_id for _, a in example.accounts.all()} | {
        example.privacy.pseudonym_conn_id,
        example.report.smtp_conn_id,
    }
    gx = Path(__import__("great_expectations").__file__).parent
    gx_reads = any("GX_ANALYTICS_ENABLED" in p.read_text(errors="ignore") for p in gx.rglob("*.py"))
    for name, service in SERVICES.items():
        for var in _env(service):
            if name in ("postgres", "warehouse"):
                assert var in POSTGRES_IMAGE_VARS, (name, var)
            elif var.startswith("AIRFLOW__"):
                section, key = var[len("AIRFLOW__") :].lower().split("__", 1)
                assert (section, key) in options, f"{name}: {var} is not an Airflow option"
            elif var.startswith("AIRFLOW_CONN_"):
                conn_id = var[len("AIRFLOW_CONN_") :].lower()
                assert conn_id in conn_ids, f"{name}: {var} names no configured connection"
            elif var == "GX_ANALYTICS_ENABLED":
                assert gx_reads
            else:
                assert _reads(var), f"{name}: nothing reads {var}"


def test_the_config_the_services_read_is_mounted_and_the_dags_are_in_the_image():
    assert re.search(r"^WORKDIR /opt/channelwatch$", DOCKERFILE, re.M)
    assert re.search(r"^COPY \. \.$", DOCKERFILE, re.M)
    for name, service in OURS.items():
        env = _env(service)
        mounts = {v.split(":")[1] for v in service.get("volumes", [])}
        assert env["CHANNELWATCH_CONFIG"] in mounts, name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/channelwatch/dags"
        assert "/opt/channelwatch/reports" in mounts  # report.out_dir "reports", shared
    assert (ROOT / "dags").is_dir() and (ROOT / "deploy" / "env.example").exists()
    # Every ${VAR} the file interpolates is documented in deploy/env.example.
    text = (ROOT / "docker-compose.yml").read_text()
    documented = set(
        re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / "deploy" / "env.example").read_text(), re.M)
    )
    assert set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text)) <= documented


def test_the_image_installs_the_same_pinned_lock_as_the_makefile():
    base = re.search(r"^FROM python:(\d+)\.(\d+)-slim$", DOCKERFILE, re.M)
    assert base, "the image is python:3.X-slim"
    assert (int(base.group(1)), int(base.group(2))) == sys.version_info[:2]
    installs = [shlex.split(line) for line in re.findall(r"pip install ([^\n\\&]+)", DOCKERFILE)]
    assert ["-r", "requirements.lock"] in installs
    assert ["--no-deps", "."] in installs
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install -q -r requirements\.lock", makefile)

    def norm(name: str) -> str:  # PEP 503
        return re.sub(r"[-_.]+", "-", re.sub(r"\[.*\]", "", name)).lower()

    lock = {
        norm(name): version
        for name, version in (
            line.split("==", 1)
            for line in (ROOT / "requirements.lock").read_text().split()
            if "==" in line
        )
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    pins = re.findall(r'"([A-Za-z0-9_.\[\]-]+)==([^"]+)"', pyproject)
    assert len(pins) > 10
    for name, version in pins:
        assert lock.get(norm(name)) == version, (name, version)
