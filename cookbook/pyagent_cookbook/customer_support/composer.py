"""The support desk's voice for the offline `LocalModel` (a `ReplyComposer`).

An opening that fits the customer's sentiment, the article's answer, and next steps that
fit the priority. When the system prompt carries the triage's line (``Triage signals:
priority=critical; sentiment=frustrated; ...``, see `signals_line`) those signals are used
instead of the model's own guess; an urgent report is never answered "thanks for the kind
words"; a short thank-you that closes an issue gets a short closing reply, not the article
again.
"""

from __future__ import annotations

import re

from pyagent_providers import Composed, Draft, PlainComposer
from pyagent_providers.drafting import article_answer

__all__ = ["SupportDeskComposer"]

_ASKS_FOR_BREVITY = re.compile(r"\b(concise|brief|2-3 sentences|short)\b", re.IGNORECASE)

# Used when no labelled examples carry these signals: descriptions for zero-shot scoring.
_SENTIMENTS = {
    "neutral": "a calm, factual question or report",
    "frustrated": "annoyed that something keeps failing or wasted their time",
    "angry": "furious, unacceptable, demanding, threatening to leave or complain",
    "satisfied": "happy, thankful, praising the product or the help received",
}
_PRIORITIES = {
    "low": "a general question, a how-to or a feature request",
    "medium": "something works badly or slowly but there is a workaround",
    "high": "the customer is blocked and cannot work or cannot access their account",
    "critical": "an outage, everything is down, data loss, production broken for all users",
}
_OPENINGS = {
    "neutral": "Thanks for reaching out.",
    "frustrated": "Sorry for the trouble — I know this is getting in your way.",
    "angry": "I'm sorry. I understand how disruptive this is, and I want to get it sorted.",
    "satisfied": "Thank you for the kind words!",
}
_NEXT_STEPS = {
    "low": "I hope that helps; reply here if anything else comes up.",
    "medium": "If it keeps happening after these steps, reply with what you observed and "
    "we'll dig in.",
    "high": "If these steps don't unblock you, reply with the exact error message and when "
    "it started, and we'll take it from there.",
    "critical": "Because this is urgent, reply with the time it started and any error or "
    "request IDs so the team can act on it immediately.",
}

# Signals an upstream triage put in the system prompt ("Triage signals: priority=high; ...").
_TRIAGE_SIGNAL = re.compile(r"\b(category|priority|sentiment|escalation)=([a-z_]+)")
_CLOSING = re.compile(
    r"^\W*(ok(ay)?|great|perfect|awesome|thanks?|thank\s+you|thx|ty|cheers|merci|gracias|danke|"
    r"obrigad[oa]|that\s+(fixed|solved|worked|did)\s+it|it\s+works?(\s+now)?|all\s+good|sorted)\b",
    re.IGNORECASE,
)
_CLOSING_REPLY = "Glad that's sorted! If anything else comes up, just reply here."


class SupportDeskComposer(PlainComposer):
    """Replies in the support desk's voice; hand-off summaries as `PlainComposer`."""

    def reply(self, draft: Draft) -> Composed:
        """Opening by sentiment, the answer, next steps by priority (see the module)."""
        given = dict(_TRIAGE_SIGNAL.findall(draft.system))
        sentiment = given.get("sentiment") or draft.classify("sentiment", _SENTIMENTS)
        priority = given.get("priority") or draft.classify("priority", _PRIORITIES)
        if sentiment not in _OPENINGS or priority not in _NEXT_STEPS:
            sentiment, priority = "neutral", "medium"
        if sentiment == "satisfied" and priority in ("high", "critical"):
            sentiment = "neutral"  # an urgent report is never answered "thanks for the kind words"
        latest = draft.latest
        if sentiment == "satisfied" and _CLOSING.search(latest) and len(latest.split()) <= 12:
            return Composed(_CLOSING_REPLY)  # "thanks, that fixed it": no article again
        if draft.tool_result or draft.article is None:
            answer = super().reply(draft)
        else:
            brief = bool(_ASKS_FOR_BREVITY.search(draft.system))
            answer = Composed(article_answer(draft.article, brief=brief), draft.article)
        text = "\n\n".join([_OPENINGS[sentiment], answer.text, _NEXT_STEPS[priority]])
        return Composed(text, answer.grounded_in)
