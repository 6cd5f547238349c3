"""Input and output guards (length, PII redaction, ...); depends on nothing of pyagent's.

The guards arrive with the patterns issue; this package holds the layer's place.
"""

__all__: list[str] = []
