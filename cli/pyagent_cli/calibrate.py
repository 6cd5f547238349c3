"""``pyagent calibrate``: choose the handoff threshold from labelled in-domain traffic.

Each line of the file needs ``text`` and ``tier`` (``fast`` or ``smart``; ``human`` lines
are left out: a person takes them whatever their difficulty). The support system's own
difficulty estimator rates every message; the report is the trade-off curve (share of
traffic sent to the expensive tier against share of hard queries caught) and the highest
threshold that still catches ``--target-recall`` of the hard ones.

Apply the chosen threshold with the environment variable ``PYAGENT_HANDOFF_THRESHOLD``
(a whole number from 1 to 10; anything else is refused with a clear error): the
customer-support recipe then uses it for every bot instead of its per-bot
``HANDOFF_THRESHOLDS``, in every command that answers or routes messages (``chat``,
``serve``, ``route``, ``cost-profile``, ``eval``, ``demo``)::

    pyagent calibrate traffic.jsonl              # prints e.g. "handoff_threshold = 5"
    PYAGENT_HANDOFF_THRESHOLD=5 pyagent serve

A recipe names the variable it reads as ``HANDOFF_THRESHOLD_ENV``; the report (and the
JSON, under ``environment``) says how to apply the threshold to the recipe in use. The
variable does not change the calibration itself: the curve rates difficulty, whatever
the threshold.
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
    variable = getattr(loaded.source, "HANDOFF_THRESHOLD_ENV", None)
    if as_json:
        report = calibration.to_dict()
        if isinstance(variable, str):
            report["environment"] = {variable: str(calibration.threshold)}
        stream.write(json.dumps(report, indent=2) + "\n")
    else:
        stream.write(_table(calibration) + "\n")
        stream.write(_how_to_apply(calibration.threshold, recipe, variable) + "\n")
    return 0


def _how_to_apply(threshold: int, recipe: str, variable: object) -> str:
    if not isinstance(variable, str):
        return (
            f"Recipe {recipe!r} names no handoff-threshold variable (HANDOFF_THRESHOLD_ENV): "
            f"give its bots handoff_threshold={threshold} in code."
        )
    return (
        f"Apply it to every bot: {variable}={threshold}, e.g. "
        f"`{variable}={threshold} pyagent serve`\n"
        f"({variable} takes a whole number from 1 to 10; unset, each bot keeps the "
        "recipe's own threshold.)"
    )


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
