"""Agent and the patterns that compose a tiered support system; the top layer.

``from pyagent_patterns import Agent, Supervisor, TalkerReasoner, ...`` or the module
paths the seed uses (``pyagent_patterns.base``, ``.orchestration``, ``.advanced``,
``.recovery``, ``.guardrails``).
"""

from .actions import ActionGate, DefaultToolPolicy, ToolPolicy, Verdict, handoff_tool
from .advanced import HumanDecision, HumanInTheLoop, ReAct, TalkerReasoner
from .base import Agent, Message, Pattern, Runnable, RunResult
from .chat import ChatEvent, ChatHandler, ChatReply, SendPolicy, SQLiteConversationStore
from .escalations import Escalation, EscalationQueue, SQLiteEscalationQueue
from .orchestration import Supervisor
from .record import RecoveryLevel, TurnRecord
from .recovery import BoundedExecution
from .tools import Tool, ToolResult, tool

__all__ = [
    "ActionGate",
    "Agent",
    "BoundedExecution",
    "ChatEvent",
    "ChatHandler",
    "ChatReply",
    "DefaultToolPolicy",
    "Escalation",
    "EscalationQueue",
    "HumanDecision",
    "HumanInTheLoop",
    "Message",
    "Pattern",
    "ReAct",
    "RecoveryLevel",
    "SQLiteConversationStore",
    "SendPolicy",
    "SQLiteEscalationQueue",
    "RunResult",
    "Runnable",
    "Supervisor",
    "TalkerReasoner",
    "TurnRecord",
    "Tool",
    "ToolPolicy",
    "ToolResult",
    "Verdict",
    "handoff_tool",
    "tool",
]
