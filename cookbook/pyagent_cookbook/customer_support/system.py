"""`SupportSystem`: seed 002's support system, assembled from the patterns.

The message's path is drawn in the package docstring (`pyagent_cookbook.customer_support`).
What one message became is a `SupportReply` (`SupportSystem.handle_query`) or, decided
without answering, a `RoutingDecision` (`SupportSystem.route`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pyagent_guardrails import (
    GuardrailChain,
    LeakGuard,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
    PromiseGuard,
    SystemPromptGuard,
)
from pyagent_patterns import (
    Agent,
    BoundedExecution,
    EscalationQueue,
    HumanDecision,
    HumanInTheLoop,
    SQLiteEscalationQueue,
    Supervisor,
    TalkerReasoner,
)
from pyagent_providers import LLM, ModelRequest, UserError
from pyagent_router import (
    CostTracker,
    ModelRegistry,
    RouterMiddleware,
    collect_calls,
    cost_labels,
    open_cost_tracker,
)
from pyagent_router.escalation import EscalationReason, LLMJudge
from pyagent_router.tiers import choose_tier

from ..data import ROUTE_OF_CATEGORY
from ..triage import Triager, TriageResult, default_triager
from .models import Models, choose_models
from .pipeline import SupportPipeline, TriageDifficulty, triage_of
from .prompts import (
    BOT_PROMPTS,
    CLASSIFIER_PROMPT,
    CRISIS_REPLY,
    FALLBACK_PROMPT,
    HANDOFF_PROMPT,
    HANDOFF_THRESHOLDS,
)
from .records import RoutingDecision, SupportReply

__all__ = [
    "HANDOFF_THRESHOLD_ENV",
    "MAX_MESSAGE_CHARS",
    "WARM_UP_QUERY",
    "Classification",
    "SupportSystem",
    "handoff_thresholds",
]

# One length limit for the whole recipe (guard and chat handler): a longer message is
# refused with a clear error, never cut short without a word.
MAX_MESSAGE_CHARS = 8_000
WARM_UP_QUERY = "How do I reset my password?"
Classification = Literal["auto", "local", "cascade", "llm"]
# One handoff threshold for every bot (``pyagent calibrate`` chooses it), instead of
# `HANDOFF_THRESHOLDS`.
HANDOFF_THRESHOLD_ENV = "PYAGENT_HANDOFF_THRESHOLD"


def handoff_thresholds(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Each bot's handoff threshold: ``$PYAGENT_HANDOFF_THRESHOLD`` for all, when set.

    Unset (or empty), the bots keep `HANDOFF_THRESHOLDS`. The value is the lowest
    difficulty (1-10) the smart tier answers, as ``pyagent calibrate`` prints it.

    Raises:
        UserError: The variable is set but not a whole number from 1 to 10.
    """
    value = (os.environ if environ is None else environ).get(HANDOFF_THRESHOLD_ENV, "").strip()
    if not value:
        return dict(HANDOFF_THRESHOLDS)
    try:
        threshold = int(value)
    except ValueError:
        threshold = 0
    if not 1 <= threshold <= 10:
        raise UserError(
            f"{HANDOFF_THRESHOLD_ENV} must be a whole number from 1 to 10 "
            f"(the lowest difficulty the smart tier answers), got {value!r}"
        )
    return dict.fromkeys(HANDOFF_THRESHOLDS, threshold)


