"""Entry point of the ``pyagent`` command.

Exit codes (a contract scripts rely on): 0 ok, 2 bad input (one-line reason on stderr),
1 internal error.

``--recipe NAME`` (before the command) chooses the support system that ``demo``,
``route``, ``cost-profile``, ``calibrate``, ``eval``, ``chat``, ``serve``, ``replay`` and
``queue approve|decline`` run (``demo --recipe NAME`` too, which wins): the name
of an entry point in group ``pyagent.recipes`` (``customer-support``, registered by the
cookbook) or a module path (default: ``pyagent_cookbook.customer_support``), e.g.
``pyagent --recipe my_company.support route "Where is my invoice?"``. A recipe is a
module shaped like the cookbook's (``SupportSystem``, ``chat_handler``,
``Classification``, ``demo``; `pyagent_cli.recipes` lists what each command reads). It is
imported only when such a command runs, after the arguments were checked; a name that
resolves to nothing, or a recipe missing what the command reads, exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from importlib.metadata import version

from pyagent_providers import PyAgentError, UserError
from pyagent_providers.logs import configure_logging

from .recipes import DEFAULT_RECIPE, ENTRY_POINT_GROUP

__all__ = ["main"]

CLASSIFICATIONS = ("auto", "local", "cascade", "llm")
QUEUE_ACTIONS = (
    *("list", "show", "claim", "reply", "hand-back"),
    *("send", "edit", "approve", "decline"),  # held drafts, tool calls awaiting approval
)
AUDIT_KINDS = ("decision", "tool_call", "reply", "human_action")
CLASSIFICATION_HELP = (
    "how triage decides: local classifiers, cascade (local where confident, else one LLM call "
    "with the 8 nearest labelled tickets), llm (every signal by that call); auto = cascade "
    "with API keys, local without"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyagent",
        description="Tiered customer-support agents with cost-aware model routing.",
    )
    parser.add_argument("--version", action="version", version=f"pyagent {version('pyagent')}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what happens (INFO); PYAGENT_LOG_LEVEL=DEBUG|INFO|WARNING|ERROR overrides",
    )
    parser.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        metavar="NAME",
        help=f"the support system the commands run: an entry point in group {ENTRY_POINT_GROUP} "
        "(e.g. customer-support) or a module path (default: %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_decision_commands(commands.add_parser)
    _add_conversation_commands(commands.add_parser)
    _add_review_commands(commands.add_parser)
    return parser


def _add_decision_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """demo, route, cost-profile, calibrate and eval: the recipe's decisions, measured."""
    demo = add("demo", help="run the seed 002 support system on its demo queries")
    demo.add_argument(
        "--recipe",
        default=argparse.SUPPRESS,  # unset: the global --recipe
        metavar="NAME",
        help="the support system to run (as the global --recipe; this one wins)",
    )
    route = add(
        "route",
        help="route one message (or a JSONL file) through guards, classification and tiers",
    )
    route.add_argument("text", nargs="?", help="the customer's message")
    route.add_argument("--file", help='JSONL, one {"id", "text"} object per line')
    route.add_argument("--json", action="store_true", help="one JSON object per message")
    route.add_argument(
        "--classification", choices=CLASSIFICATIONS, default="auto", help=CLASSIFICATION_HELP
    )
    profile = add("cost-profile", help="cost report for a traffic file")
    profile.add_argument("file", help='JSONL, one {"id", "text"[, "tier"]} object per line')
    profile.add_argument("--per-day", type=int, default=1000, help="queries per day")
    profile.add_argument("--json", action="store_true", help="the report as JSON")
    profile.add_argument("--chart", help="save a PNG chart to this path")
    profile.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default="auto",
        help=CLASSIFICATION_HELP,
    )
    calibrate = add("calibrate", help="choose the handoff threshold from tier-labelled traffic")
    calibrate.add_argument("file", help='JSONL, one {"text", "tier"} object per line')
    calibrate.add_argument(
        "--target-recall",
        type=float,
        default=0.9,
        help="share of hard (smart) messages the expensive tier must catch",
    )
    calibrate.add_argument("--json", action="store_true", help="the curve as JSON")
    calibrate.add_argument("--classification", choices=CLASSIFICATIONS, default="auto")
    evaluate = add(
        "eval", help="measure the decisions on labelled tickets or conversations (JSONL)"
    )
    evaluate.add_argument("file", help="tickets or conversations, labelled by LABELS.md")
    evaluate.add_argument("--json", action="store_true", help="the report as JSON")
    evaluate.add_argument(
        "--baseline",
        metavar="PREVIOUS.json",
        help="a previous `eval --json` report of the same file: list the decisions that changed",
    )
    evaluate.add_argument(
        "--classification", choices=CLASSIFICATIONS, default="auto", help=CLASSIFICATION_HELP
    )


