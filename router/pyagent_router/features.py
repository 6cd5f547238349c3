"""Surface features of a support message that sentence embeddings blur.

All-MiniLM-L6-v2 embeds what a message is about; how hard or urgent it is shows as much in
its shape: length, questions, error codes and identifiers, "how do I" phrasing, outage and
lockout words, thanks, repetition ("third time", "still"), shouting. `message_features`
turns those into a few scaled numbers that `EmbeddingClassifier.fit(features=...)`
appends to the embedding (measured by cross-validation on the cookbook's train split:
fast/smart 0.72 → 0.80, sentiment 0.67 → 0.71).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["message_features"]

_CUES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, flags)
    for pattern, flags in (
        # a how-to question (en, es, fr, de, pt)
        (r"\b(how\s+(do|can|to)|where\s+(is|can|do)|is\s+there\s+a\s+way|can\s+i|como|"
         r"comment|wie\s+kann|onde)\b", re.I),
        # technical detail: error codes, protocols, payloads
        (r"\b(error|exception|stack|trace|40[0-9]|429|50[0-9]|timeout|null|undefined|webhook|"
         r"api|sso|saml|scim|oauth|token|payload|header|endpoint|json|csv|sync)\b", re.I),
        # outage words
        (r"\b(down|outage|all\s+users|everyone|production|prod|nobody\s+can|entire|"
         r"whole\s+team)\b", re.I),
        # blocked
        (r"\b(blocked|can.?t\s+(log|sign|access|get)|locked\s+out|lockout|2fa|reset)\b", re.I),
        # thanks and praise
        (r"\b(thanks|thank\s+you|great|love|awesome|perfect|merci|gracias|danke|obrigad)\b",
         re.I),
        # repetition and waiting
        (r"\b(already|tried|again|still|third\s+time|second\s+time|repeatedly|weeks?)\b", re.I),
        # shouting
        (r"!{2,}|\b[A-Z]{4,}\b", 0),
        # money and contracts
        (r"\b(enterprise|contract|invoice|vat|refund|prorat\w*|seats?)\b", re.I),
        # several problems in one message
        (r"\b(also|another\s+thing|second(ly)?|additionally|and\s+then|plus)\b", re.I),
    )
)  # fmt: skip
_WEIGHT = 3.0  # brings the features to the scale of a unit embedding's largest components


def message_features(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """One row of scaled surface features per text."""
    rows: list[list[float]] = []
    for text in texts:
        row = [
            math.log1p(len(text.split())) / 5,
            text.count("?") / 3,
            len(re.findall(r"[.!?]\s", text)) / 10,
            len(re.findall(r"\d", text)) / 20,
        ]
        row += [len(cue.findall(text)) / 2 for cue in _CUES]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64) * _WEIGHT