class SupportSystem:
    """The seed 002 support system, assembled from the patterns.

    Every model call is metered in `tracker`. Offline, the local model stands in for the
    online models and its calls are priced as theirs, from its own token counts: the cost
    the online system would have had for the same prompts, flagged as an estimate.

    Args:
        models: The tiers' models; chosen from the environment by default.
        queue: Where escalations go; defaults to the SQLite file under $PYAGENT_DATA_DIR.
        queue_path: Shortcut for ``SQLiteEscalationQueue(queue_path)``.
        tracker: Where calls and their cost are recorded (`open_cost_tracker`: PostgreSQL
            with ``PYAGENT_DATABASE_URL``, else in memory).
        classification: How triage decides. ``"local"``: embedding classifiers trained on
            the labelled tickets, free and ~20 ms. ``"cascade"``: local where confident,
            otherwise one LLM call on the fast model carrying only the 8 most similar
            labelled tickets (and an LLM judge for uncertain escalations). ``"llm"``:
            every signal by that LLM call. ``"auto"`` (default): cascade with API keys,
            local without (offline the LLM would be `LocalModel`, no wiser than the local
            classifiers).
        placeholders: The PII placeholder map (a private one by default); the chat
            handler passes one it can save and restore per conversation.
        triager: The trained triage (by default the recipe's, trained once per machine and cached).
        handoff_threshold: One handoff threshold (1-10) for every bot; by default
            ``$PYAGENT_HANDOFF_THRESHOLD`` if set, else each bot's `HANDOFF_THRESHOLDS`.
            Messages at or above it go to the smart tier (`handle_query` and `route`).

    Raises:
        UserError: A bad `classification` or handoff threshold (argument or environment).
    """

    def __init__(
        self,
        models: Models | None = None,
        *,
        queue: EscalationQueue | None = None,
        queue_path: str | Path | None = None,
        tracker: CostTracker | None = None,
        classification: Classification = "auto",
        placeholders: PlaceholderMap | None = None,
        triager: Triager | None = None,
        handoff_threshold: int | None = None,
    ) -> None:
        if classification not in ("auto", "local", "cascade", "llm"):
            raise UserError("classification must be 'auto', 'local', 'cascade' or 'llm'")
        if handoff_threshold is None:
            self.handoff_thresholds = handoff_thresholds()
        else:
            self.handoff_thresholds = handoff_thresholds(
                {HANDOFF_THRESHOLD_ENV: str(handoff_threshold)}
            )
        self.models = models = models or choose_models()
        if classification == "auto":
            classification = "local" if models.backend == "local" else "cascade"
        self.classification: Classification = classification
        self.queue = queue or SQLiteEscalationQueue(queue_path)
        self.tracker: CostTracker = tracker or open_cost_tracker()
        self.input_guard = _input_guard(placeholders)
        self.reply_guard = _reply_guard(self.input_guard, placeholders)
        router = _router(models, self.tracker)
        # Calls outside the tiered bots (triage cascade, judge, summaries) are metered too.
        fast = router.metered(router.registry[models.fast_name])
        self.triager = _configured(triager or default_triager(), classification, fast)
        self.estimator = TriageDifficulty(self.triager)
        self.bots = {
            name: _bot(
                name, router, fast, models.smart, self.estimator, self.handoff_thresholds[name]
            )
            for name in BOT_PROMPTS
        }
        self.human = HumanInTheLoop(
            agent=router.wrap(Agent("human_prep", fast, system_prompt=HANDOFF_PROMPT), tier="fast"),
            review_fn=self.queue_human_review,
            queue=self.queue,
            policy=self.triager.policy,
        )
        self.supervisor = Supervisor(
            # Used only when no triage is in the run context (the triage decides the route).
            classifier=Agent("classifier", fast, system_prompt=CLASSIFIER_PROMPT),
            routes={**self.bots, "escalate": self.human},
            override=_route_from_triage,
        )
        self.summarizer = Agent("summarizer", fast)  # the chat handler's context summaries
        self.safe_supervisor = _bounded(self.supervisor, fast)
        self.pipeline = SupportPipeline(self.triager, self.safe_supervisor)

    @staticmethod
    def queue_human_review(output: str, metadata: dict[str, Any]) -> HumanDecision:
        """The review hook: the case is already queued; the customer gets a holding reply.

        Crisis signals get a reply that points to help now, never a help-centre article.
        Replace this with your helpdesk integration (Zendesk, Linear, ...).
        """
        ticket = metadata["ticket_id"]
        if EscalationReason.self_harm in metadata["escalation_reasons"]:
            return HumanDecision(approved=True, modified_output=CRISIS_REPLY.format(ticket=ticket))
        return HumanDecision(
            approved=True,
            modified_output=(
                "I've passed this to our specialist team, who will handle it personally. "
                f"Your ticket is {ticket}; you'll hear back within 2 business hours."
            ),
        )

    async def handle_query(
        self, customer_query: str, *, conversation_id: str | None = None
    ) -> SupportReply:
        """Guard, triage, route and answer one customer message."""
        check = await self.input_guard.acheck(customer_query, conversation_id=conversation_id)
        if not check.passed or check.sanitized_content is None:
            return self._blocked(check.message)
        safe_query = check.sanitized_content
        context = {"conversation_id": conversation_id}
        with cost_labels(conversation_id=conversation_id):
            result = await self.pipeline.run(safe_query, context=context)
        record, triage = result.record, triage_of(result)
        tier = "human" if record.escalated else record.tier
        online = {"fast": self.models.fast_name, "smart": self.models.smart_name}
        return SupportReply(
            response=str(result.output),
            route=record.route,
            tier=tier,
            category=triage.category,
            priority=triage.priority,
            assigned_team=triage.assigned_team,
            sentiment=triage.sentiment,
            difficulty=triage.difficulty,
            model=record.model,
            online_model=online.get(str(tier), self.models.fast_name),
            recovery_level=int(record.recovery_level),
            escalated=record.escalated,
            ticket_id=record.ticket_id,
            escalation_reason=record.escalation_reason,
            redacted_text=safe_query,
            pii_found=check.pii_found,
            blocked=False,
            backend=self.models.backend,
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cost_usd="unknown" if result.cost is None else str(result.cost),
            cost_estimated=result.usage.cost_estimated,
        )

    async def warm_up(self) -> None:
        """Load the guards, embeddings, triage and (offline) the local model's articles.

        Nothing paid is called: the sample is one the local classifiers decide alone, and
        online models need no loading.
        """
        await self.route(WARM_UP_QUERY)
        if self.models.backend == "local":
            await self.models.fast.complete(ModelRequest.of(WARM_UP_QUERY))

    async def route(
        self, customer_query: str, *, conversation_id: str | None = None
    ) -> RoutingDecision:
        """Guard, triage and choose the tier for one message, without answering it.

        Nothing is queued: an escalation is reported, not created.

        Raises:
            UserError: The guards refused the message (empty, too long, not text, PII
                detection failed).
        """
        check = await self.input_guard.acheck(customer_query, conversation_id=conversation_id)
        if not check.passed or check.sanitized_content is None:
            raise UserError(check.message)
        text = check.sanitized_content
        with cost_labels(conversation_id=conversation_id), collect_calls() as calls:
            triage = await self.triager.triage(text)
        bot = _route_from_triage("", triage) or "general"
        tier = triage.tier
        if tier != "human" and bot in self.handoff_thresholds:  # as the bot will decide
            tier = choose_tier(triage.difficulty, threshold=self.handoff_thresholds[bot]).tier
        smart = tier == "smart"
        return RoutingDecision(
            category=triage.category,
            priority=triage.priority,
            assigned_team=triage.assigned_team,
            sentiment=triage.sentiment,
            difficulty=triage.difficulty,
            route=tier,
            bot=bot,
            model=(self.models.smart if smart else self.models.fast).model_id,
            online_model=self.models.smart_name if smart else self.models.fast_name,
            redacted_text=text,
            pii_found=check.pii_found,
            pii_findings=tuple(f for f in check.findings if f.guard == "pii"),
            escalation_reason=", ".join(triage.escalation_reasons) or None,
            escalation_reasons=triage.escalation_reasons,
            confidence=dict(triage.confidence),
            decided_by=dict(triage.decided_by),
            classification=self.classification,
            backend=self.models.backend,
            input_tokens=sum(c.usage.input_tokens for c in calls),
            cost_usd=str(sum((c.cost for c in calls), Decimal(0))),
            cost_estimated=any(c.estimated for c in calls),
        )

    def _blocked(self, reason: str) -> SupportReply:
        return SupportReply(
            response="I'm sorry, I couldn't process your message. " + reason,
            route=None, tier=None, category=None, priority=None, assigned_team=None,
            sentiment=None, difficulty=None, model=None, online_model=None, recovery_level=0,
            escalated=False, ticket_id=None, escalation_reason=None, redacted_text="",
            pii_found=False, blocked=True, backend=self.models.backend, input_tokens=0,
            output_tokens=0, cost_usd="0", cost_estimated=False,
        )  # fmt: skip


