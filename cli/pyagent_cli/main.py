"""Entry point of the ``pyagent`` command.

Exit codes (a contract scripts rely on): 0 ok, 2 bad input (one-line reason on stderr),
1 internal error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import version

from pyagent_providers import PyAgentError, UserError

__all__ = ["main"]

# Commands whose implementation has not landed yet, and what they are waiting for.
_PENDING = {
    "chat": "the chat handler has not been built yet",
    "serve": "the chat handler and its HTTP server have not been built yet",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyagent",
        description="Tiered customer-support agents with cost-aware model routing.",
    )
    parser.add_argument("--version", action="version", version=f"pyagent {version('pyagent')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run the seed 002 support system on its demo queries")
    route = commands.add_parser(
        "route",
        help="route one message (or a JSONL file) through guards, classification and tiers",
    )
    route.add_argument("text", nargs="?", help="the customer's message")
    route.add_argument("--file", help='JSONL, one {"id", "text"} object per line')
    route.add_argument("--json", action="store_true", help="one JSON object per message")
    profile = commands.add_parser("cost-profile", help="cost report for a traffic file")
    profile.add_argument("file", help='JSONL, one {"id", "text"[, "tier"]} object per line')
    profile.add_argument("--per-day", type=int, default=1000, help="queries per day")
    profile.add_argument("--json", action="store_true", help="the report as JSON")
    profile.add_argument("--chart", help="save a PNG chart to this path")
    profile.add_argument(
        "--classification",
        choices=("llm", "local"),
        default="llm",
        help="triage, routing and difficulty by LLM calls (default) or local embeddings",
    )
    calibrate = commands.add_parser(
        "calibrate", help="choose the handoff threshold from tier-labelled traffic"
    )
    calibrate.add_argument("file", help='JSONL, one {"text", "tier"} object per line')
    calibrate.add_argument(
        "--target-recall",
        type=float,
        default=0.9,
        help="share of hard (smart) messages the expensive tier must catch",
    )
    calibrate.add_argument("--json", action="store_true", help="the curve as JSON")
    calibrate.add_argument("--classification", choices=("llm", "local"), default="llm")
    commands.add_parser("chat", help="a multi-turn conversation in the terminal")
    serve = commands.add_parser("serve", help="serve the chat handler over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from pyagent_cookbook.customer_support import demo

    asyncio.run(demo())
    return 0


def _route(args: argparse.Namespace) -> int:
    from .route import route_command

    return asyncio.run(route_command(args.text, args.file, as_json=args.json))


def _cost_profile(args: argparse.Namespace) -> int:
    from .cost_profile import cost_profile_command

    return asyncio.run(
        cost_profile_command(
            args.file,
            per_day=args.per_day,
            as_json=args.json,
            chart=args.chart,
            classification=args.classification,
        )
    )


def _calibrate(args: argparse.Namespace) -> int:
    from .calibrate import calibrate_command

    return asyncio.run(
        calibrate_command(
            args.file,
            target_recall=args.target_recall,
            as_json=args.json,
            classification=args.classification,
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    missing = _PENDING.get(args.command)
    if missing:
        print(f"pyagent {args.command}: not available yet: {missing}.", file=sys.stderr)
        return 1
    try:
        commands = {
            "demo": _demo,
            "route": _route,
            "cost-profile": _cost_profile,
            "calibrate": _calibrate,
        }
        return commands[args.command](args)
    except PyAgentError as error:
        print(f"pyagent {args.command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, UserError) else 1


if __name__ == "__main__":
    sys.exit(main())
