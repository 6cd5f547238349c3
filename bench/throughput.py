"""Tickets through the support system under a client-side rate limit, against the fake server.

1,000 distinct Bitext customer messages go through ``SupportSystem.handle_query`` at
concurrency 50. The fake server (``tests/fakeapi``, in a child process so that neither its
threads nor its CPU time mix with ours) answers after 200 ms. Both tiers are ``OpenAILLM``
on that server with ``requests_per_second=20``: instances of one provider with the same
base URL and rate share one budget, so the whole system sends at most 20 requests/s.

``classification="local"``: triage, route and difficulty are decided by the embedding
classifiers, so each ticket makes exactly one model call (the answer, or the hand-off
summary when it is escalated). The fake server answers text but would need a scripted
structured reply for each LLM classification call, and with concurrent tickets a FIFO
script cannot be matched to the call that consumes it.

Reported:
- the request rate at three points, each as the mean count over consecutive whole 1 s
  windows from the first event and the maximum count in any sliding 1 s window (must not
  exceed 20): when the providers' shared limiter let each request start
  (``limiter_start_rate``), when the SDK handed it to the transport
  (``client_send_rate``, an httpx request hook) and when the server logged it
  (``server_rate``, the number the limit is about), with the send-to-arrival lag;
- end-to-end latency per ticket (p50/p95), from entering ``handle_query``, so waiting for
  the rate limiter is included: at 50 in flight and 20/s that is ~2.5 s by design;
- CPU ms per ticket (this process's CPU time, all threads, over the run / tickets);
- peak memory: ``ru_maxrss`` (includes the embedding model and Presidio) and its growth
  during the run; ``--tracemalloc`` adds the Python-heap peak (it slows the run down);
- every ticket answered exactly once: each id (``[ticket T0001]`` prefixed to the text)
  is checked in its reply and counted in the server's request log.

Why three rates: when the guards and classifiers ran in asyncio's default executor, the
event loop's ``getaddrinfo`` for each new HTTP connection queued behind 50 tickets'
Presidio and embedding jobs, and requests the limiter had let through one by one left
together (the server counted ~40-50 in one second). They now run in pools of their own
(``pyagent_providers.concurrency``, the guardrails' pool); ``--executor-threads N`` still
resizes the default executor for experiments. The run is also CPU-bound: at ~50 CPU ms
per ticket (mostly Presidio and embeddings, in one GIL), one process serves little more
than 20 tickets/s, so on a busy machine the achieved rate stays under the limit.

Timing depends on the machine; it is reported, never asserted.

    .venv/bin/python -m bench.throughput [--tickets 1000] [--concurrency 50]
        [--latency 0.2] [--rps 20] [--quick] [--tracemalloc] [--executor-threads N]
        [--data DIR]

With ``--workers 1,2,4 [--database postgres|sqlite]`` it measures ``pyagent serve
--workers N`` over HTTP instead (`bench.served`).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import csv
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` and `tests.fakeapi` live at the repo root
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedder loads from the installed package
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import openai  # noqa: E402

from bench._fakeserver import FakeServerProcess  # noqa: E402
from bench.served import run_served  # noqa: E402
from pyagent_cookbook.customer_support import Models, SupportSystem  # noqa: E402
from pyagent_providers import OpenAILLM, resilience  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets"
FAST, SMART = "gpt-4o-mini", "gpt-4.1"
TICKET_ID = re.compile(r"\[ticket (T\d{4,})\]")
FALLBACK_TEXTS = [
    "Where can I download the invoice for last month?",
    "How do I add two more seats to our team plan?",
    "The export to CSV keeps timing out on large projects",
    "Can I change the email address I sign in with?",
]


def _tickets(data: Path, count: int) -> dict[str, str]:
    """``{ticket id: text}``: distinct Bitext messages, each tagged with its id."""
    path = data / "bitext" / "customer_support_sample.csv"
    texts = FALLBACK_TEXTS
    if path.exists():
        with path.open(newline="", encoding="utf-8") as file:
            texts = list(dict.fromkeys(row["instruction"] for row in csv.DictReader(file)))
    return {
        f"T{i:04d}": f"[ticket T{i:04d}] {texts[(i - 1) % len(texts)]}" for i in range(1, count + 1)
    }


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _rate(arrivals: list[float], limit: float) -> dict[str, Any]:
    """The request rate seen by the server, from its arrival times (seconds)."""
    times = sorted(arrivals)
    if len(times) < 2:
        return {"requests": len(times)}
    first, span = times[0], times[-1] - times[0]
    whole = int(span)  # whole 1 s windows from the first arrival; the last partial one is cut
    per_window = Counter(int(t - first) for t in times if t - first < whole)
    window_rate = statistics.fmean(per_window.get(i, 0) for i in range(whole)) if whole else None
    # sliding windows [t_i, t_i + 1 s): a window starting at an arrival holds the maximum
    end, busiest = 0, 0
    for start, t in enumerate(times):
        while end < len(times) and times[end] < t + 1.0:
            end += 1
        busiest = max(busiest, end - start)
    return {
        "requests": len(times),
        "span_s": round(span, 3),
        "rate_rps": None if window_rate is None else round(window_rate, 3),
        "rate_over_span_rps": round((len(times) - 1) / span, 3),
        "max_in_any_1s_window": busiest,
        "limit_rps": limit,
        "within_5_percent": window_rate is not None and abs(window_rate - limit) <= 0.05 * limit,
        "never_above_limit": busiest <= limit,
    }


class _RecordingLimiter:
    """The providers' shared limiter, also noting when it lets each request start."""

    def __init__(self, inner: Any, starts: list[float]) -> None:
        self.inner = inner
        self.starts = starts

    async def __aenter__(self) -> None:
        await self.inner.__aenter__()
        self.starts.append(time.monotonic())

    async def __aexit__(self, *exc: object) -> None:
        await self.inner.__aexit__(*exc)