# -- builders (the parts `SupportSystem.__init__` wires together) -------------------------


def _input_guard(placeholders: PlaceholderMap | None) -> GuardrailChain:
    """The length limit, then PII redaction."""
    return GuardrailChain(
        [
            LengthGuard(max_chars=MAX_MESSAGE_CHARS),
            PIIGuard(redact=True, placeholders=placeholders),
        ]
    )


def _reply_guard(
    input_guard: GuardrailChain, placeholders: PlaceholderMap | None
) -> GuardrailChain:
    """What every reply must pass before it is sent.

    No promise a tool did not grant, no PII the customer did not send, no secret, no
    system-prompt text.
    """
    pii = next(guard for guard in input_guard.guards if isinstance(guard, PIIGuard))
    leak = LeakGuard(pii, placeholders, public=("@orbitly.com",))  # the help centre's addresses
    return GuardrailChain([PromiseGuard(), leak, SystemPromptGuard()])


def system_prompts() -> tuple[str, ...]:
    """Every instruction the recipe's models are given (the reply guard looks for them)."""
    bots = tuple(prompt for pair in BOT_PROMPTS.values() for prompt in pair)
    return (*bots, CLASSIFIER_PROMPT, HANDOFF_PROMPT, FALLBACK_PROMPT)


def _router(models: Models, tracker: CostTracker) -> RouterMiddleware:
    """Both tiers' models registered (a local stand-in priced as its online model)."""
    registry = ModelRegistry()
    for name, llm, tier in (
        (models.fast_name, models.fast, "fast"),
        (models.smart_name, models.smart, "smart"),
    ):
        registry.register(name, llm, tier=tier, priced_as=models.priced_as(name))
    return RouterMiddleware(registry, tracker=tracker)


