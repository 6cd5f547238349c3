"""Time our stack adds to one model call, against the local fake server at zero latency.

Four layers answer the same requests from ``tests/fakeapi`` (127.0.0.1, no added latency,
so what is left is HTTP on loopback plus our code):

    raw       the ``openai`` SDK itself: ``AsyncOpenAI(base_url=fake, max_retries=0)``
    provider  ``OpenAILLM`` on the same endpoint (retry policy, timeout, response mapping)
    router    an ``Agent`` on that ``OpenAILLM``, wrapped by ``RouterMiddleware`` (tier choice,
              pre-call cost estimate, circuit breaker, cost tracking, metadata)
    system    the cookbook ``SupportSystem.handle_query`` with ``classification="local"``:
              length + PII guards (Presidio), triage, route and difficulty by the embedding
              classifiers, then one answer from the fake server. What is fair here: the
              fake server answers text but not the structured triage/route/difficulty calls
              of ``classification="llm"`` unless each is scripted, so the local
              classifiers decide and only the answer is an HTTP call -- exactly one per
              query, like the raw SDK. Queries are distinct Bitext customer messages (no
              escalation keywords expected, but the classifier may still escalate: then
              the one call is the hand-off summary), so no embedding cache flatters it.
              ``route()`` (the same decisions, no model call) is timed too.
    litellm   for comparison, ``litellm.Router`` with one deployment ``openai/gpt-4o-mini``
              on the same endpoint, called as ``await router.acompletion(model=...,
              messages=[...])`` (``num_retries=0``; its own HTTP client, aiohttp by
              default). Installed only for the benchmark: ``pip install -e ".[bench]"``;
              without it the layer is skipped with a note in the JSON. It runs offline:
              the bundled cost map (``LITELLM_LOCAL_MODEL_COST_MAP``,
              ``LITELLM_OFFLINE_MODE``), no callbacks, telemetry off.

raw, provider, router (and litellm) are timed interleaved, in a rotating order, one call
each per round, so machine noise falls on all of them alike. Reported per layer: absolute
latency p50/p99 and the **added** microseconds = quantile(layer) - quantile(raw) at p50 and p99;
the same for the event-loop thread's CPU time per call (``client_cpu``: the server runs
in a child process, so this is our side only, and other load on the machine inflates it
far less than wall-clock time); and ``middleware_in_process``, a routed vs a bare Agent
on a model that answers at once (no HTTP at all: the middleware's own cost, with warm
caches, so lower than what it adds between real HTTP calls).
The issue's targets: router overhead p50 <= 0.3 ms per call, and the router's added p50
<= 0.05x that of ``litellm.Router`` against the same fake server. Under ``"litellm"`` the
JSON has that layer's latency and client CPU (added over raw, like the others) and
``router_added_p50_us / litellm_added_p50_us`` for wall-clock and client CPU, overall and
over ``--blocks`` consecutive blocks of rounds (min/median/max: the spread).
Timing is reported, never asserted; on a busy machine re-run it.

    pip install -e ".[bench]"   # litellm, for the comparison layer (optional)
    .venv/bin/python -m bench.overhead [--iterations 2000] [--system-iterations 200]
        [--blocks 5] [--quick] [--profile provider|router|litellm|system] [--data DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import importlib.metadata
import io
import itertools
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if (
    str(ROOT) not in sys.path
):  # `bench` and `tests.fakeapi` live at the repo root, outside the packages
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedder loads from the installed package
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# LiteLLM (the comparison layer) offline: its bundled cost map, no fetches of its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

import openai  # noqa: E402

from bench._fakeserver import FakeServerProcess  # noqa: E402
from pyagent_patterns import Agent  # noqa: E402
from pyagent_providers import (  # noqa: E402
    ModelRequest,
    ModelResponse,
    OpenAILLM,
    StreamEnd,
    StreamEvent,
    Usage,
)
from pyagent_router import RouterMiddleware  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets"
MODEL = "gpt-4o-mini"
API_KEY = "bench-key"
TARGET_ROUTER_P50_US = 300.0
TARGET_RATIO_TO_LITELLM = 0.05  # router added p50 / litellm.Router added p50
LITELLM_MISSING = 'litellm is not installed; `pip install -e ".[bench]"` adds this layer'
FALLBACK_QUERIES = [
    "Where can I download the invoice for last month?",
    "How do I add two more seats to our team plan?",
    "The export to CSV keeps timing out on large projects",
    "Can I change the email address I sign in with?",
]

Call = Callable[[str], Awaitable[Any]]


def _queries(data: Path, limit: int) -> list[str]:
    """Distinct Bitext customer messages (the cookbook's fallbacks without the dataset)."""
    path = data / "bitext" / "customer_support_sample.csv"
    if not path.exists():
        return FALLBACK_QUERIES
    with path.open(newline="", encoding="utf-8") as file:
        texts = list(dict.fromkeys(row["instruction"] for row in csv.DictReader(file)))
    return texts[:limit]


def _quantile(samples: list[float], q: float) -> float:
    """Nearest-rank quantile (p99 of 2,000 samples is the 20th slowest)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _summary(samples_us: list[float], raw_us: list[float] | None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "calls": len(samples_us),
        "p50_us": round(_quantile(samples_us, 0.50), 1),
        "p99_us": round(_quantile(samples_us, 0.99), 1),
    }
    if raw_us is not None:
        summary["added_p50_us"] = round(summary["p50_us"] - _quantile(raw_us, 0.50), 1)
        summary["added_p99_us"] = round(summary["p99_us"] - _quantile(raw_us, 0.99), 1)
    return summary


def _added_p50(samples: list[float], raw: list[float]) -> float:
    return _quantile(samples, 0.50) - _quantile(raw, 0.50)


def _ratio(router: float, litellm: float) -> float | None:
    """router / litellm added p50; None when litellm adds nothing measurable."""
    return round(router / litellm, 4) if litellm > 0 else None


def _ratio_to_litellm(samples: dict[str, list[float]], blocks: int) -> dict[str, Any]:
    """``router_added_p50 / litellm_added_p50``, overall and per block of consecutive rounds.

    Every layer has one sample per round, in round order, so a block is the same slice of
    each list: the per-block ratios show how much the one overall number can move.
    """
    raw, router, litellm = samples["raw"], samples["router"], samples["litellm"]
    router_added, litellm_added = _added_p50(router, raw), _added_p50(litellm, raw)
    size = len(raw) // blocks if blocks > 0 else 0
    per_block = [
        _ratio(
            _added_p50(router[b * size : (b + 1) * size], raw[b * size : (b + 1) * size]),
            _added_p50(litellm[b * size : (b + 1) * size], raw[b * size : (b + 1) * size]),
        )
        for b in range(blocks if size else 0)
    ]
    ratios = [r for r in per_block if r is not None]
    result: dict[str, Any] = {
        "router_added_p50_us": round(router_added, 1),
        "litellm_added_p50_us": round(litellm_added, 1),
        "ratio_p50": _ratio(router_added, litellm_added),
        "blocks": {"count": len(per_block), "rounds_each": size, "ratios": per_block},
    }
    if ratios:
        result["blocks"].update(
            min=min(ratios), median=round(statistics.median(ratios), 4), max=max(ratios)
        )
    return result


async def _time(call: Call, text: str) -> float:
    started = time.perf_counter_ns()
    await call(text)
    return (time.perf_counter_ns() - started) / 1000


def _litellm_layer(api: FakeServerProcess) -> Call | str:
    """``litellm.Router`` on the fake server, or why it is skipped (not installed)."""
    try:
        import litellm
        from litellm.router import Router
    except ImportError as error:
        return f"{LITELLM_MISSING} ({error})"
    litellm.suppress_debug_info = True
    litellm.callbacks = []
    litellm.success_callback = []
    litellm.failure_callback = []
    # The documented telemetry opt-out; this release has no telemetry attribute left.
    litellm.telemetry = False  # pyright: ignore[reportAttributeAccessIssue]
    router = Router(
        model_list=[
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": api.openai_base_url,
                    "api_key": API_KEY,
                },
            }
        ],
        num_retries=0,
        timeout=60.0,
    )

    async def call(text: str) -> Any:
        return await router.acompletion(model=MODEL, messages=[{"role": "user", "content": text}])

    return call


def _layers(api: FakeServerProcess) -> dict[str, Call]:
    """The three HTTP-level layers, each with its own client (and connection pool)."""
    raw_client = openai.AsyncOpenAI(base_url=api.openai_base_url, api_key=API_KEY, max_retries=0)

    async def raw(text: str) -> Any:
        return await raw_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], timeout=60.0
        )

    llm = OpenAILLM(MODEL, base_url=api.openai_base_url, api_key=API_KEY)
    provider_agent = Agent("bench", llm)
    # A separate provider instance for the router, so the two layers share no state.
    routed_llm = OpenAILLM(MODEL, base_url=api.openai_base_url, api_key=API_KEY)
    routed = RouterMiddleware({MODEL: routed_llm}).wrap(Agent("bench", routed_llm))

    async def provider(text: str) -> Any:
        # Agent.run on the bare provider is the same request the router's agent makes;
        # the difference between "provider" and "router" is then the middleware alone.
        return await provider_agent.run(text)

    async def router(text: str) -> Any:
        return await routed.run(text)

    return {"raw": raw, "provider": provider, "router": router}


async def _settle(before: set[asyncio.Task[Any]]) -> None:
    """Wait for the tasks started since `before` (and those they start) to finish.

    A task still running after a second is long-lived (a worker loop started by the first
    call): it is left running and not waited for again.
    """
    skip = {*before, asyncio.current_task()}
    while pending := [task for task in asyncio.all_tasks() if task not in skip]:
        _, still_running = await asyncio.wait(pending, timeout=1.0)
        skip.update(still_running)


async def _measure_layers(
    layers: dict[str, Call], queries: list[str], iterations: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and client-thread CPU microseconds per call, per layer.

    The CPU time of the event-loop thread counts only the client's work (the fake server
    runs in its own threads), and other processes on the machine inflate it far less
    than they inflate wall-clock time: it is the steadier measure of what a layer adds.

    Tasks a call leaves on the loop (LiteLLM's logging worker: ~0.7 ms of CPU per call,
    even with no callbacks) are run to completion after it: their CPU counts for the
    layer that left them, not for whichever layer is timed next (the rotation keeps the
    cyclic order, so that would always be the same one). Wall-clock time is the call
    alone, the latency its caller sees.
    """
    names = list(layers)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for i in range(warmup + iterations):
        text = queries[i % len(queries)]
        shift = i % len(names)  # rotate who goes first: no layer always gets a warm socket
        for name in names[shift:] + names[:shift]:
            before = asyncio.all_tasks()
            cpu_started = time.thread_time_ns()
            elapsed = await _time(layers[name], text)
            await _settle(before)
            if i >= warmup:
                wall[name].append(elapsed)
                cpu[name].append((time.thread_time_ns() - cpu_started) / 1000)
    return wall, cpu


class _InstantLLM:
    """Answers at once with a fixed response: isolates our code from HTTP and its noise."""

    model = MODEL
    model_id = f"openai:{MODEL}"  # a priced id, so the router's cost estimate really runs

    def __init__(self) -> None:
        self.response = ModelResponse(
            text="ok", usage=Usage(input_tokens=10, output_tokens=5), model=MODEL, provider="openai"
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self.response

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEnd(self.response)


async def _measure_in_process(queries: list[str], iterations: int) -> dict[str, Any]:
    """The middleware's own cost: a routed vs a bare Agent on a model that answers at once."""
    llm = _InstantLLM()
    bare = Agent("bench", llm)
    routed = RouterMiddleware({MODEL: llm}).wrap(Agent("bench", llm))
    samples: dict[str, list[float]] = {"agent": [], "routed_agent": []}
    for i in range(iterations + iterations // 10):
        text = queries[i % len(queries)]
        for name, agent in (("agent", bare), ("routed_agent", routed)):
            elapsed = await _time(agent.run, text)
            if i >= iterations // 10:
                samples[name].append(elapsed)
    agent = _summary(samples["agent"], None)
    routed_summary = _summary(samples["routed_agent"], samples["agent"])
    return {"agent": agent, "routed_agent": routed_summary}


def _support_system(api: FakeServerProcess) -> Any:
    from pyagent_cookbook.customer_support import Models, SupportSystem

    def llm(name: str) -> OpenAILLM:
        return OpenAILLM(name, base_url=api.openai_base_url, api_key=API_KEY)

    models = Models(
        fast=llm(MODEL),
        smart=llm("gpt-4.1"),
        fast_name=MODEL,
        smart_name="gpt-4.1",
        backend="openai",
    )
    queue = Path(tempfile.mkdtemp(prefix="pyagent-bench-")) / "escalations.sqlite3"
    return SupportSystem(models, classification="local", queue_path=queue)


async def _measure_system(
    api: FakeServerProcess, raw: Call, queries: list[str], iterations: int, warmup: int
) -> dict[str, Any]:
    system = _support_system(api)
    texts = itertools.cycle(queries)  # distinct unless the dataset is missing
    for _ in range(warmup):  # loads Presidio's and the embedder's lazy parts
        await system.handle_query(next(texts))
        await system.route(next(texts))
    before = len(api.log())
    handle: list[float] = []
    route: list[float] = []
    raw_us: list[float] = []
    tiers: dict[str, int] = {}
    for _ in range(iterations):
        text = next(texts)
        raw_us.append(await _time(raw, text))
        started = time.perf_counter_ns()
        reply = await system.handle_query(text)
        handle.append((time.perf_counter_ns() - started) / 1000)
        tiers[str(reply.tier)] = tiers.get(str(reply.tier), 0) + 1
        route.append(await _time(system.route, next(texts)))
    model_calls = len(api.log()) - before - iterations  # minus the raw calls
    return {
        "handle_query": _summary(handle, raw_us),
        "route_no_model_call": _summary(route, None),
        "raw_sdk_interleaved": _summary(raw_us, None),
        "model_calls_per_query": model_calls / iterations,
        "tiers": tiers,
        "classification": "local",
    }


def _profile(layer: str, api: FakeServerProcess, queries: list[str], calls: int) -> str:
    """cProfile of `calls` calls through one layer, top 30 by own time."""
    profiler = cProfile.Profile()

    async def run() -> None:
        # built inside the loop: the SDK clients' connection pools belong to it
        if layer == "system":
            call: Call = _support_system(api).handle_query
        elif layer == "litellm":
            lite = _litellm_layer(api)
            if isinstance(lite, str):
                raise SystemExit(lite)
            call = lite
        else:
            call = _layers(api)[layer]
        for i in range(2 * calls):
            if i == calls:  # the first half warms up
                profiler.enable()
            await call(queries[i % len(queries)])
        profiler.disable()

    asyncio.run(run())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    return out.getvalue()


async def _run(
    args: argparse.Namespace, api: FakeServerProcess, queries: list[str]
) -> dict[str, Any]:
    # One event loop for everything: the SDK clients' connection pools belong to it.
    layers = _layers(api)
    lite = _litellm_layer(api)
    timed = layers if isinstance(lite, str) else {**layers, "litellm": lite}
    wall, cpu = await _measure_layers(timed, queries, args.iterations, args.warmup)
    raw_us = wall["raw"]
    provider = _summary(wall["provider"], raw_us)
    router = _summary(wall["router"], raw_us)
    result: dict[str, Any] = {
        "server": "tests/fakeapi in a child process, 127.0.0.1, latency 0",
        "iterations": args.iterations,
        "warmup": args.warmup,
        "layers": {"raw": _summary(raw_us, None), "provider": provider, "router": router},
        "client_cpu": {
            "raw": _summary(cpu["raw"], None),
            "provider": _summary(cpu["provider"], cpu["raw"]),
            "router": _summary(cpu["router"], cpu["raw"]),
        },
        # the middleware alone: router minus the same Agent on the bare provider
        "router_only_added_p50_us": round(router["p50_us"] - provider["p50_us"], 1),
        "target_router_added_p50_us": TARGET_ROUTER_P50_US,
        "meets_target": router["added_p50_us"] <= TARGET_ROUTER_P50_US,
    }
    # Apart from "layers", which keeps our own stack, and present with or without litellm.
    if isinstance(lite, str):
        result["litellm"] = {"skipped": lite}
    else:
        wall_ratio = _ratio_to_litellm(wall, args.blocks)
        result["litellm"] = {
            "version": importlib.metadata.version("litellm"),
            "layer": _summary(wall["litellm"], raw_us),
            "client_cpu": _summary(cpu["litellm"], cpu["raw"]),
            "router_vs_litellm": wall_ratio,
            "router_vs_litellm_client_cpu": _ratio_to_litellm(cpu, args.blocks),
            "target_ratio_p50": TARGET_RATIO_TO_LITELLM,
            "meets_target": wall_ratio["ratio_p50"] is not None
            and wall_ratio["ratio_p50"] <= TARGET_RATIO_TO_LITELLM,
        }
    result["middleware_in_process"] = await _measure_in_process(queries, 10 * args.iterations)
    if not args.skip_system:
        result["system"] = await _measure_system(
            api, layers["raw"], queries, args.system_iterations, warmup=5
        )
    return result


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per layer")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per layer first")
    parser.add_argument("--system-iterations", type=int, default=200)
    parser.add_argument(
        "--blocks", type=int, default=5, help="blocks of rounds for the spread of the litellm ratio"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds (tests, CI)")
    parser.add_argument("--skip-system", action="store_true", help="no SupportSystem (no models)")
    parser.add_argument(
        "--profile", choices=["provider", "router", "litellm", "system"], help="cProfile to stderr"
    )
    args, _ = parser.parse_known_args(argv)  # `python -m bench` passes one argv to all
    if args.quick:
        args.iterations, args.warmup, args.system_iterations = 100, 20, 5
    if args.profile:
        args.skip_system = True  # a profile run is for reading, not for the numbers

    queries = _queries(args.data, 4 * (args.system_iterations + 20))
    with FakeServerProcess(latency=0.0) as api:
        if args.profile:
            print(_profile(args.profile, api, queries, args.iterations), file=sys.stderr)
        result = asyncio.run(_run(args, api, queries))
    result["cpu_count"] = os.cpu_count()
    result["load_average_1m"] = os.getloadavg()[0]  # context for the noise in these numbers
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
