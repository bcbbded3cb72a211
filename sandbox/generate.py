"""`channelwatch sandbox generate`: a realistic synthetic data set for all four platforms.

The platform-neutral story comes from sandbox.scenario; each platform module
renders its threads as native API objects (see docs/sandbox.md for the file formats).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sandbox.scenario import DEFAULT_ACCOUNTS, PLATFORMS, Thread, generate_threads

RENDERERS = {
    "facebook": "sandbox.graph",
    "instagram": "sandbox.graph",
    "youtube": "sandbox.youtube",
    "twitter": "sandbox.twitter",
}


def available_platforms() -> tuple[str, ...]:
    """Platforms whose sandbox module is installed."""
    out = []
    for platform in PLATFORMS:
        try:
            module = importlib.import_module(RENDERERS[platform])
        except ModuleNotFoundError:
            continue
        if hasattr(module, "render"):
            out.append(platform)
    return tuple(out)


def generate(
    out_dir: str | Path,
    days: int,
    per_day: int,
    seed: int = 0,
    end: datetime | None = None,
    platforms: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write `days` days of data ending at `end` (default now) into out_dir.

    Returns the number of native objects written per file, e.g. {"facebook/posts": 12}.
    Also writes out_dir/manifest.json (accounts, seed, days, counts) and
    out_dir/labels.jsonl (what each message was meant to be, for tests and benches).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    platforms = platforms or available_platforms()
    threads = generate_threads(days, per_day, seed=seed, end=end, platforms=platforms)
    counts: dict[str, int] = {}
    done_modules: set[str] = set()
    for platform in platforms:
        module_name = RENDERERS[platform]
        if module_name in done_modules:
            continue
        done_modules.add(module_name)
        module = importlib.import_module(module_name)
        mine = [t for t in threads if RENDERERS[t.platform] == module_name]
        if progress:
            progress(f"rendering {len(mine)} threads with {module_name.rsplit('.', 1)[1]}")
        counts.update(module.render(mine, out_dir))
    _write_labels(threads, out_dir)
    manifest = {
        "seed": seed,
        "days": days,
        "per_day": per_day,
        "end": (end.isoformat() if end else None),
        "accounts": {
            p: {"id": a[0], "handle": a[1], "name": a[2]}
            for p, a in DEFAULT_ACCOUNTS.items()
            if p in platforms
        },
        "counts": counts,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return counts


def _write_labels(threads: list[Thread], out_dir: Path) -> None:
    with (out_dir / "labels.jsonl").open("w", encoding="utf-8") as handle:
        for thread in threads:
            for message in thread.messages():
                handle.write(
                    json.dumps(
                        {
                            "platform": thread.platform,
                            "key": message.key,
                            "label": message.label,
                            "is_own": message.is_own,
                            "created_at": message.created_at.isoformat(),
                            "deleted_at": message.deleted_at.isoformat()
                            if message.deleted_at
                            else None,
                            "edited": bool(message.edits),
                        }
                    )
                    + "\n"
                )
