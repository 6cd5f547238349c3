"""The PostgreSQL schema's migrations (alembic); applied by ``pyagent db upgrade``."""
