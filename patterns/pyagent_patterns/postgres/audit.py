"""`PostgresAuditLog`: the audit trail in PostgreSQL, queried like the SQLite one.

A condition on a column compares the column; one on a key of the event's data reads the
key with ``data #>> path`` (``a.b`` is the key ``b`` inside ``a``). Comparisons give
what SQLite's give (`_condition`): a number compares numerically with JSON numbers and
booleans (``true`` is 1, as ``json_extract`` reads it), text compares byte by byte, and
every number sorts before any text. Values, and the data key's path, are always bound
parameters; only column names and operators, looked up in fixed tables, are SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from pyagent_providers.postgres import PostgresDatabase

from ..actions.audit import AuditEvent, AuditQuery, Condition
from .common import as_database, dumps, utc

__all__ = ["PostgresAuditLog"]

_COLUMNS: LiteralString = "seq, at, kind, conversation_id, message_id, actor, confidence, data"
# the columns a condition may name, as SQL text (never the caller's string)
_COLUMN_SQL: dict[str, LiteralString] = {
    "kind": "kind",
    "actor": "actor",
    "confidence": "confidence",
    "conversation_id": "conversation_id",
    "message_id": "message_id",
}
_OPERATORS: dict[str, LiteralString] = {
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "=": "=",
    "!=": "!=",
}
# SQLite orders every number before any text: what a comparison across the two gives
_NUMBER_VS_TEXT: dict[str, LiteralString] = {
    "<": "TRUE",
    "<=": "TRUE",
    "!=": "TRUE",
    ">": "FALSE",
    ">=": "FALSE",
    "=": "FALSE",
}
_TEXT_VS_NUMBER: dict[str, LiteralString] = {
    "<": "FALSE",
    "<=": "FALSE",
    "!=": "TRUE",
    ">": "TRUE",
    ">=": "TRUE",
    "=": "FALSE",
}
_PATH: LiteralString = "%s::text[]"


class PostgresAuditLog:
    """Audit events in PostgreSQL (table ``audit_events``).

    Args:
        url_or_db: A ``postgresql://`` URL, or the `PostgresDatabase` to share.
    """

    def __init__(self, url_or_db: str | PostgresDatabase) -> None:
        self.db = as_database(url_or_db)

    def __repr__(self) -> str:
        return "PostgresAuditLog(<database>)"

    async def record(self, *events: AuditEvent) -> None:
        """Append `events` (in one transaction)."""
        rows = [
            (
                e.at,
                e.kind,
                e.conversation_id,
                e.message_id,
                e.actor,
                e.confidence,
                dumps(dict(e.data)),
            )
            for e in events
        ]
        if not rows:
            return
        async with self.db.transaction() as connection, connection.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO audit_events (at, kind, conversation_id, message_id, actor,"
                " confidence, data) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                rows,
            )

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        """The events `query` selects, oldest first."""
        clauses, args = _where(query)
        sql: LiteralString = f"SELECT {_COLUMNS} FROM audit_events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq LIMIT %s"
        rows = await self.db.fetchall(sql, (*args, query.limit))
        return [_event(row) for row in rows]


def _where(query: AuditQuery) -> tuple[list[LiteralString], list[Any]]:
    clauses: list[LiteralString] = []
    args: list[Any] = []
    if query.conversation_id is not None:
        clauses.append("conversation_id = %s")
        args.append(query.conversation_id)
    if query.since is not None:
        clauses.append("at >= %s")
        args.append(query.since)
    if query.kinds:
        clauses.append("kind = ANY(%s)")
        args.append(list(query.kinds))
    for condition in query.where:
        clause, values = _condition(condition)
        clauses.append(clause)
        args.extend(values)
    return clauses, args


def _condition(condition: Condition) -> tuple[LiteralString, list[Any]]:
    """The SQL of one condition and its parameters, compared as SQLite compares them.

    Numbers compare as numbers (JSON ``true``/``false`` are 1 and 0, as
    ``json_extract`` gives them), text as text byte by byte (``COLLATE "C"``, SQLite's
    ``BINARY``), and across the two every number sorts before any text.
    """
    op = _OPERATORS[condition.op]
    value = condition.value
    if condition.is_column:
        column = _COLUMN_SQL[condition.field]
        if column == "confidence":
            if isinstance(value, str):
                return f"(confidence IS NOT NULL AND {_NUMBER_VS_TEXT[op]})", []
            return f"confidence {op} %s", [value]
        # a text column compares a number as its text (SQLite's TEXT affinity)
        return f'{column} COLLATE "C" {op} %s', [value if isinstance(value, str) else str(value)]
    path = condition.field.split(".")
    kind: LiteralString = f"jsonb_typeof(data #> {_PATH})"
    text: LiteralString = f"(data #>> {_PATH})"
    if isinstance(value, str):
        return (
            f"(CASE {kind} WHEN 'number' THEN {_NUMBER_VS_TEXT[op]}"
            f" WHEN 'boolean' THEN {_NUMBER_VS_TEXT[op]}"
            f" WHEN 'null' THEN NULL ELSE {text} COLLATE \"C\" {op} %s END)",
            [path, path, value],
        )
    return (
        f"(CASE {kind} WHEN 'number' THEN {text}::double precision {op} %s"
        f" WHEN 'boolean' THEN {text}::boolean::int {op} %s"
        f" WHEN 'string' THEN {_TEXT_VS_NUMBER[op]} WHEN 'object' THEN {_TEXT_VS_NUMBER[op]}"
        f" WHEN 'array' THEN {_TEXT_VS_NUMBER[op]} END)",  # JSON null or no such key: NULL
        [path, path, value, path, value],
    )


def _event(row: Sequence[Any]) -> AuditEvent:
    seq, at, kind, conversation_id, message_id, actor, confidence, data = row
    return AuditEvent(
        seq=seq,
        at=utc(at),
        kind=kind,
        conversation_id=conversation_id,
        message_id=message_id,
        actor=actor,
        confidence=confidence,
        data=dict(data),
    )