def _add_conversation_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """chat, queue, serve and token: conversations with customers and the human queue."""
    chat = add("chat", help="a multi-turn conversation in the terminal")
    chat.add_argument("--conversation", help="continue this conversation id")
    chat.add_argument("--store", help="the conversations' SQLite file")
    chat.add_argument("--classification", choices=CLASSIFICATIONS, default="auto")
    queue = add(
        "queue",
        help="the human queue: list, show, claim, reply, hand back; send or edit held drafts; "
        "approve or decline tool calls",
        description="The human queue. send: send the held draft as it is; edit ID TEXT: send "
        "TEXT instead; approve/decline: decide the tool call the turn waits on (the turn "
        "resumes with the recipe's system, which is loaded for that).",
    )
    queue.add_argument("action", choices=QUEUE_ACTIONS)
    queue.add_argument("conversation", nargs="?", help="the conversation id")
    queue.add_argument("text", nargs="?", help="the text to send (for reply and edit)")
    queue.add_argument("--agent", help="your name (default: the login name)")
    queue.add_argument("--note", default="", help="why (approve, decline; kept in the audit)")
    queue.add_argument("--store", help="the conversations' SQLite file")
    queue.add_argument("--json", action="store_true")
    queue.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default="auto",
        help="triage of the resumed turn (approve, decline)",
    )
    serve = add(
        "serve",
        help="serve the chat handler over HTTP (docs at /docs)",
        description="Serve the chat handler over HTTP and SSE. Environment: "
        "PYAGENT_CUSTOMER_SECRET (required; the key of customer tokens, hex or text), "
        "PYAGENT_AGENT_TOKENS (name=token,name2=token2: who may use the human queue) and "
        "PYAGENT_WEBHOOK_SECRET (optional; the key of the ticket webhook's signatures).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (SQLite works; PYAGENT_DATABASE_URL is the way to scale)",
    )
    serve.add_argument(
        "--store", help="the conversations' SQLite file ($PYAGENT_DATA_DIR/conversations.sqlite3)"
    )
    serve.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default="auto",
        help=CLASSIFICATION_HELP,
    )
    token = add(
        "token",
        help="print a customer's bearer token for `pyagent serve`",
        description="Print the bearer token of a customer, signed with PYAGENT_CUSTOMER_SECRET "
        "(the embedding service normally issues these with issue_customer_token).",
    )
    token.add_argument("user_id", help="the customer's id")
    worker = add(
        "worker",
        help="process queued webhook tickets (PostgreSQL task queue; PYAGENT_DATABASE_URL)",
    )
    worker.add_argument("--concurrency", type=int, default=4, help="tickets processed at once")
    worker.add_argument("--classification", choices=CLASSIFICATIONS, default="auto")
    db = add("db", help="the PostgreSQL schema (PYAGENT_DATABASE_URL): upgrade, current")
    db.add_argument("action", choices=("upgrade", "current"))


