"""Output guards (PromiseGuard, LeakGuard, SystemPromptGuard) and GuardrailChain.check_reply,
against real Presidio on the local spaCy model."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pyagent_guardrails import (
    COMMITMENTS,
    Guard,
    GuardrailChain,
    GuardResult,
    LeakGuard,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
    PromiseGuard,
    ReplyContext,
    ReplyGuard,
    SystemPromptGuard,
)

STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


@pytest.fixture(scope="module")
def placeholders() -> PlaceholderMap:
    return PlaceholderMap()


@pytest.fixture(scope="module")
def pii(placeholders: PlaceholderMap) -> Iterator[PIIGuard]:
    yield PIIGuard(placeholders=placeholders)


@pytest.fixture(scope="module")
def leak(pii: PIIGuard) -> LeakGuard:
    return LeakGuard(pii, entities=pii.entities)  # names and places checked too


def assert_no_raw_values(result: GuardResult, *raw_values: str) -> None:
    dumped = (repr(result) + result.message).lower()
    for raw in raw_values:
        assert raw.lower() not in dumped


@dataclass(frozen=True, kw_only=True)
class RecordingReplyGuard:
    """An outgoing guard that passes everything and remembers what it saw, and where."""

    name: str = "reply-recorder"
    seen: list[str] = field(default_factory=list[str])
    threads: list[int] = field(default_factory=list[int])

    def check_reply(self, text: str, context: ReplyContext) -> GuardResult:
        self.seen.append(text)
        self.threads.append(threading.get_ident())
        return GuardResult(passed=True, sanitized_content=text)


# --- ReplyContext ---------------------------------------------------------------------------


def test_reply_context_defaults_grant_nothing() -> None:
    context = ReplyContext()
    assert context.granted == frozenset()
    assert context.system_prompts == ()
    assert context.conversation_id is None
    assert COMMITMENTS == {"refund", "discount", "credit", "sla_exception"}


def test_reply_context_refuses_unknown_commitments_and_bare_strings() -> None:
    with pytest.raises(ValueError, match="refunds"):
        ReplyContext(granted=frozenset({"refunds"}))
    with pytest.raises(TypeError, match="granted"):
        ReplyContext(granted="refund")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="system_prompts"):
        ReplyContext(system_prompts="You are a support agent.")  # type: ignore[arg-type]


def test_reply_context_is_frozen_and_normalises_collections() -> None:
    context = ReplyContext(granted={"refund"}, system_prompts=["Be kind."])  # type: ignore[arg-type]
    assert context.granted == frozenset({"refund"})
    assert context.system_prompts == ("Be kind.",)
    with pytest.raises(AttributeError):
        context.granted = frozenset()  # type: ignore[misc]


# --- PromiseGuard ---------------------------------------------------------------------------

PROMISES = [
    # English
    ("I've issued a full refund of $49.99 to your card.", "refund"),
    ("Your refund has been processed and should arrive in 3-5 business days.", "refund"),
    ("Good news: I've applied a 20% discount to your next invoice.", "discount"),
    ("I can offer you 15% off your renewal.", "discount"),
    ("I have added a $25 credit to your account.", "credit"),
    ("As a goodwill gesture, we're giving you a free month.", "credit"),
    ("I've waived the late fee for March.", "sla_exception"),
    ("We guarantee a fix within 2 hours.", "sla_exception"),
    ("I'll expedite your ticket, and a resolution by tomorrow is guaranteed.", "sla_exception"),
    ("We won't charge you the cancellation fee this time.", "sla_exception"),
    # Spanish
    ("Hemos tramitado el reembolso completo.", "refund"),
    ("Le aplicaremos un descuento del 15% en su próxima factura.", "discount"),
    ("Hemos añadido un crédito de 10 € a su cuenta.", "credit"),
    ("Le garantizamos una respuesta en menos de una hora.", "sla_exception"),
    # French
    ("Je vous ai remboursé la totalité de votre commande.", "refund"),
    ("Nous vous offrons une remise de 10 % sur votre prochain achat.", "discount"),
    ("Un avoir de 20 € a été crédité sur votre compte.", "credit"),
    ("Nous avons annulé les frais de retard.", "sla_exception"),
    ("Nous ne vous facturerons pas les frais de retard.", "sla_exception"),
    # German
    ("Ich habe Ihnen den vollen Betrag erstattet.", "refund"),
    ("Wir gewähren Ihnen 15 % Rabatt auf die nächste Rechnung.", "discount"),
    ("Gerne schreiben wir Ihnen 20 € gut.", "credit"),
    ("Die Mahngebühr haben wir storniert.", "sla_exception"),
    # Portuguese
    ("Já processei o seu reembolso.", "refund"),
    ("Vamos aplicar um desconto de 10% na sua próxima fatura.", "discount"),
    ("Adicionámos um crédito de 5 € à sua conta.", "credit"),
    ("Isentamos a multa de cancelamento.", "sla_exception"),
]

NOT_PROMISES = [
    # refusals and negations
    "I can't promise a refund.",
    "I'm not able to offer a discount.",
    "Unfortunately, a refund isn't possible for annual plans.",
    "I'm unable to waive the cancellation fee.",
    "No puedo garantizarle un reembolso.",
    "Je ne peux pas vous promettre de remboursement.",
    "Ich kann Ihnen leider keinen Rabatt anbieten.",
    "Não posso prometer um reembolso.",
    # who decides, requests passed on, checks
    "Refunds are decided by our billing team.",
    "I've forwarded your refund request to the billing team, who will review it.",
    "I'll check whether we can offer a credit.",
    "Los reembolsos los decide nuestro equipo de facturación.",
    "Je transmets votre demande de remboursement au service facturation.",
    "Ich habe Ihre Erstattungsanfrage an die Buchhaltung weitergeleitet.",
    "Encaminhei o seu pedido de reembolso para a equipa de faturação.",
    # descriptions of policy
    "Our refund policy allows refunds within 30 days of purchase.",
    "Refunds are issued to the original payment method within 5-10 days.",
    "You may be eligible for a discount if you switch to annual billing.",
    "We don't charge cancellation fees on monthly plans.",
    "Según nuestra política, los reembolsos se aceptan dentro de 30 días.",
    "Notre politique de remboursement permet un remboursement sous 30 jours.",
    "Über Erstattungen entscheidet unser Abrechnungsteam.",
    "A nossa política de reembolso permite devoluções em 30 dias.",
    # questions
    "Would you like me to request a refund?",
    "¿Desea que le apliquemos un descuento?",
    # other senses of the words
    "Please update your credit card details in Settings.",
    "I'm sorry the refund took so long to arrive.",
]


@pytest.mark.parametrize(("text", "kind"), PROMISES)
def test_an_ungranted_promise_fails(text: str, kind: str) -> None:
    result = PromiseGuard().check_reply(text, ReplyContext())
    assert not result.passed
    assert result.sanitized_content is None
    assert [f.kind for f in result.findings] == [kind]
    assert all(f.guard == "promise" for f in result.findings)
    article = "an SLA exception" if kind == "sla_exception" else f"a {kind}"
    assert result.message == f"promises {article} no tool granted"


@pytest.mark.parametrize(("text", "kind"), PROMISES)
def test_a_granted_promise_passes(text: str, kind: str) -> None:
    result = PromiseGuard().check_reply(text, ReplyContext(granted=frozenset({kind})))
    assert result == GuardResult(passed=True, sanitized_content=text)


@pytest.mark.parametrize("text", NOT_PROMISES)
def test_refusals_policy_and_questions_pass(text: str) -> None:
    result = PromiseGuard().check_reply(text, ReplyContext())
    assert result.passed, [text[f.start : f.end] for f in result.findings]
    assert result.sanitized_content == text


def test_a_grant_covers_its_own_commitment_only() -> None:
    text = "I've issued a full refund and added a $10 credit to your account."
    result = PromiseGuard().check_reply(text, ReplyContext(granted=frozenset({"refund"})))
    assert not result.passed
    assert [f.kind for f in result.findings] == ["credit"]
    assert result.message == "promises a credit no tool granted"


def test_a_refusal_does_not_cover_a_promise_after_but() -> None:
    text = "I can't promise a refund, but I've applied a 10% discount to your plan."
    result = PromiseGuard().check_reply(text, ReplyContext())
    assert [f.kind for f in result.findings] == ["discount"]
    finding = result.findings[0]
    assert text[finding.start : finding.end] == "I've applied a 10% discount"


def test_several_ungranted_commitments_are_all_named() -> None:
    text = "We've refunded your last payment. I've also applied a 20% discount."
    result = PromiseGuard().check_reply(text)
    assert result.message == "promises a refund and a discount no tool granted"


def test_the_finding_spans_the_promising_phrase() -> None:
    text = "Thanks for waiting. Ihre Rückerstattung wurde heute veranlasst."
    (finding,) = PromiseGuard().check_reply(text).findings
    assert text[finding.start : finding.end] == "Rückerstattung wurde heute veranlasst"


# --- LeakGuard ------------------------------------------------------------------------------


def test_an_email_the_customer_sent_may_be_repeated(pii: PIIGuard, leak: LeakGuard) -> None:
    chain = GuardrailChain([pii, leak])
    incoming = chain.check("Please write to ann.lee@example.com", conversation_id="leak-sent")
    assert incoming.sanitized_content == "Please write to <EMAIL_ADDRESS_1>"
    context = ReplyContext(conversation_id="leak-sent")
    result = chain.check_reply("I've sent the invoice to Ann.Lee@example.com.", context=context)
    assert result.passed, result.message
    assert result.sanitized_content == "I've sent the invoice to Ann.Lee@example.com."


def test_an_email_the_customer_did_not_send_fails(pii: PIIGuard, leak: LeakGuard) -> None:
    pii.check("Please write to ann.lee@example.com", conversation_id="leak-other")
    reply = "Our records list bob.miller@example.org for this account."
    result = leak.check_reply(reply, ReplyContext(conversation_id="leak-other"))
    assert not result.passed
    assert result.message == "contains PII the customer did not send (EMAIL_ADDRESS)"
    (finding,) = result.findings
    assert (finding.guard, finding.kind) == ("leak", "EMAIL_ADDRESS")
    assert reply[finding.start : finding.end] == "bob.miller@example.org"
    assert finding.placeholder is None
    assert_no_raw_values(result, "bob.miller@example.org", "bob.miller")


def test_what_one_conversation_sent_leaks_in_another(pii: PIIGuard, leak: LeakGuard) -> None:
    pii.check("Call me on (415) 555-0132", conversation_id="leak-a")
    reply = "We'll call you on (415) 555-0132."
    assert leak.check_reply(reply, ReplyContext(conversation_id="leak-a")).passed
    other = leak.check_reply(reply, ReplyContext(conversation_id="leak-b"))
    assert not other.passed
    assert [f.kind for f in other.findings] == ["PHONE_NUMBER"]
    assert_no_raw_values(other, "555-0132", "555")


def test_a_secret_fails_even_when_the_customer_sent_it(pii: PIIGuard, leak: LeakGuard) -> None:
    pii.check(f"my key {STRIPE_KEY} stopped working", conversation_id="leak-key")
    reply = f"Thanks! I tested your key {STRIPE_KEY} and it works."
    result = leak.check_reply(reply, ReplyContext(conversation_id="leak-key"))
    assert not result.passed
    assert result.message == "contains a secret"
    assert [f.kind for f in result.findings] == ["SECRET"]
    assert_no_raw_values(result, STRIPE_KEY, "4eC39HqLyjWDarjtT1zdp7dc")


def test_a_secret_and_unsent_pii_are_both_reported(leak: LeakGuard) -> None:
    reply = f"Use {STRIPE_KEY} and write to ops@example.net"
    result = leak.check_reply(reply, ReplyContext(conversation_id="leak-both"))
    assert result.message == ("contains a secret and PII the customer did not send (EMAIL_ADDRESS)")
    assert [f.kind for f in result.findings] == ["SECRET", "EMAIL_ADDRESS"]
    assert_no_raw_values(result, STRIPE_KEY, "ops@example.net")


def test_placeholders_in_the_reply_are_not_leaks(leak: LeakGuard) -> None:
    reply = "Thanks <PERSON_1>, I'll email the label to <EMAIL_ADDRESS_1> today."
    result = leak.check_reply(reply, ReplyContext(conversation_id="leak-placeholders"))
    assert result == GuardResult(passed=True, sanitized_content=reply)


def test_allowed_values_such_as_the_agents_name_pass(leak: LeakGuard) -> None:
    reply = "Best regards, Dana Whitfield from Orbit support"
    assert not leak.check_reply(reply, ReplyContext(conversation_id="leak-allow")).passed
    context = ReplyContext(conversation_id="leak-allow", allow=frozenset({"Dana Whitfield"}))
    assert leak.check_reply(reply, context).passed


def test_conversation_none_shares_the_input_guards_default(pii: PIIGuard) -> None:
    placeholders = PlaceholderMap()
    guard = PIIGuard(placeholders=placeholders)
    guard.check("I'm at zoe.park@example.com")
    leak = LeakGuard(pii, placeholders, entities=pii.entities)  # the other guard's analysis
    assert leak.check_reply("Sent to zoe.park@example.com.", ReplyContext()).passed
    assert not LeakGuard(pii, PlaceholderMap()).check_reply("Sent to zoe.park@example.com.").passed


def test_the_leak_guard_needs_secret_detection() -> None:
    with pytest.raises(ValueError, match="SECRET"):
        LeakGuard(PIIGuard(entities=["EMAIL_ADDRESS"]))


def test_a_detection_error_withholds_the_reply(leak: LeakGuard) -> None:
    class BrokenAnalyzer:
        def analyze(self, **_: object) -> list[object]:
            raise RuntimeError("analyzer down while reading bob@example.org")

    broken = PIIGuard(analyzer=BrokenAnalyzer())
    result = LeakGuard(broken).check_reply("write to bob@example.org")
    assert not result.passed
    assert result.message == "leak detection failed; reply withheld"
    assert_no_raw_values(result, "bob@example.org")


# --- SystemPromptGuard ----------------------------------------------------------------------

PROMPT = (
    "You are the support assistant for Orbit. Never reveal the internal escalation codes "
    "or the refund approval matrix to customers, and always answer politely."
)


def test_a_run_of_eight_prompt_words_fails() -> None:
    reply = "Sure! My instructions say: NEVER reveal the internal escalation-codes, or the..."
    result = SystemPromptGuard().check_reply(reply, ReplyContext(system_prompts=(PROMPT,)))
    assert not result.passed
    assert result.message == "repeats the system prompt"
    (finding,) = result.findings
    assert (finding.guard, finding.kind) == ("system_prompt", "system_prompt")
    repeated = reply[finding.start : finding.end]
    assert repeated == "NEVER reveal the internal escalation-codes, or the"


def test_seven_shared_words_pass() -> None:
    reply = "We never reveal the internal escalation codes or anything similar."
    result = SystemPromptGuard().check_reply(reply, ReplyContext(system_prompts=(PROMPT,)))
    assert result.passed


def test_a_short_prompt_fails_only_when_repeated_whole() -> None:
    context = ReplyContext(system_prompts=("Codename: BLUE HERON 7.",))
    guard = SystemPromptGuard()
    assert not guard.check_reply("Your codename: Blue Heron 7", context).passed
    assert guard.check_reply("Our codename is blue heron 7", context).passed
    assert not guard.check_reply("codename: blue heron, 7!", context).passed
    assert guard.check_reply("We saw a blue heron today", context).passed


def test_any_of_several_prompts_counts_and_no_prompts_pass() -> None:
    second = "Tool results are JSON objects with the fields status, amount and currency only."
    reply = "Objects with the fields status, amount and currency only. That's all."
    guard = SystemPromptGuard()
    assert not guard.check_reply(reply, ReplyContext(system_prompts=(PROMPT, second))).passed
    assert guard.check_reply(reply, ReplyContext(system_prompts=(PROMPT,))).passed
    assert guard.check_reply(reply, ReplyContext()).passed


def test_min_words_is_configurable_and_validated() -> None:
    reply = "We never reveal the internal escalation codes."
    context = ReplyContext(system_prompts=(PROMPT,))
    assert not SystemPromptGuard(min_words=5).check_reply(reply, context).passed
    with pytest.raises(ValueError):
        SystemPromptGuard(min_words=0)


# --- GuardrailChain.check_reply -------------------------------------------------------------


def test_check_reply_skips_input_guards(pii: PIIGuard) -> None:
    recorder = RecordingReplyGuard()
    chain = GuardrailChain([LengthGuard(max_chars=20), pii, recorder])
    reply = "Hi Robert Miller, your order shipped this morning."  # too long, has a name
    result = chain.check_reply(reply, context=ReplyContext(conversation_id="skip"))
    assert result == GuardResult(passed=True, sanitized_content=reply)
    assert recorder.seen == [reply]


def test_check_skips_output_guards(pii: PIIGuard, leak: LeakGuard) -> None:
    chain = GuardrailChain([pii, PromiseGuard(), leak, SystemPromptGuard()])
    text = f"You promised I'd get a refund! My key is {STRIPE_KEY}"
    result = chain.check(text, conversation_id="skip-out")
    assert result.passed
    assert result.sanitized_content == "You promised I'd get a refund! My key is <SECRET_1>"
    assert {f.guard for f in result.findings} == {"pii"}


def test_check_reply_stops_at_the_first_failure(leak: LeakGuard) -> None:
    recorder = RecordingReplyGuard()
    chain = GuardrailChain([PromiseGuard(), leak, recorder])
    reply = "I've refunded you and emailed the receipt to kim@example.org."
    result = chain.check_reply(reply, context=ReplyContext(conversation_id="stop"))
    assert not result.passed
    assert result.message == "promises a refund no tool granted"
    assert recorder.seen == []
    granted = ReplyContext(conversation_id="stop", granted=frozenset({"refund"}))
    result = chain.check_reply(reply, context=granted)
    assert result.message == "contains PII the customer did not send (EMAIL_ADDRESS)"
    assert_no_raw_values(result, "kim@example.org")
    assert recorder.seen == []


async def test_acheck_reply_runs_in_a_worker_thread(leak: LeakGuard) -> None:
    recorder = RecordingReplyGuard()
    chain = GuardrailChain([PromiseGuard(), leak, recorder])
    reply = "Your order is on the way."
    result = await chain.acheck_reply(reply, context=ReplyContext(conversation_id="async"))
    assert result == GuardResult(passed=True, sanitized_content=reply)
    assert recorder.threads and recorder.threads[0] != threading.get_ident()


@pytest.mark.parametrize("value", [b"I've refunded you", None, 42])
def test_check_reply_refuses_non_text(value: object) -> None:
    recorder = RecordingReplyGuard()
    result = GuardrailChain([recorder]).check_reply(value)  # type: ignore[arg-type]
    assert not result.passed
    assert type(value).__name__ in result.message
    assert recorder.seen == []


@pytest.mark.parametrize("guard", [PromiseGuard(), SystemPromptGuard()])
def test_each_output_guard_refuses_invalid_text_on_its_own(guard: ReplyGuard) -> None:
    assert not guard.check_reply(None, ReplyContext()).passed  # type: ignore[arg-type]
    assert "surrogate" in guard.check_reply("bad \udc80", ReplyContext()).message


def test_a_reply_guard_that_raises_fails_closed() -> None:
    class Exploding:
        name = "exploder"

        def check_reply(self, text: str, context: ReplyContext) -> GuardResult:
            raise RuntimeError(f"cannot handle {text!r}")

    result = GuardrailChain([Exploding()]).check_reply("call ann@example.com")
    assert not result.passed
    assert result.message == "guard 'exploder' failed; reply withheld"
    assert_no_raw_values(result, "ann@example.com")


def test_a_reply_guard_passing_without_content_fails_closed() -> None:
    class Silent:
        name = "silent"

        def check_reply(self, text: str, context: ReplyContext) -> GuardResult:
            return GuardResult(passed=True, sanitized_content=None)

    result = GuardrailChain([Silent()]).check_reply("hello")
    assert not result.passed
    assert "silent" in result.message


def test_a_guard_with_neither_method_is_refused_by_the_chain() -> None:
    class Nameless:
        name = "nothing"

    with pytest.raises(TypeError, match="Nameless"):
        GuardrailChain([Nameless()])  # type: ignore[list-item]


def test_output_guards_are_reply_guards_only(leak: LeakGuard) -> None:
    for guard in (PromiseGuard(), leak, SystemPromptGuard()):
        assert isinstance(guard, ReplyGuard)
        assert not isinstance(guard, Guard)


# --- PlaceholderMap.known -------------------------------------------------------------------


def test_known_looks_up_without_assigning() -> None:
    placeholders = PlaceholderMap()
    assert not placeholders.known("c", "EMAIL_ADDRESS", "ann@example.com")
    assert placeholders.export("c") == {}
    placeholders.placeholder("c", "EMAIL_ADDRESS", "ann@example.com")
    assert placeholders.known("c", "EMAIL_ADDRESS", " ANN@example.com")
    assert not placeholders.known("c", "EMAIL_ADDRESS", "bob@example.com")
    assert not placeholders.known("c", "PERSON", "ann@example.com")
    assert placeholders.placeholder("c", "EMAIL_ADDRESS", "bob@example.com") == "<EMAIL_ADDRESS_2>"


def test_by_default_only_identifiers_count_and_public_addresses_pass(pii: PIIGuard) -> None:
    leak = LeakGuard(pii, PlaceholderMap(), public=("@orbitly.com",))
    context = ReplyContext(conversation_id="d")
    ui_text = "Open Settings → Billing → Invoice history and click Generate token."
    assert leak.check_reply(ui_text, context).passed
    assert leak.check_reply("Write to billing@orbitly.com", context).passed
    assert not leak.check_reply("Write to jo@example.com", context).passed
