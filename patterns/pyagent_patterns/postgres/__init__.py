"""The patterns' stores in PostgreSQL, for several server processes and workers at once.

``PYAGENT_DATABASE_URL=postgresql://…`` (or a URL given to `open_store`) puts the
conversations, the human queue, the action ledger and the audit trail in one PostgreSQL
database (the schema of ``pyagent db upgrade``), through one `PostgresDatabase` pool:

- `PostgresConversationStore`: the `ConversationStore`, with ``.escalations``,
  ``.actions`` and ``.audit`` on the same database; one conversation's turns are
  serialised across processes by a session-level advisory lock (`TurnLocks`).
- `PostgresEscalationQueue`: the human queue, with `claim_next` for several people or
  workers taking cases at once (``FOR UPDATE SKIP LOCKED``).
- `PostgresActionLedger`: side-effecting calls by idempotency key; two workers beginning
  one key never both run it.
- `PostgresAuditLog`: the audit trail, queried like the SQLite one.

Needs the ``postgres`` extra (``pip install 'pyagent[postgres]'``).
"""

from pyagent_providers import MissingDependencyError

try:
    import psycopg

    del psycopg  # imported here only to say which extra is missing
except ImportError as exc:  # pragma: no cover - the extra is installed in development
    raise MissingDependencyError(exc.name or "psycopg", "postgres") from exc

from .audit import PostgresAuditLog
from .conversations import SECRET_ENV, PostgresConversationStore
from .escalations import PostgresEscalationQueue
from .ledger import PostgresActionLedger
from .locks import TurnLocks

__all__ = [
    "SECRET_ENV",
    "PostgresActionLedger",
    "PostgresAuditLog",
    "PostgresConversationStore",
    "PostgresEscalationQueue",
    "TurnLocks",
]
