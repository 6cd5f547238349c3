"""Recipes of the neighbouring seeds: one module each, run by ``pyagent demo --recipe NAME``.

- `kb_autoreply` (seed 001, ``kb-autoreply``): knowledge-base search, duplicate detection
  with a confidence, an auto-reply only for a confident duplicate, otherwise labels and
  the human queue.
- `branch_agents` (seed 003, ``branch-agents``): a deterministic router, refund, shipping
  and general agents with only their own tools, an idempotent refund and a durable
  ``escalate_to_human``.
- `ticket_automation` (seed 004, ``ticket-automation``): a signed, idempotent webhook,
  customer-profile and order tools, confidence-gated sending, the policy guard on replies,
  escalation tags and the audit trail.
"""
