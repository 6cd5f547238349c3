"""The overhead and throughput benchmarks run end to end in --quick mode.

Only what holds on any machine is checked: the output's shape, that each support-system
query made exactly one model call, that every ticket was answered exactly once, and that
the rate limiter itself never let more than the limit start in one second. Latencies and
the rate the server saw are reported, never asserted: on a loaded machine a starved event
loop sends requests that the limiter spaced out in bunches (see bench/throughput.py), so
the server-side count over a 1 s window is a measurement, not an invariant.
"""

from typing import Any

import pytest

import bench.overhead
import bench.throughput


@pytest.fixture(scope="module")
def overhead() -> dict[str, Any]:
    return bench.overhead.main(["--quick"])


@pytest.fixture(scope="module")
def throughput() -> dict[str, Any]:
    return bench.throughput.main(["--quick"])


def test_overhead_reports_each_layer_against_the_raw_sdk(overhead: dict[str, Any]) -> None:
    layers = overhead["layers"]
    assert set(layers) == {"raw", "provider", "router"}
    for name, layer in layers.items():
        assert layer["calls"] == overhead["iterations"]
        assert 0 < layer["p50_us"] <= layer["p99_us"]
        assert ("added_p50_us" in layer) == (name != "raw")
        assert set(overhead["client_cpu"][name]) == set(layer)
    assert isinstance(overhead["meets_target"], bool)
    assert overhead["target_router_added_p50_us"] == 300.0
    assert {"agent", "routed_agent"} == set(overhead["middleware_in_process"])

    system = overhead["system"]
    assert system["classification"] == "local"
    assert system["model_calls_per_query"] == 1.0  # guards and classifiers are local
    assert system["handle_query"]["calls"] == sum(system["tiers"].values())
    assert "added_p50_us" in system["handle_query"]


def test_throughput_answers_every_ticket_exactly_once(throughput: dict[str, Any]) -> None:
    tickets = throughput["tickets"]
    assert tickets == 60
    assert throughput["errors"] == {}
    integrity = throughput["integrity"]
    assert integrity["tickets"] == tickets
    for problem in (
        "lost",
        "duplicated",
        "reply_not_about_its_ticket",
        "not_requested_at_server",
        "requested_more_than_once",
    ):
        assert integrity[problem] == [], problem
    assert integrity["requests_without_ticket_id"] == 0
    assert throughput["server_rate"]["requests"] == tickets


def test_throughput_limiter_holds_the_limit(throughput: dict[str, Any]) -> None:
    limiter = throughput["limiter_start_rate"]
    assert limiter["requests"] == throughput["tickets"]
    # Starts are >= 1/rate apart by construction; +1 covers the microseconds between the
    # limiter's decision and the bench noting it at a window's edge.
    assert limiter["max_in_any_1s_window"] <= limiter["limit_rps"] + 1
    for key in ("server_rate", "client_send_rate"):
        rate = throughput[key]
        assert {"rate_rps", "max_in_any_1s_window", "within_5_percent", "never_above_limit"} <= set(
            rate
        )
    assert set(throughput["latency_s"]) == {"p50", "p95", "max"}
    assert throughput["cpu_ms_per_ticket"] > 0
    assert throughput["memory"]["ru_maxrss_mib"] > 0
