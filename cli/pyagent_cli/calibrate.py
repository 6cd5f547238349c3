"""``pyagent calibrate``: choose the handoff threshold from labelled in-domain traffic.

Each line of the file needs ``text`` and ``tier`` (``fast`` or ``smart``; ``human`` lines
are left out: a person takes them whatever their difficulty). The support system's own
difficulty estimator rates every message; the report is the trade-off curve (share of
traffic sent to the expensive tier against share of hard queries caught) and the highest
threshold that still catches ``--target-recall`` of the hard ones.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from pyagent_providers import Example
from pyagent_router import Calibration, calibrate

from .recipes import DEFAULT_RECIPE, load_recipe
from .traffic import read_traffic

__all__ = ["calibrate_command"]


async def calibrate_command(
    path: str,
    *,
    target_recall: float,
    as_json: bool,
    classification: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    out: TextIO | None = None,
) -> int:
    """Print the calibration of `path`'s labelled messages; returns the exit code."""
    stream: TextIO = out or sys.stdout
    examples = [Example(text=item.text, labels=item.labels) for item in read_traffic(path)]
    loaded = load_recipe(recipe, "calibrate")
    system = loaded.support_system(classification=loaded.classification(classification))
    calibration = await calibrate(
        system.estimator, examples, target_recall=target_recall, concurrency=4
    )
    if as_json:
        stream.write(json.dumps(calibration.to_dict(), indent=2) + "\n")
    else:
        stream.write(_table(calibration) + "\n")
    return 0


def _table(calibration: Calibration) -> str:
    def percent(value: float | None) -> str:
        return "-" if value is None else f"{value:6.0%}"

    lines = [
        f"{calibration.examples} labelled messages, {calibration.hard} of them hard (smart)",
        "threshold  to expensive  hard caught  easy sent up",
    ]
    for point in calibration.curve:
        mark = "  <- chosen" if point.threshold == calibration.threshold else ""
        lines.append(
            f"{point.threshold:>9}  {percent(point.expensive_share):>12}  "
            f"{percent(point.hard_caught):>11}  {percent(point.easy_to_smart):>12}{mark}"
        )
    lines.append(f"handoff_threshold = {calibration.threshold}: {calibration.rule}")
    return "\n".join(lines)
