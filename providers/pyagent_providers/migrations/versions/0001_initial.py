"""The stores' tables: conversations, messages, cases, action ledger, audit trail, costs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE pyagent_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BYTEA NOT NULL
);
CREATE TABLE escalations (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT GENERATED ALWAYS AS ('ESC-' || lpad(seq::text, 6, '0')) STORED UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    priority TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    reason TEXT NOT NULL,
    summary TEXT NOT NULL,
    conversation JSONB NOT NULL DEFAULT '[]',
    conversation_id TEXT,
    agent TEXT,
    metadata JSONB NOT NULL DEFAULT '{}',
    key TEXT UNIQUE
);
CREATE INDEX escalations_status ON escalations (status, priority, seq);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    tier TEXT,
    ticket_id TEXT,
    summary TEXT,
    summary_upto INTEGER NOT NULL DEFAULT 0,
    placeholders JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX conversations_ticket ON conversations (ticket_id);
-- A conversation's state is its case's: open -> waiting, claimed -> with that person.
CREATE VIEW conversation_states AS
SELECT c.id, c.user_id,
    CASE e.status WHEN 'open' THEN 'waiting_for_human' WHEN 'claimed' THEN 'with_human'
        ELSE 'bot' END AS state,
    c.tier, c.ticket_id, CASE e.status WHEN 'claimed' THEN e.agent END AS agent,
    c.summary, c.summary_upto, c.placeholders, c.created_at, c.updated_at
FROM conversations AS c LEFT JOIN escalations AS e ON e.id = c.ticket_id;
CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq INTEGER NOT NULL,
    author TEXT NOT NULL,
    name TEXT,
    content TEXT NOT NULL,
    message_id TEXT,
    in_reply_to TEXT,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_id ON messages (conversation_id, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX messages_reply ON messages (conversation_id, in_reply_to);
CREATE TABLE actions (
    key TEXT PRIMARY KEY,
    conversation_id TEXT,
    status TEXT NOT NULL,
    record JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX actions_conversation ON actions (conversation_id);
CREATE TABLE audit_events (
    seq BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    conversation_id TEXT,
    message_id TEXT,
    actor TEXT,
    confidence DOUBLE PRECISION,
    data JSONB NOT NULL
);
CREATE INDEX audit_conversation ON audit_events (conversation_id, seq);
CREATE INDEX audit_at ON audit_events (at);
CREATE TABLE calls (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    model TEXT NOT NULL,
    priced_as TEXT NOT NULL,
    tier TEXT,
    agent TEXT,
    route TEXT,
    conversation_id TEXT,
    query TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cost NUMERIC NOT NULL,
    estimated BOOLEAN NOT NULL
);
CREATE INDEX calls_day ON calls (day);
CREATE INDEX calls_conversation ON calls (conversation_id);
"""


def upgrade() -> None:
    """Create the tables."""
    op.execute(SCHEMA)


def downgrade() -> None:
    """Drop them (and everything in them)."""
    op.execute(
        "DROP VIEW conversation_states; DROP TABLE calls, audit_events, actions, messages,"
        " conversations, escalations, pyagent_secret"
    )
