"""The ``pyagent`` command line: demo, route, cost-profile, chat and serve."""

__all__: list[str] = []