def _bot(
    route: str,
    router: RouterMiddleware,
    fast: LLM,
    smart: LLM,
    estimator: TriageDifficulty,
    handoff_threshold: int,
) -> TalkerReasoner:
    """One route's bot: a quick agent on the fast tier, a deep one on the smart tier."""
    quick, deep = BOT_PROMPTS[route]
    return TalkerReasoner(
        talker=router.wrap(Agent(f"{route}_fast", fast, system_prompt=quick), tier="fast"),
        reasoner=router.wrap(Agent(f"{route}_deep", smart, system_prompt=deep), tier="smart"),
        handoff_threshold=handoff_threshold,
        estimator=estimator,
    )


def _bounded(supervisor: Supervisor, fast: LLM) -> BoundedExecution:
    """The Supervisor with retries, one deadline and a fallback agent."""
    return BoundedExecution(
        pattern=supervisor,
        fallback=Agent("fallback_agent", fast, system_prompt=FALLBACK_PROMPT),
        max_retries=2,
        timeout_seconds=25.0,
    )


def _route_from_triage(text: str, triage: TriageResult | None = None) -> str | None:
    """The Supervisor's override: the triage's decision (``None`` without a triage)."""
    if triage is None:
        return None
    return "escalate" if triage.tier == "human" else ROUTE_OF_CATEGORY[triage.category]


def _configured(triager: Triager, classification: Classification, fast: LLM) -> Triager:
    """The triager with the cascade model and the escalation judge the mode asks for."""
    if classification == "local":
        return triager.with_llm(None)
    triager = triager.with_llm(
        fast,
        thresholds=dict.fromkeys(triager.thresholds, 1.01) if classification == "llm" else None,
    )
    triager.policy = triager.policy.with_judge(LLMJudge(fast))
    return triager
