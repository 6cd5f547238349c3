"""Safe actions: tool permissions decided by code, exactly-once side effects, the audit trail.

- `ToolPolicy` / `DefaultToolPolicy` / `Verdict`: allow, deny or ask a person, from the
  call's arguments and the turn's `Signals` (never from what the model claims).
- `ActionGate`: runs every tool call through the policy and, for side-effecting tools,
  the `ActionLedger` (idempotency keys; one call whatever retries or redeliveries come).
- `handoff_tool`: ``escalate_to_human``, which puts the conversation in the human queue.
- `AuditEvent` / `AuditLog`: what every turn decided, every call and every human action.
"""

from .audit import (
    AUDIT_KINDS,
    AuditEvent,
    AuditKind,
    AuditLog,
    AuditQuery,
    Condition,
    parse_condition,
    parse_since,
)
from .gate import ActionGate, GateOutcome, Handoff, idempotency_key
from .handoff import handoff_tool
from .ledger import ActionLedger, ActionRecord, ActionStatus, MemoryActionLedger
from .policy import DefaultToolPolicy, PolicyArg, ToolPolicy, ToolRequest, Verdict, VerdictKind
from .sqlite_audit import SQLiteAuditLog
from .sqlite_ledger import SQLiteActionLedger

__all__ = [
    "AUDIT_KINDS",
    "ActionGate",
    "ActionLedger",
    "ActionRecord",
    "ActionStatus",
    "AuditEvent",
    "AuditKind",
    "AuditLog",
    "AuditQuery",
    "Condition",
    "DefaultToolPolicy",
    "GateOutcome",
    "Handoff",
    "MemoryActionLedger",
    "PolicyArg",
    "SQLiteActionLedger",
    "SQLiteAuditLog",
    "ToolPolicy",
    "ToolRequest",
    "Verdict",
    "VerdictKind",
    "handoff_tool",
    "idempotency_key",
    "parse_condition",
    "parse_since",
]