def _lag(sent: dict[str, float], log: list[dict[str, Any]]) -> dict[str, Any]:
    """Per ticket, from the client sending its request to the server logging it."""
    lags = [
        1000 * (entry["t"] - sent[match.group(1)])
        for entry in log
        if (match := TICKET_ID.search(entry["user"])) and match.group(1) in sent
    ]
    if not lags:
        return {}
    return {
        "p50": round(_quantile(lags, 0.5), 1),
        "p95": round(_quantile(lags, 0.95), 1),
        "max": round(max(lags), 1),
    }


def _system(
    api: FakeServerProcess, rps: float, sent: dict[str, float], starts: list[float]
) -> SupportSystem:
    # Put a recording limiter where the providers look theirs up (same key as
    # SDKProvider._throttle), so the bench sees the limiter's own decisions.
    key = (f"openai:{api.openai_base_url}", rps)
    limiter = resilience.shared_throttler(*key)
    resilience._throttlers[key] = _RecordingLimiter(limiter, starts)  # pyright: ignore[reportPrivateUsage]

    async def on_send(request: Any) -> None:
        # When the SDK hands the request to the transport: with the server's arrival time,
        # this tells a slow client (event loop starved of the GIL) from a slow server.
        if match := TICKET_ID.search(request.content.decode("utf-8", "replace")):
            sent[match.group(1)] = time.monotonic()

    client = openai.AsyncOpenAI(
        base_url=api.openai_base_url,
        api_key="bench-key",
        http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [on_send]}),
    )

    def llm(name: str) -> OpenAILLM:
        # Same provider, base URL and rate: both tiers draw on one 20/s budget.
        return OpenAILLM(name, base_url=api.openai_base_url, client=client, requests_per_second=rps)

    models = Models(
        fast=llm(FAST), smart=llm(SMART), fast_name=FAST, smart_name=SMART, backend="openai"
    )
    queue = Path(tempfile.mkdtemp(prefix="pyagent-bench-")) / "escalations.sqlite3"
    return SupportSystem(models, classification="local", queue_path=queue)


async def _run(
    system: SupportSystem, tickets: dict[str, str], concurrency: int
) -> tuple[dict[str, list[Any]], dict[str, float], Counter[str]]:
    """Answer every ticket; replies per id (a list, to catch duplicates), latency, errors."""
    slots = asyncio.Semaphore(concurrency)
    replies: dict[str, list[Any]] = {ticket: [] for ticket in tickets}
    latency: dict[str, float] = {}
    errors: Counter[str] = Counter()

    async def one(ticket: str, text: str) -> None:
        async with slots:
            started = time.perf_counter()
            try:
                reply = await system.handle_query(text, conversation_id=ticket)
            except Exception as error:  # a lost ticket: counted, and the run goes on
                errors[type(error).__name__] += 1
                return
            latency[ticket] = time.perf_counter() - started
            replies[ticket].append(reply)

    await asyncio.gather(*(one(ticket, text) for ticket, text in tickets.items()))
    return replies, latency, errors


async def _measure(
    api: FakeServerProcess, system: SupportSystem, tickets: dict[str, str], args: Any
) -> tuple[Any, ...]:
    # One event loop for warm-up and run: the SDK client's connection pool belongs to it.
    # Load Presidio and the embedding models before the clock starts; route() makes no
    # model call, so the server's log stays empty.
    if args.executor_threads:
        executor = concurrent.futures.ThreadPoolExecutor(args.executor_threads)
        asyncio.get_running_loop().set_default_executor(executor)
    await system.route("[ticket T0000] How do I update my card on file?")
    before = len(api.log())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    replies, latency, errors = await _run(system, tickets, args.concurrency)
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    heap_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    tracemalloc.stop()
    return replies, latency, errors, wall, cpu, rss_before, heap_peak, before


