"""Schema migrations (Alembic) and the analyst views in sql/views/.

`upgrade(engine)` brings an empty or older warehouse to the current schema, then
(re)creates every view, so views always match the tables they read.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
VIEWS_DIR = SQL_DIR / "views"


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def view_files() -> list[Path]:
    """The view definitions, in the order their file names give (views may use earlier ones)."""
    return sorted(VIEWS_DIR.glob("*.sql"))


def _statements(sql: str, dialect: str) -> list[str]:
    # A view file is portable SQL. Where a dialect needs its own spelling, a file holds
    # blocks fenced by "-- dialect: sqlite" / "-- dialect: postgresql" / "-- dialect: end".
    out, keep = [], True
    for line in sql.splitlines():
        marker = re.match(r"\s*--\s*dialect:\s*(\w+)", line)
        if marker:
            name = marker.group(1)
            keep = name == "end" or name == dialect
            continue
        if keep:
            out.append(line)
    return [s.strip() for s in "\n".join(out).split(";\n") if s.strip().strip(";").strip()]


def create_views(engine: Engine) -> list[str]:
    """Drop and create every view in sql/views/; returns their names."""
    names = []
    with engine.begin() as conn:
        files = view_files()
        for path in reversed(files):
            name = path.stem.split("_", 1)[1] if path.stem[:2].isdigit() else path.stem
            conn.execute(text(f"drop view if exists {name}"))
        for path in files:
            name = path.stem.split("_", 1)[1] if path.stem[:2].isdigit() else path.stem
            body = path.read_text(encoding="utf-8")
            for statement in _statements(body, engine.dialect.name):
                conn.execute(text(f"create view {name} as\n{statement.rstrip(';')}"))
            names.append(name)
    return names


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the warehouse to `revision` and recreate the analyst views."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    create_views(engine)
