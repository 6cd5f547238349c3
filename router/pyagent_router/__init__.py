"""Model registry, routing, difficulty estimation, classifiers and cost tracking.

Built on `pyagent_providers`; the routing components arrive with the routing issue.
"""

__all__: list[str] = []