def _add_review_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Audit and replay: what the turns decided and did, and what they would do now."""
    audit = add(
        "audit",
        help="the audit trail: decisions, tool calls, replies, people's actions",
        description="Print the store's audit events, oldest first (redacted: no raw PII).",
    )
    audit.add_argument("--conversation", metavar="ID", help="only this conversation")
    audit.add_argument(
        "--since", metavar="T", help="from this ISO date/time (UTC) or age (30m, 24h, 7d) on"
    )
    audit.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help='FIELD OP VALUE, e.g. "confidence<0.9" or "tool=issue_refund"; repeatable (AND)',
    )
    audit.add_argument(
        "--kind", action="append", default=[], choices=AUDIT_KINDS, help="repeatable"
    )
    audit.add_argument("--limit", type=int, default=1000, help="at most N events")
    audit.add_argument("--store", help="the conversations' SQLite file")
    audit.add_argument("--json", action="store_true", help="a JSON array of the events")
    replay = add(
        "replay",
        help="run a stored turn again as a dry run: what it did then beside what it does now",
        description="Replay a stored turn (a conversation's latest customer message, "
        "--message ID, or the turn a case ESC-… is about) with the recipe's system: no tool "
        "with a side effect runs, no case opens, nothing is stored; the models are called.",
    )
    replay.add_argument("conversation", help="the conversation id, or a case id (ESC-000123)")
    replay.add_argument("--message", metavar="ID", help="the customer message id to replay")
    replay.add_argument("--store", help="the conversations' SQLite file")
    replay.add_argument("--json", action="store_true", help="then and now as JSON")
    replay.add_argument(
        "--classification", choices=CLASSIFICATIONS, default="auto", help=CLASSIFICATION_HELP
    )


def _demo(args: argparse.Namespace) -> int:
    from .recipes import load_recipe

    asyncio.run(load_recipe(args.recipe, "demo").demo())
    return 0


def _route(args: argparse.Namespace) -> int:
    from .route import route_command

    return asyncio.run(
        route_command(
            args.text,
            args.file,
            as_json=args.json,
            classification=args.classification,
            recipe=args.recipe,
        )
    )


def _cost_profile(args: argparse.Namespace) -> int:
    from .cost_profile import cost_profile_command

    return asyncio.run(
        cost_profile_command(
            args.file,
            per_day=args.per_day,
            as_json=args.json,
            chart=args.chart,
            classification=args.classification,
            recipe=args.recipe,
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
            recipe=args.recipe,
        )
    )


def _eval(args: argparse.Namespace) -> int:
    from .evaluate import eval_command

    return asyncio.run(
        eval_command(
            args.file,
            as_json=args.json,
            classification=args.classification,
            recipe=args.recipe,
            baseline=args.baseline,
        )
    )


def _chat(args: argparse.Namespace) -> int:
    from .chat import chat_command

    return asyncio.run(
        chat_command(
            store=args.store,
            conversation_id=args.conversation,
            classification=args.classification,
            recipe=args.recipe,
        )
    )


def _queue(args: argparse.Namespace) -> int:
    from .handoff import queue_command

    return asyncio.run(
        queue_command(
            args.action,
            args.conversation,
            args.text,
            store=args.store,
            agent=args.agent,
            as_json=args.json,
            note=args.note,
            recipe=args.recipe,
            classification=args.classification,
        )
    )


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve_command

    return serve_command(
        host=args.host,
        port=args.port,
        workers=args.workers,
        store=args.store,
        classification=args.classification,
        recipe=args.recipe,
    )


def _worker(args: argparse.Namespace) -> int:
    from .worker import worker_command

    return worker_command(
        concurrency=args.concurrency, classification=args.classification, recipe=args.recipe
    )


def _db(args: argparse.Namespace) -> int:
    from .db import db_command

    return db_command(args.action)


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_command

    return asyncio.run(
        audit_command(
            conversation=args.conversation,
            since=args.since,
            where=args.where,
            kinds=args.kind,
            limit=args.limit,
            store=args.store,
            as_json=args.json,
        )
    )


def _replay(args: argparse.Namespace) -> int:
    from .replay import replay_command

    return asyncio.run(
        replay_command(
            args.conversation,
            message_id=args.message,
            store=args.store,
            as_json=args.json,
            classification=args.classification,
            recipe=args.recipe,
        )
    )


def _token(args: argparse.Namespace) -> int:
    from .serve import token_command

    return token_command(args.user_id)


def _check_input(args: argparse.Namespace) -> None:
    """Refuse bad arguments and malformed files before loading any model (~2-10 s)."""
    from .traffic import read_traffic

    if args.command == "route" and (args.text is None) == (args.file is None):
        raise UserError("give either TEXT or --file F.jsonl")
    file: str | None = getattr(args, "file", None)
    if file is None:
        return
    if args.command in ("route", "cost-profile", "calibrate"):
        read_traffic(file)
    elif args.command == "eval":
        from pyagent_cookbook.labelled import read_labelled

        read_labelled(file)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        configure_logging(verbose=args.verbose)
    except ValueError as error:
        print(f"pyagent: {error}", file=sys.stderr)
        return 2
    try:
        _check_input(args)
        commands = {
            "demo": _demo,
            "route": _route,
            "cost-profile": _cost_profile,
            "calibrate": _calibrate,
            "eval": _eval,
            "chat": _chat,
            "queue": _queue,
            "serve": _serve,
            "token": _token,
            "worker": _worker,
            "db": _db,
            "audit": _audit,
            "replay": _replay,
        }
        return commands[args.command](args)
    except PyAgentError as error:
        print(f"pyagent {args.command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, UserError) else 1
    except KeyboardInterrupt:  # Ctrl-C: one line, not two tracebacks
        print(f"pyagent {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