def _check(
    tickets: dict[str, str], replies: dict[str, list[Any]], log: list[dict[str, Any]]
) -> dict[str, Any]:
    """Each ticket answered exactly once, by a reply about it, from exactly one request."""
    answered = Counter({ticket: len(found) for ticket, found in replies.items()})
    mismatched, escalated, recovered = [], 0, 0
    for ticket, found in replies.items():
        for reply in found:
            tag = f"[ticket {ticket}]"
            # The fake server echoes the message, so a bot's answer carries the id; an
            # escalation answers with the queue's holding message instead.
            ok = tag in reply.redacted_text and (reply.escalated or tag in reply.response)
            if not ok:
                mismatched.append(ticket)
            escalated += reply.escalated
            recovered += reply.recovery_level > 0
    at_server = Counter(
        match.group(1) for entry in log if (match := TICKET_ID.search(entry["user"]))
    )
    return {
        "tickets": len(tickets),
        "lost": sorted(t for t in tickets if answered[t] == 0),
        "duplicated": sorted(t for t in tickets if answered[t] > 1),
        "reply_not_about_its_ticket": sorted(mismatched),
        "not_requested_at_server": sorted(t for t in tickets if at_server[t] == 0),
        "requested_more_than_once": sorted(t for t in tickets if at_server[t] > 1),
        "requests_without_ticket_id": sum(1 for e in log if not TICKET_ID.search(e["user"])),
        "escalated": escalated,
        "recovered_by_retry_or_fallback": recovered,
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2, help="fake server, seconds")
    parser.add_argument("--rps", type=float, default=20.0, help="client-side requests/s")
    parser.add_argument("--quick", action="store_true", help="60 tickets (~3 s of traffic)")
    parser.add_argument("--tracemalloc", action="store_true", help="Python-heap peak (slower)")
    parser.add_argument(
        "--executor-threads", type=int, help="size of the loop's default executor (see above)"
    )
    served = parser.add_argument_group("served: pyagent serve --workers N (bench/served.py)")
    served.add_argument("--workers", help="worker counts to measure, e.g. 1,2,4")
    served.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    served.add_argument("--messages", type=int, default=400)
    served.add_argument("--conversations", type=int, default=64)
    args, _ = parser.parse_known_args(argv)  # `python -m bench` passes one argv to all
    if args.workers:
        return run_served(
            [int(count) for count in args.workers.split(",")],
            database=args.database,
            messages=60 if args.quick else args.messages,
            concurrency=args.concurrency,
            conversations=args.conversations,
            latency=args.latency,
        )
    if args.quick:
        args.tickets = 60

    tickets = _tickets(args.data, args.tickets)
    with FakeServerProcess(latency=args.latency) as api:
        sent: dict[str, float] = {}
        starts: list[float] = []
        system = _system(api, args.rps, sent, starts)
        measured = asyncio.run(_measure(api, system, tickets, args))
        replies, latency, errors, wall, cpu, rss_before, heap_peak, before = measured
        log = api.log()[before:]
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    seconds = list(latency.values())
    return {
        "server": f"tests/fakeapi in a child process, latency {args.latency:g} s",
        "classification": "local",
        "tickets": args.tickets,
        "concurrency": args.concurrency,
        "executor_threads": args.executor_threads or "default",
        "wall_s": round(wall, 2),
        "tickets_per_s": round(len(seconds) / wall, 2),
        "server_rate": _rate([entry["t"] for entry in log], args.rps),
        "limiter_start_rate": _rate(starts, args.rps),
        "client_send_rate": _rate(list(sent.values()), args.rps),
        "send_to_arrival_ms": _lag(sent, log),
        "latency_s": {
            "p50": round(_quantile(seconds, 0.50), 3) if seconds else None,
            "p95": round(_quantile(seconds, 0.95), 3) if seconds else None,
            "max": round(max(seconds), 3) if seconds else None,
        },
        "cpu_ms_per_ticket": round(1000 * cpu / args.tickets, 2),
        "memory": {
            "ru_maxrss_mib": round(rss_peak / 1024, 1),
            "ru_maxrss_growth_during_run_mib": round((rss_peak - rss_before) / 1024, 1),
            "tracemalloc_peak_mib": None if heap_peak is None else round(heap_peak / 2**20, 1),
        },
        "errors": dict(errors),
        "integrity": _check(tickets, replies, log),
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],  # context for the noise in these numbers
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
