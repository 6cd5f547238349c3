"""Agent and the patterns that compose a tiered support system; the top layer.

``from pyagent_patterns import Agent, Supervisor, TalkerReasoner, ...`` or the module
paths the seed uses (``pyagent_patterns.base``, ``.orchestration``, ``.advanced``,
``.recovery``, ``.guardrails``).
"""

from .advanced import HumanDecision, HumanInTheLoop, ReAct, TalkerReasoner
from .base import Agent, Message, Pattern, Runnable, RunResult
from .chat import ChatEvent, ChatHandler, ChatReply, SQLiteConversationStore
from .escalations import Escalation, EscalationQueue, SQLiteEscalationQueue
from .orchestration import Supervisor
from .record import RecoveryLevel, TurnRecord
from .recovery import BoundedExecution
from .tools import Tool, ToolResult, tool

__all__ = [
    "Agent",
    "BoundedExecution",
    "ChatEvent",
    "ChatHandler",
    "ChatReply",
    "Escalation",
    "EscalationQueue",
    "HumanDecision",
    "HumanInTheLoop",
    "Message",
    "Pattern",
    "ReAct",
    "RecoveryLevel",
    "SQLiteConversationStore",
    "SQLiteEscalationQueue",
    "RunResult",
    "Runnable",
    "Supervisor",
    "TalkerReasoner",
    "TurnRecord",
    "Tool",
    "ToolResult",
    "tool",
]
