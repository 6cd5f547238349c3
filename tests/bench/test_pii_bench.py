"""bench.pii on a tiny slice: the report's shape and ranges (timing is never asserted)."""

from typing import Any

import pytest

from bench import pii

DATA = pii.DEFAULT_DATA / pii.DATASET


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if not DATA.exists():
        pytest.skip(f"dataset not found at {DATA}")
    return pii.main(["--limit", "20"])


def test_the_report_compares_plain_presidio_with_the_guard(report: dict[str, Any]) -> None:
    assert report["samples"] == 20
    assert report["anchor"]["f2"] == 0.618
    assert "PERSON" in report["gold_spans_per_label"]
    assert "DATE_TIME" in report["labels_not_targeted_by_guard"]
    for name in ("before", "after"):
        run = report[name]
        assert run["ms_per_doc_median"] > 0
        assert run["ms_per_doc_mean"] > 0
        for scope in ("guard_types", "presidio_types", "all_types"):
            for kind in ("entity_aware", "entity_agnostic"):
                scores = run[scope][kind]
                for key in ("precision", "recall", "f2"):
                    assert scores[key] is None or 0.0 <= scores[key] <= 1.0
                assert min(scores["tp"], scores["fp"], scores["fn"]) >= 0
            assert isinstance(run[scope]["per_type"], dict)


def test_the_guard_scope_covers_only_what_the_guard_targets(report: dict[str, Any]) -> None:
    per_type = report["after"]["guard_types"]["per_type"]
    assert set(per_type) <= set(report["after"]["guard_types"]["labels"])
    assert "PERSON" in per_type


def test_token_scoring_counts_a_wrong_type_as_both_a_false_positive_and_a_miss() -> None:
    counts: dict[str, Any] = {"tp": pii.Counter(), "fp": pii.Counter(), "fn": pii.Counter()}
    pii._count(["PERSON", "PERSON", "O"], ["PERSON", "LOCATION", "O"], counts)  # pyright: ignore[reportPrivateUsage]
    assert counts["tp"] == {"PERSON": 1}
    assert counts["fp"] == {"LOCATION": 1}
    assert counts["fn"] == {"PERSON": 1}


def test_a_token_takes_a_span_label_on_any_character_overlap() -> None:
    tokens = [(0, 5), (6, 11), (12, 15)]
    labels = pii._token_labels(tokens, [("PERSON", 3, 7, 0.9)], None)  # pyright: ignore[reportPrivateUsage]
    assert labels == ["PERSON", "PERSON", "O"]
