"""The action ledger: each side-effecting tool call, by idempotency key, and its outcome.

Before a side-effecting call runs, the gate `begin`s its key. The first to begin it runs
the tool; anyone after (a `BoundedExecution` retry, a redelivered message, a replay,
another worker) gets the stored outcome instead of a second call. A call that started and
never finished (its worker crashed) is taken over once its lease runs out, and the tool
gets the same key again, so the API it calls can recognise the repeat. Approval requests
live here too: a call that waits for a person is ``awaiting_approval`` until they approve
(it runs at the next attempt) or decline (the model is told so).

`MemoryActionLedger` serves a single process; `SQLiteActionLedger` (``sqlite_ledger``)
keeps the ledger in the conversations' database, across restarts and processes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

from pyagent_providers import ConflictError, NotFoundError

from ..tools import ToolResult

__all__ = [
    "ActionLedger",
    "ActionRecord",
    "ActionStatus",
    "MemoryActionLedger",
    "StoredTransitions",
    "begin_transition",
    "record_from_json",
    "record_to_json",
]

ActionStatus = Literal["running", "done", "awaiting_approval", "approved", "declined"]
LEASE_SECONDS = 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ActionRecord:
    """One side-effecting call and where it stands.

    Attributes:
        key: The idempotency key (conversation, customer message, tool and arguments).
        tool: The tool's name.
        arguments: The arguments the model passed, redacted (for people; the call itself
            is matched by its key).
        status: ``running``, ``done``, ``awaiting_approval``, ``approved`` or ``declined``.
        conversation_id: The conversation.
        message_id: The customer message whose turn made the call.
        result: The stored outcome, once ``done``.
        case_id: The approval request's case in the human queue.
        decided_by: Who approved or declined it.
        note: The policy's or the person's reason.
        lease_until: While ``running``: when another worker may take the call over.
    """

    key: str
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict[str, Any])
    status: ActionStatus = "running"
    conversation_id: str | None = None
    message_id: str | None = None
    result: ToolResult | None = None
    case_id: str | None = None
    decided_by: str | None = None
    note: str = ""
    lease_until: float = 0.0


class ActionLedger(Protocol):
    """Where side-effecting calls are recorded by key; SQLite in the chat handler's store."""

    async def begin(
        self, record: ActionRecord, *, lease_seconds: float
    ) -> tuple[ActionRecord, bool]:
        """Start `record`'s call unless its key is known; ``(stored record, run it now?)``."""
        ...

    async def finish(self, key: str, result: ToolResult) -> ActionRecord:
        """Store the call's outcome (status ``done``)."""
        ...

    async def await_approval(self, key: str, *, case_id: str | None, note: str) -> ActionRecord:
        """Park the call until a person decides (status ``awaiting_approval``)."""
        ...

    async def decide(self, key: str, *, approved: bool, by: str, note: str = "") -> ActionRecord:
        """A person's decision on a parked call (``approved`` or ``declined``)."""
        ...

    async def get(self, key: str) -> ActionRecord | None:
        """The record of `key`, or ``None``."""
        ...


def begin_transition(
    existing: ActionRecord | None, new: ActionRecord, *, now: float, lease_seconds: float
) -> tuple[ActionRecord, bool]:
    """What `begin` does, for every backend: the record to store and whether to run now.

    New keys, calls a person approved and calls whose worker's lease ran out run now;
    a call still leased to another worker does not (the caller waits for it).
    """
    leased = now + lease_seconds
    if existing is None:
        return replace(new, status="running", lease_until=leased), True
    if existing.status == "approved":
        return replace(existing, status="running", lease_until=leased), True
    if existing.status == "running" and existing.lease_until <= now:
        return replace(existing, lease_until=leased), True
    return existing, False


def record_to_json(record: ActionRecord) -> dict[str, Any]:
    """`record` as JSON-ready data (how every backend stores it)."""
    data = asdict(record)
    if data["result"] is not None:
        data["result"]["grants"] = sorted(data["result"]["grants"])
    return data


def record_from_json(stored: Mapping[str, Any]) -> ActionRecord:
    """The record `record_to_json` stored."""
    data = dict(stored)
    outcome: dict[str, Any] | None = data.pop("result")
    result = None
    if outcome is not None:
        outcome["grants"] = frozenset(outcome["grants"])
        result = ToolResult(**outcome)
    return ActionRecord(**data, result=result)


def decided(record: ActionRecord, *, approved: bool, by: str, note: str) -> ActionRecord:
    """`record` after a person's decision.

    The same decision again (a retried request) changes nothing.

    Raises:
        ConflictError: The call is not waiting for a decision (or was decided otherwise).
    """
    if record.decided_by is not None and (record.status == "declined") != approved:
        return record  # decided so already: a retry of the same decision
    if record.status != "awaiting_approval":
        raise ConflictError(f"the call {record.tool} is {record.status}, not awaiting approval")
    return replace(record, status="approved" if approved else "declined", decided_by=by, note=note)


class StoredTransitions:
    """The ledger's changes to a stored record, for every backend.

    A backend implements `_change` (read the record of a key, apply a change, write it
    back, atomically) and gets `finish`, `await_approval` and `decide` from here.
    """

    async def _change(self, key: str, how: Callable[[ActionRecord], ActionRecord]) -> ActionRecord:
        raise NotImplementedError

    async def finish(self, key: str, result: ToolResult) -> ActionRecord:
        """See `ActionLedger.finish`."""
        return await self._change(
            key, lambda r: replace(r, status="done", result=result, lease_until=0)
        )

    async def await_approval(self, key: str, *, case_id: str | None, note: str) -> ActionRecord:
        """See `ActionLedger.await_approval`."""
        return await self._change(
            key, lambda r: replace(r, status="awaiting_approval", case_id=case_id, note=note)
        )

    async def decide(self, key: str, *, approved: bool, by: str, note: str = "") -> ActionRecord:
        """See `ActionLedger.decide`."""
        return await self._change(key, lambda r: decided(r, approved=approved, by=by, note=note))


class MemoryActionLedger(StoredTransitions):
    """The ledger in this process's memory (the most recent `capacity` keys).

    Enough for retries inside one process; use the store's ledger for redeliveries,
    restarts and several workers.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._records: OrderedDict[str, ActionRecord] = OrderedDict()

    async def begin(
        self, record: ActionRecord, *, lease_seconds: float = LEASE_SECONDS
    ) -> tuple[ActionRecord, bool]:
        """See `ActionLedger.begin`."""
        stored, run = begin_transition(
            self._records.get(record.key), record, now=time.time(), lease_seconds=lease_seconds
        )
        self._put(stored)
        return stored, run

    async def _change(self, key: str, how: Callable[[ActionRecord], ActionRecord]) -> ActionRecord:
        return self._put(how(self._must(key)))

    async def get(self, key: str) -> ActionRecord | None:
        """See `ActionLedger.get`."""
        await asyncio.sleep(0)
        return self._records.get(key)

    def _must(self, key: str) -> ActionRecord:
        record = self._records.get(key)
        if record is None:
            raise NotFoundError(f"no recorded call {key!r}")
        return record

    def _put(self, record: ActionRecord) -> ActionRecord:
        self._records[record.key] = record
        self._records.move_to_end(record.key)
        while len(self._records) > self.capacity:
            self._records.popitem(last=False)
        return record
