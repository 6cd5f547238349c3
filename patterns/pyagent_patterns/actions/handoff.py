"""`handoff_tool`: the ``escalate_to_human`` tool of seed 003, backed by the human queue.

Calling it ends the turn: the conversation goes to the human queue and stays there (its
case is open, so later messages are kept for the person) until a person hands it back.
Handing off is always allowed; no policy is asked.
"""

from __future__ import annotations

from ..tools import Tool

__all__ = ["handoff_tool"]


def handoff_tool(
    name: str = "escalate_to_human",
    description: str = (
        "Hand the conversation to a person on the support team. Use it when the customer "
        "is upset, asks for a person, or the case is unusual or beyond your tools."
    ),
) -> Tool:
    """A tool that hands the conversation to a person (see the module docstring)."""

    def escalate_to_human(reason: str) -> str:
        # Never called: the action gate ends the turn when the model calls this tool.
        return "handed to a person"

    escalate_to_human.__doc__ = (
        f"{description}\n\nArgs:\n    reason: Why a person must take over.\n"
    )
    return Tool.from_function(escalate_to_human, name, hands_off=True)
