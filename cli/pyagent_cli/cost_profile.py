"""``pyagent cost-profile``: run a traffic sample through the support system and price it.

Every query is answered in full (guards, triage, classification, difficulty, the answer or
the hand-off summary), so the profile counts every call the system really makes.
Escalations go to a throwaway queue, not the real one. Offline the local model stands in
for the online models and is priced as them from its own token counts: the report says
``estimated`` then. Messages the guards refused, and messages the system failed to answer
(an exception, or recovery level 3: the holding notice after the deadline or the fallback
failed), are left out of the prices and listed apart: ``refused_by_guards`` (ids) and
``failed`` (ids with the reason) in the JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pyagent_patterns import RecoveryLevel
from pyagent_providers import UserError
from pyagent_router import CostProfile, ProfiledQuery, build_cost_profile, collect_calls

from .progress import progress
from .recipes import DEFAULT_RECIPE, load_recipe
from .traffic import TrafficItem, read_traffic

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.table import Table

    from .recipes import SupportSystem

__all__ = ["chart_figure", "cost_profile_command", "profile_traffic", "save_chart"]

logger = logging.getLogger("pyagent.cli")


async def profile_traffic(
    path: str, *, per_day: int, classification: str = "auto", recipe: str = DEFAULT_RECIPE
) -> tuple[CostProfile, dict[str, Any]]:
    """Route and answer every message of `path` with `recipe`'s system.

    Returns:
        The profile and facts about the run.
    """
    items = read_traffic(path)
    loaded = load_recipe(recipe, "cost-profile")
    mode = loaded.classification(classification)
    with tempfile.TemporaryDirectory(prefix="pyagent-cost-profile-") as scratch:
        system = loaded.support_system(
            queue_path=Path(scratch) / "escalations.sqlite3", classification=mode
        )
        queries, refused, failed = await _answer_all(system, items)
    if not queries:
        raise UserError(
            f"no message of {path} could be priced: {len(refused)} refused by the guards, "
            f"{len(failed)} failed or timed out"
        )
    models = system.models
    profile = build_cost_profile(
        queries,
        per_day=per_day,
        cheap_model=models.online_id(models.fast_name),
        expensive_model=models.online_id(models.smart_name),
    )
    facts = {
        "file": path,
        "backend": models.backend,
        "classification": classification,
        "refused_by_guards": refused,
        "failed": failed,
        "note": _note(models.backend),
    }
    return profile, facts


async def _answer_all(
    system: SupportSystem, items: Sequence[TrafficItem]
) -> tuple[list[ProfiledQuery], list[str], list[dict[str, str]]]:
    """Answer each message: the priced ones, the ids the guards refused, the failures."""
    refused: list[str] = []
    failed: list[dict[str, str]] = []
    queries: list[ProfiledQuery] = []
    online = system.models.backend != "local"
    for item in progress(items, "cost-profile"):
        try:
            with collect_calls() as calls:
                reply = await system.handle_query(item.text)
        except UserError:
            raise  # the setup is wrong (keys, recipe): every message would fail alike
        except Exception as error:  # one message failed; the profile goes on
            logger.warning("message %s failed: %s", item.id, type(error).__name__)
            failed.append({"id": item.id, "reason": f"error: {type(error).__name__}"})
            continue
        if reply.blocked:
            refused.append(item.id)
        elif (
            reply.recovery_level >= RecoveryLevel.HOLDING_NOTICE
            or reply.category is None
            or reply.tier is None
        ):
            failed.append({"id": item.id, "reason": _failure(reply.recovery_level)})
        else:
            expected = item.labels.get("tier")
            queries.append(
                ProfiledQuery(
                    id=item.id,
                    category=reply.category,
                    tier=reply.tier,
                    model=str(reply.model if online else reply.online_model),
                    calls=tuple(calls),
                    expected_tier=str(expected) if expected is not None else None,
                )
            )
    return queries, refused, failed


async def cost_profile_command(
    path: str,
    *,
    per_day: int,
    as_json: bool,
    chart: str | None,
    classification: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    out: TextIO | None = None,
) -> int:
    """Print the cost profile of `path` (table or JSON) and optionally save a chart."""
    stream: TextIO = out or sys.stdout
    profile, facts = await profile_traffic(
        path, per_day=per_day, classification=classification, recipe=recipe
    )
    if chart:
        save_chart(profile, chart)
        facts["chart"] = chart
    if as_json:
        stream.write(json.dumps({**facts, **profile.to_dict()}, indent=2) + "\n")
    else:
        print_table(profile, facts, stream)
    return 0


def _failure(recovery_level: int) -> str:
    if recovery_level >= RecoveryLevel.HOLDING_NOTICE:
        return "timed out or failed: the customer got the holding notice"
    return f"no tier was chosen (recovery level {recovery_level})"


def _note(backend: str) -> str:
    if backend == "local":
        return (
            "Estimate: offline, the local model stood in for the online models; its token "
            "counts (o200k_base) are priced as theirs. Claude's tokenizer typically counts "
            "10-20% more, and real replies differ in length. Run with API keys for measured "
            "usage."
        )
    return "Measured: token counts are the usage the APIs returned."


def print_table(profile: CostProfile, facts: dict[str, Any], out: TextIO) -> None:
    """The report as terminal tables (rich)."""
    from rich.console import Console

    console = Console(file=out, width=120)
    for table in _tables(profile):
        console.print(table)
    shares = ", ".join(f"{tier} {share:.0%}" for tier, share in profile.tier_shares.items())
    console.print(f"Saved vs always {profile.always_expensive.model}: {profile.savings:.0%}")
    console.print(f"Traffic per tier: {shares}")
    if profile.labelled:
        console.print(
            f"Labelled: {profile.labelled}; hard (smart/human) {profile.hard_labelled}, of which "
            f"the cheap tier kept {len(profile.hard_kept_cheap)} "
            f"{profile.hard_kept_cheap or ''}; easy sent to an expensive tier: "
            f"{len(profile.easy_sent_expensive)}"
        )
    if facts["refused_by_guards"]:
        console.print(f"Refused by the guards (not priced): {facts['refused_by_guards']}")
    if facts["failed"]:
        failures = ", ".join(f"{item['id']} ({item['reason']})" for item in facts["failed"])
        console.print(f"Failed or timed out (not priced): {failures}")
    console.print(f"Prices as of {profile.pricing_as_of}. {facts['note']}")


def _tables(profile: CostProfile) -> list[Table]:
    """Per category and tier, the scenarios, and the spend per agent."""
    from rich.table import Table

    table = Table(title=f"Cost profile: {profile.queries} queries at {profile.per_day}/day")
    for column in ("category", "tier", "model", "count", "share"):
        table.add_column(column)
    for column in ("mean in tok", "mean out tok", "mean cost", "monthly"):
        table.add_column(column, justify="right")
    for row in profile.rows:
        table.add_row(
            row.category,
            row.tier,
            row.model,
            str(row.count),
            f"{row.share:.0%}",
            f"{row.mean_input_tokens:,.0f}",
            f"{row.mean_output_tokens:,.0f}",
            f"${row.mean_cost:.5f}",
            f"${row.monthly_cost:,.2f}",
        )
    summary = Table(show_header=True)
    summary.add_column("scenario")
    summary.add_column("mean cost / query", justify="right")
    summary.add_column("per month", justify="right")
    summary.add_row(
        "routed (blended)", f"${profile.mean_cost:.5f}", f"${profile.monthly_cost:,.2f}"
    )
    for label, baseline in (
        (f"always {profile.always_expensive.model}", profile.always_expensive),
        (f"always {profile.always_cheap.model}", profile.always_cheap),
    ):
        summary.add_row(label, f"${baseline.mean_cost:.5f}", f"${baseline.monthly_cost:,.2f}")
    by_agent = Table(title="Where the money goes (mean cost per query)")
    by_agent.add_column("agent")
    by_agent.add_column("mean cost / query", justify="right")
    by_agent.add_column("share", justify="right")
    for agent, cost in profile.spend_by_agent.items():
        share = float(cost / profile.mean_cost) if profile.mean_cost else 0.0
        by_agent.add_row(agent, f"${cost:.5f}", f"{share:.0%}")
    return [table, summary, by_agent]


# Chart layout: the type panel gets this much height per row (inches), so its labels,
# one line each, never overlap however many (category, tier) rows the traffic has.
_CHART_INCHES_PER_ROW = 0.32
_CHART_MIN_HEIGHT = 4.5


def save_chart(profile: CostProfile, path: str) -> None:
    """A PNG: monthly cost per scenario, and monthly cost per query type.

    The figure grows with the number of query types (one label line per row) and the
    layout engine keeps labels, titles and the subtitle clear of each other.
    """
    import matplotlib.pyplot as plt

    figure = chart_figure(profile)
    figure.savefig(path, dpi=110)  # pyright: ignore[reportUnknownMemberType]
    plt.close(figure)


def chart_figure(profile: CostProfile) -> Figure:
    """The chart `save_chart` writes, as a figure (close it with ``plt.close``)."""
    import matplotlib

    matplotlib.use("Agg")  # no display; writes files only
    import matplotlib.pyplot as plt

    rows = len(profile.rows)
    height = max(_CHART_MIN_HEIGHT, 1.6 + _CHART_INCHES_PER_ROW * rows)
    figure, (scenarios, types) = plt.subplots(  # pyright: ignore[reportUnknownMemberType]
        1, 2, figsize=(12, height), layout="constrained", width_ratios=(1, 1.3)
    )
    names = [
        "routed",
        f"always\n{profile.always_expensive.model.split(':')[-1]}",
        f"always\n{profile.always_cheap.model.split(':')[-1]}",
    ]
    values = [
        float(profile.monthly_cost),
        float(profile.always_expensive.monthly_cost),
        float(profile.always_cheap.monthly_cost),
    ]
    scenarios.bar(names, values, color=["tab:blue", "tab:red", "tab:green"])
    scenarios.set_ylabel(f"USD per month at {profile.per_day:,} queries/day")
    scenarios.set_title(f"Routing saves {profile.savings:.0%} vs always expensive")
    labels = [f"{row.category} · {row.tier}" for row in profile.rows]
    types.barh(labels, [float(row.monthly_cost) for row in profile.rows])
    types.invert_yaxis()
    types.tick_params(axis="y", labelsize=9 if rows <= 12 else 8)
    types.set_xlabel("USD per month")
    types.set_title("Monthly cost per query type")
    if profile.estimated:
        title = "Estimated (local model priced as the online models)"
        figure.suptitle(title, fontsize=9)  # pyright: ignore[reportUnknownMemberType]
    return figure
