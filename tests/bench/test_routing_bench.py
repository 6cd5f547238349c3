"""The routing benchmark runs end to end on a tiny slice and reports sane values.

Only the shape and ranges of the output are checked: timings belong to the benchmark's
report, never to a pass/fail test.
"""

from typing import Any

import pytest

import bench.routing

pytestmark = pytest.mark.skipif(
    not (bench.routing.DEFAULT_DATA / "banking77" / "test.csv").exists()
    or not (bench.routing.DEFAULT_DATA / "bitext" / "customer_support_sample.csv").exists(),
    reason=f"the shared datasets are not at {bench.routing.DEFAULT_DATA}",
)

LIMIT = 30


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return bench.routing.main(["--limit", str(LIMIT), "--seeds", "1", "--shots", "2"])


def assert_scores(setting: dict[str, Any]) -> None:
    for key in ("accuracy", "macro_f1", "ece", "coverage"):
        assert 0.0 <= setting[key] <= 1.0, key
    assert setting["latency_ms_median"] > 0
    assert setting["latency_ms_p95"] >= setting["latency_ms_median"]
    assert setting["batch_queries_per_second"] > 0
    # each setting is timed on its own share of the test texts, never on all of them
    assert 0 < setting["single_queries"] + setting["batch_queries"] < setting["test_rows"]


def test_banking77_few_shot_and_full_data(result: dict[str, Any]) -> None:
    banking = result["banking77"]
    assert banking["labels"] == 77
    assert banking["test_rows"] == LIMIT

    few = banking["2_shot"]
    assert few["shots"] == 2
    assert len(few["accuracy_per_seed"]) == 1
    assert few["runs"][0]["train_examples"] == 77 * 2
    assert_scores(few)

    full = banking["full"]
    assert full["train_rows"] == LIMIT  # --limit caps full-data training rows too
    assert_scores(full)
    assert full["published_accuracy"] == {"BERT-Tuned": 0.9366, "USE+ConveRT": 0.9336}
    assert full["target_accuracy"] == 0.934
    assert full["meets_target"] == (full["accuracy"] >= 0.934)


def test_bitext_intent_and_category(result: dict[str, Any]) -> None:
    bitext = result["bitext"]
    assert bitext["rows"] == 4514
    for key in ("intent", "category"):
        assert bitext[key]["test_rows"] == LIMIT
        assert_scores(bitext[key])
    assert bitext["category"]["labels"] <= 11


def test_report_names_its_method_and_embedder(result: dict[str, Any]) -> None:
    assert result["embedder"] == "all-MiniLM-L6-v2"
    assert "logistic regression" in result["method"]
    assert result["limit"] == LIMIT


def test_only_runs_one_dataset() -> None:
    only = bench.routing.main(["--limit", "6", "--only", "bitext"])
    assert "bitext" in only
    assert "banking77" not in only
