"""Agent and the patterns (Supervisor, TalkerReasoner, HumanInTheLoop, ...); the top layer.

The patterns arrive with the patterns issue; this package holds the layer's place.
"""

__all__: list[str] = []
