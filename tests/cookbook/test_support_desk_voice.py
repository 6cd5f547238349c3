"""The support desk's voice is the recipe's, injected into LocalModel (not built into it)."""

from __future__ import annotations

from pyagent_cookbook.customer_support.composer import SupportDeskComposer
from pyagent_cookbook.data import load_articles
from pyagent_providers import LocalModel, Message, ModelRequest


def _reply(model: LocalModel, text: str, signals: str = "") -> str:
    request = ModelRequest(messages=(Message.user(text),), system=signals or None)
    return model.complete_sync(request).text


def test_the_triage_signals_shape_the_reply() -> None:
    desk = LocalModel(knowledge_base=load_articles(), composer=SupportDeskComposer())
    outage = _reply(
        desk,
        "Everything is down for all our users since 9:00, thanks for looking",
        "Triage signals: category=technical; priority=critical; sentiment=satisfied.",
    )
    assert "kind words" not in outage and "Because this is urgent" in outage
    closing = _reply(
        desk, "thanks, that fixed it!", "Triage signals: priority=low; sentiment=satisfied."
    )
    assert closing.startswith("Glad that's sorted!") and "1." not in closing
    assert closing.endswith("(Drafted offline by pyagent's local model.)")


def test_without_a_composer_the_local_model_has_no_house_voice() -> None:
    plain = _reply(LocalModel(knowledge_base=load_articles()), "How do I export my tasks to CSV?")
    assert not plain.startswith(("Thanks for reaching out", "Sorry", "I'm sorry"))
    assert "(Drafted offline by pyagent's local model from the help-centre article" in plain
