"""`channelwatch sandbox serve|generate`: the local stand-in for the four platforms' APIs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kernel.errors import UserError
from kernel.items import ItemError, parse_timestamp


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="serve or generate the local API sandbox",
        description="A local HTTP server that speaks the Graph API (Facebook, Instagram), the "
        "YouTube Data API v3 and the X API v2 closely enough for the unchanged "
        "connectors, serving native objects from a data directory.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    serve = verbs.add_parser(
        "serve",
        help="serve a data directory over HTTP",
        description="Serve DIR until interrupted. Faults can be switched "
        "on with --faults or POST /__sandbox/faults.",
    )
    serve.add_argument("--data", required=True, metavar="DIR", help="data directory to serve")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument(
        "--faults",
        metavar="FILE",
        help='JSON list of faults, e.g. [{"endpoint": "youtube.*", "fault": "429"}]',
    )
    serve.set_defaults(func=_serve)

    gen = verbs.add_parser(
        "generate",
        help="write a synthetic data set for all platforms",
        description="Write N days of realistic threads: council posts, "
        "public comments and replies, the council's replies "
        "(prompt, late, missing), edits, deletions, and examples "
        "of everything the compliance checks look for.",
    )
    gen.add_argument("--out", required=True, metavar="DIR", help="directory to write")
    gen.add_argument("--days", type=int, default=7, help="days of activity (default 7)")
    gen.add_argument(
        "--per-day", type=int, default=40, help="public items per platform per day (default 40)"
    )
    gen.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gen.add_argument("--end", metavar="ISO-8601", help="end of the period (default now)")
    gen.set_defaults(func=_generate)


def _serve(args: argparse.Namespace) -> int:
    from sandbox import server

    data = Path(args.data)
    if not data.is_dir():
        raise UserError(f"--data {data}: not a directory")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: must be 0-65535")
    faults = []
    if args.faults:
        try:
            faults = json.loads(Path(args.faults).read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"--faults {args.faults}: {exc}") from None
        if isinstance(faults, dict):  # one fault, as POST /__sandbox/faults accepts it
            faults = [faults]
        if not isinstance(faults, list):
            raise UserError(
                f"--faults {args.faults}: must be a JSON list of faults, e.g. "
                '[{"endpoint": "youtube.*", "fault": "429"}]'
            )

    def ready(url: str) -> None:
        print(f"sandbox serving {data} at {url}", flush=True)

    try:
        server.serve_forever(data, args.host, args.port, ready=ready, faults=faults)
    except ValueError as exc:
        raise UserError(f"--faults: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0


def _generate(args: argparse.Namespace) -> int:
    from sandbox.generate import generate

    if args.days < 1 or args.days > 3650:
        raise UserError(f"--days {args.days}: must be 1-3650")
    if args.per_day < 1:
        raise UserError(f"--per-day {args.per_day}: must be at least 1")
    end = None
    if args.end:
        try:
            end = parse_timestamp(args.end, "--end")
        except ItemError as exc:
            raise UserError(str(exc)) from None
    counts = generate(
        args.out,
        args.days,
        args.per_day,
        seed=args.seed,
        end=end,
        progress=lambda msg: print(msg, file=sys.stderr),
    )
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}")
    print(f"wrote {sum(counts.values())} objects to {args.out}")
    return 0
