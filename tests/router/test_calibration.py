import json
from collections.abc import Sequence

import pytest

from pyagent_cookbook.data import load_examples
from pyagent_providers import Example, Message, UserError
from pyagent_router import (
    Calibration,
    CurvePoint,
    DifficultyEstimate,
    calibrate,
    calibrate_threshold,
    threshold_for_share,
)

# 4 easy queries (difficulties 1, 2, 3, 5) and 4 hard ones (4, 6, 7, 9)
LABELLED = [(1, "fast"), (2, "fast"), (3, "fast"), (5, "fast")] + [
    (4, "smart"),
    (6, "smart"),
    (7, "smart"),
    (9, "smart"),
]
# threshold → (share of all sent to smart, share of hard caught, share of easy sent to smart)
EXPECTED_CURVE = {
    1: (8 / 8, 4 / 4, 4 / 4),
    2: (7 / 8, 4 / 4, 3 / 4),
    3: (6 / 8, 4 / 4, 2 / 4),
    4: (5 / 8, 4 / 4, 1 / 4),
    5: (4 / 8, 3 / 4, 1 / 4),
    6: (3 / 8, 3 / 4, 0 / 4),
    7: (2 / 8, 2 / 4, 0 / 4),
    8: (1 / 8, 1 / 4, 0 / 4),
    9: (1 / 8, 1 / 4, 0 / 4),
    10: (0 / 8, 0 / 4, 0 / 4),
}


def test_the_trade_off_curve() -> None:
    calibration = calibrate_threshold(LABELLED, target_recall=0.75)
    assert [p.threshold for p in calibration.curve] == list(range(1, 11))
    assert {
        p.threshold: (p.expensive_share, p.hard_caught, p.easy_to_smart) for p in calibration.curve
    } == EXPECTED_CURVE  # eighths and quarters are exact in binary floating point
    assert calibration.examples == 8 and calibration.hard == 4


@pytest.mark.parametrize(("target", "threshold"), [(1.0, 4), (0.75, 6), (0.5, 7), (0.1, 9)])
def test_the_highest_threshold_meeting_the_recall_target(target: float, threshold: int) -> None:
    calibration = calibrate_threshold(LABELLED, target_recall=target)
    assert calibration.threshold == threshold
    assert calibration.chosen.hard_caught is not None
    assert calibration.chosen.hard_caught >= target


def test_accepts_estimates_and_serialises() -> None:
    pairs = [(DifficultyEstimate(difficulty=d), tier) for d, tier in LABELLED]
    calibration = calibrate_threshold(pairs, target_recall=1.0)
    data = json.loads(json.dumps(calibration.to_dict()))
    assert data["threshold"] == 4 and data["hard"] == 4
    assert data["curve"][3] == {
        "threshold": 4,
        "expensive_share": 0.625,
        "hard_caught": 1.0,
        "easy_to_smart": 0.25,
    }
    assert "100%" in data["rule"]


def test_calibration_errors() -> None:
    with pytest.raises(UserError, match="labelled 'smart'"):
        calibrate_threshold([(3, "fast"), (8, "fast")])
    with pytest.raises(UserError, match="'fast' or 'smart'"):
        calibrate_threshold([(3, "human"), (8, "smart")])
    with pytest.raises(UserError, match="1 to 10"):
        calibrate_threshold([(0, "smart")])
    with pytest.raises(UserError, match="target_recall"):
        calibrate_threshold(LABELLED, target_recall=0)


DIFFICULTIES = [d for d, _ in LABELLED]


@pytest.mark.parametrize(
    ("target", "threshold", "share"),
    [
        (0.3, 7, 2 / 8),
        (0.5, 5, 4 / 8),  # exactly on target is allowed
        (0.125, 9, 1 / 8),  # 8 and 9 send the same share: the higher one wins
        (0.0, 10, 0.0),
        (1.0, 1, 1.0),
    ],
)
def test_threshold_for_a_share_of_traffic(target: float, threshold: int, share: float) -> None:
    calibration = threshold_for_share(DIFFICULTIES, target)
    assert calibration.threshold == threshold
    assert calibration.chosen == CurvePoint(threshold=threshold, expensive_share=share)
    assert calibration.hard is None and calibration.examples == 8


def test_threshold_for_share_errors() -> None:
    with pytest.raises(UserError, match="rated 10"):
        threshold_for_share([10, 10, 1], 0.5)
    with pytest.raises(UserError, match="at least one"):
        threshold_for_share([], 0.5)
    with pytest.raises(UserError, match="target_share"):
        threshold_for_share(DIFFICULTIES, 1.5)


class Oracle:
    """Rates each example with its labelled difficulty, and counts what it was asked."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.difficulty = {e.text: int(e.labels["difficulty"]) for e in examples}
        self.asked: list[str] = []

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        self.asked.append(messages[-1].content)
        return DifficultyEstimate(difficulty=self.difficulty[messages[-1].content])


async def test_calibrate_runs_the_estimator_and_leaves_human_examples_out() -> None:
    examples = [
        Example(text=f"q{d}{tier}", labels={"difficulty": d, "tier": tier})
        for d, tier in [*LABELLED, (8, "human")]
    ]
    oracle = Oracle(examples)
    calibration = await calibrate(oracle, examples, target_recall=0.75, concurrency=2)
    assert isinstance(calibration, Calibration)
    assert calibration.threshold == 6 and calibration.examples == 8
    assert "q8human" not in oracle.asked and len(oracle.asked) == 8


async def test_calibrate_on_the_cookbook_examples() -> None:
    examples = load_examples()
    calibration = await calibrate(Oracle(examples), examples, target_recall=0.9)
    # smart tickets by difficulty: 4: 3, 5: 20, 6: 23, 7: 11, 8: 5 (62 in all);
    # threshold 5 catches 59/62 ≈ 95%, threshold 6 only 39/62 ≈ 63%
    assert calibration.hard == 62
    assert calibration.threshold == 5
    assert calibration.chosen.hard_caught == pytest.approx(59 / 62)
    human = sum(e.labels["tier"] == "human" for e in examples)
    assert calibration.examples == len(examples) - human


async def test_calibrate_without_hard_examples_is_a_clear_error() -> None:
    examples = [Example(text="q", labels={"difficulty": 2, "tier": "fast"})]
    with pytest.raises(UserError, match="labelled 'smart'"):
        await calibrate(Oracle(examples), examples)
