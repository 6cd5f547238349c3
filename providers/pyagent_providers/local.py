"""`LocalModel`: the embedded default that runs with no API key and no network.

It is a real model of a narrow kind, not a stand-in for GPT or Claude, and says so: its
model id is ``local:all-MiniLM-L6-v2``, its provider ``local``, and every free-text reply
ends with a note that it was drafted offline and which help-centre article it used.

- **Structured output.** Enum fields (category, priority, route, ...) are classified with
  sentence embeddings: by the nearest labelled examples when the request (or the model)
  carries examples for that field, otherwise by similarity to each label's description
  (zero-shot; descriptions are read from ``label: text`` lines in the field's description).
  Integer and number fields use k-NN regression over labelled examples; a ``confidence``
  number reports the classifier's own confidence. String fields get the most relevant
  sentence of the customer's text.
- **Free text.** A reply is composed from the best-matching knowledge-base article (or a
  tool's result) by a `ReplyComposer`: `PlainComposer` states the article's answer; a
  recipe injects its own voice (the cookbook's support desk adds openings by sentiment and
  next steps by priority). A system prompt that asks for a *summary* gets a hand-off
  summary for a person instead (issue, what was tried, recommended action).
- **Tools.** With tools offered, it calls the tool whose description best matches the
  request once (its first required string parameter gets the customer's text), then
  answers from the tool's result.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np

from .concurrency import run_cpu_bound
from .drafting import Article, Draft, PlainComposer, ReplyComposer
from .embeddings import Embedder, Vectors, default_embedder
from .output import OutputSchema
from .pricing import priced
from .similarity import LabelDecision, knn_regress, label_by_description, label_by_examples
from .tokens import count_message_tokens, count_tokens
from .types import (
    Example,
    ModelRequest,
    ModelResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = ["Article", "LocalModel"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORDS = re.compile(r"\S+\s*")
_DESCRIPTION_LINE = re.compile(r"^\s*[-*•]?\s*([\w-]+)\s*(?:—|–|:|-{1,2})\s*(.+?)\s*$")
_ASKS_FOR_SUMMARY = re.compile(r"\bsummar(y|ise|ize)\b", re.IGNORECASE)

_NO_MATCH = 0.25  # below this cosine similarity no article is a fair match


class LocalModel:
    """The embedded, offline model (see the module docstring for what it can do).

    Args:
        knowledge_base: Articles that free-text replies are grounded in.
        examples: Labelled examples used when a request carries none.
        embedder: Sentence embedder; defaults to the packaged all-MiniLM-L6-v2.
        neighbours: k for k-NN regression of numeric fields.
        composer: Writes free-text replies and hand-off summaries from what the model
            found (`Draft`); `PlainComposer` by default. A recipe injects its own voice
            (the support desk's openings and next steps live in the cookbook).
    """

    provider = "local"

    def __init__(
        self,
        *,
        knowledge_base: Iterable[Article] = (),
        examples: Iterable[Example] = (),
        embedder: Embedder | None = None,
        neighbours: int = 5,
        composer: ReplyComposer | None = None,
    ) -> None:
        self.composer = composer or PlainComposer()
        self.knowledge_base = tuple(knowledge_base)
        self.examples = tuple(examples)
        self._embedder = embedder
        self.neighbours = neighbours
        self._calls = 0

    def __repr__(self) -> str:
        return f"LocalModel(articles={len(self.knowledge_base)}, examples={len(self.examples)})"

    @property
    def embedder(self) -> Embedder:
        """The embedder in use (created on first use)."""
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    @property
    def model(self) -> str:
        """The embedding model's name."""
        return self.embedder.name if self._embedder is not None else "all-MiniLM-L6-v2"

    @property
    def model_id(self) -> str:
        """``"local:<embedding model>"``."""
        return f"local:{self.model}"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer `request` (the embedding work runs in a worker thread)."""
        return await run_cpu_bound(self.complete_sync, request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Like `complete`, delivered word by word, then the full response."""
        response = await self.complete(request)
        for piece in _WORDS.findall(response.text):
            yield TextDelta(piece)
        yield StreamEnd(response)

    def complete_sync(self, request: ModelRequest) -> ModelResponse:
        """Answer `request` in the calling thread."""
        output: Any = None
        calls: tuple[ToolCall, ...] = ()
        if request.output_schema is not None and not _has_tool_result(request):
            data = self._structured(request, request.output_schema)
            text = json.dumps(data)
            output = request.output_schema.parse(data)
        elif request.tools and not _has_tool_result(request):
            calls = self._tool_call(request)
            text = "" if calls else self._reply(request)
        else:
            text = self._reply(request)
        usage = Usage(
            input_tokens=count_message_tokens(
                request.messages, "openai:gpt-4o-mini", system=request.system_with_examples()
            ),
            output_tokens=count_tokens(text, "openai:gpt-4o-mini") + 15 * len(calls),
        )
        return priced(
            ModelResponse(
                text=text,
                output=output,
                tool_calls=calls,
                usage=usage,
                model=self.model,
                provider=self.provider,
                finish_reason="tool_calls" if calls else "stop",
            )
        )

    # -- structured output ---------------------------------------------------------------

    def _structured(self, request: ModelRequest, schema: OutputSchema) -> dict[str, Any]:
        query = _query_text(request)
        query_vector = self.embedder.embed([query])[0]
        examples = request.examples or self.examples
        root = dict(schema.json_schema)
        properties = cast(dict[str, Any], root.get("properties", {}))
        answer: dict[str, Any] = {}
        confidences: list[float] = []
        deferred: list[str] = []
        for name, raw in properties.items():
            prop = _resolve(root, cast(dict[str, Any], raw))
            enum = _enum_values(prop)
            if enum:
                decision = self._classify(query_vector, name, enum, prop, examples)
                answer[name] = decision.label
                confidences.append(decision.confidence)
            elif prop.get("type") in ("integer", "number"):
                deferred.append(name)
            elif prop.get("type") == "boolean":
                answer[name] = self._vote_bool(query_vector, name, examples)
            elif prop.get("type") == "string":
                answer[name] = self._extract(query, prop.get("description") or name)
            elif prop.get("type") == "array":
                answer[name] = []
        for name in deferred:  # after the enums, so "confidence" can report theirs
            prop = _resolve(root, cast(dict[str, Any], properties[name]))
            answer[name] = self._number(query_vector, name, prop, examples, confidences)
        return answer

    def _classify(
        self,
        query_vector: Vectors,
        name: str,
        labels: list[str],
        prop: Mapping[str, Any],
        examples: Sequence[Example],
    ) -> LabelDecision:
        labelled = [e for e in examples if str(e.labels.get(name)) in labels]
        if labelled:
            vectors = self.embedder.embed([e.text for e in labelled])
            return label_by_examples(
                query_vector, vectors, [str(e.labels[name]) for e in labelled], labels
            )
        descriptions = _label_descriptions(str(prop.get("description", "")), labels)
        vectors = self.embedder.embed([descriptions[label] for label in labels])
        return label_by_description(query_vector, vectors, labels)

    def _number(
        self,
        query_vector: Vectors,
        name: str,
        prop: Mapping[str, Any],
        examples: Sequence[Example],
        confidences: list[float],
    ) -> float | int:
        low = float(prop.get("minimum", 0 if prop.get("type") == "number" else 1))
        high = float(prop.get("maximum", 1 if prop.get("type") == "number" else 10))
        labelled = [e for e in examples if isinstance(e.labels.get(name), int | float)]
        if labelled:
            vectors = self.embedder.embed([e.text for e in labelled])
            values = [float(e.labels[name]) for e in labelled]
            value, _ = knn_regress(query_vector, vectors, values, k=self.neighbours)
        elif "confidence" in name.lower() and confidences:
            value = min(confidences)
        else:
            value = (low + high) / 2  # no evidence either way: the middle of the range
        value = min(max(value, low), high)
        return round(value) if prop.get("type") == "integer" else round(value, 3)

    def _vote_bool(self, query_vector: Vectors, name: str, examples: Sequence[Example]) -> bool:
        labelled = [e for e in examples if isinstance(e.labels.get(name), bool)]
        if not labelled:
            return False
        vectors = self.embedder.embed([e.text for e in labelled])
        values = [1.0 if e.labels[name] else 0.0 for e in labelled]
        value, _ = knn_regress(query_vector, vectors, values, k=self.neighbours)
        return value >= 0.5

    def _extract(self, text: str, about: str) -> str:
        sentences = [s for s in _SENTENCE.split(text.strip()) if s]
        if len(sentences) <= 1:
            return text.strip()
        vectors = self.embedder.embed([about, *sentences])
        best = int(np.argmax(vectors[1:] @ vectors[0]))
        return sentences[best]

    # -- signals for free text -----------------------------------------------------------

    def _signal(self, query_vector: Vectors, name: str, descriptions: dict[str, str]) -> str:
        labels = list(descriptions)
        labelled = [e for e in self.examples if str(e.labels.get(name)) in labels]
        if labelled:
            vectors = self.embedder.embed([e.text for e in labelled])
            names = [str(e.labels[name]) for e in labelled]
            return label_by_examples(query_vector, vectors, names, labels).label
        vectors = self.embedder.embed([f"{k}: {v}" for k, v in descriptions.items()])
        return label_by_description(query_vector, vectors, labels).label

    def _best_article(self, query_vector: Vectors) -> Article | None:
        if not self.knowledge_base:
            return None
        vectors = self.embedder.embed([a.search_text for a in self.knowledge_base])
        similarities = vectors @ query_vector
        best = int(np.argmax(similarities))
        return self.knowledge_base[best] if similarities[best] >= _NO_MATCH else None

    # -- free text -----------------------------------------------------------------------

    def _reply(self, request: ModelRequest) -> str:
        query = _query_text(request)
        query_vector = self.embedder.embed([query])[0]
        article = self._best_article(query_vector)
        tool_result = _tool_result(request)

        def classify(name: str, descriptions: Mapping[str, str]) -> str:
            return self._signal(query_vector, name, dict(descriptions))

        draft = Draft(
            query=query,
            latest=next((m.content for m in reversed(request.messages) if m.role == "user"), ""),
            system=request.system or "",
            article=article,
            tool_result=tool_result,
            classify=classify,
        )
        if _ASKS_FOR_SUMMARY.search(draft.system):
            summary = self.composer.handoff_summary(draft)
            return f"{summary}\n(Summary drafted offline by pyagent's local model.)"
        composed = self.composer.reply(draft)
        used = composed.grounded_in
        source = f" from the help-centre article “{used.title}”" if used else ""
        return f"{composed.text}\n\n(Drafted offline by pyagent's local model{source}.)"

    # -- tools ---------------------------------------------------------------------------

    def _tool_call(self, request: ModelRequest) -> tuple[ToolCall, ...]:
        query = _query_text(request)
        usable = [t for t in request.tools if _first_string_parameter(t)]
        if not usable:
            return ()
        vectors = self.embedder.embed([query, *(f"{t.name}: {t.description}" for t in usable)])
        similarities = vectors[1:] @ vectors[0]
        tool = usable[int(np.argmax(similarities))]  # tools were offered: use the closest once
        self._calls += 1
        parameter = _first_string_parameter(tool)
        assert parameter is not None
        return (
            ToolCall(id=f"local_call_{self._calls}", name=tool.name, arguments={parameter: query}),
        )


def _query_text(request: ModelRequest) -> str:
    """The customer's latest words; a very short follow-up keeps the previous turn."""
    users = [m.content for m in request.messages if m.role == "user"]
    if not users:
        return request.messages[-1].content
    latest = users[-1]
    if len(latest.split()) < 6 and len(users) > 1:
        return f"{users[-2]} {latest}"
    return latest


def _has_tool_result(request: ModelRequest) -> bool:
    return request.messages[-1].role == "tool"


def _tool_result(request: ModelRequest) -> str:
    return request.messages[-1].content if _has_tool_result(request) else ""


def _resolve(root: Mapping[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (pydantic puts enums in ``$defs``); keep the description."""
    ref = prop.get("$ref") or next(
        (s.get("$ref") for s in cast(list[dict[str, Any]], prop.get("allOf", [])) if "$ref" in s),
        None,
    )
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return prop
    target: Any = root
    for part in ref[2:].split("/"):
        target = cast(Mapping[str, Any], target)[part]
    merged = dict(cast(Mapping[str, Any], target))
    if "description" in prop:
        merged["description"] = prop["description"]
    return merged


def _enum_values(prop: Mapping[str, Any]) -> list[str]:
    values = prop.get("enum")
    if isinstance(values, list):
        return [str(v) for v in cast(list[Any], values)]
    options = cast(list[Mapping[str, Any]], prop.get("anyOf") or prop.get("oneOf") or [])
    return [str(o["const"]) for o in options if "const" in o]


def _label_descriptions(description: str, labels: Sequence[str]) -> dict[str, str]:
    """``label: text`` lines of a field description, else the label's own words."""
    found: dict[str, str] = {}
    for line in description.splitlines():
        match = _DESCRIPTION_LINE.match(line)
        if match and match.group(1) in labels:
            found[match.group(1)] = match.group(2)
    return {
        label: f"{label.replace('_', ' ')}: {found[label]}"
        if label in found
        else label.replace("_", " ")
        for label in labels
    }


def _first_string_parameter(tool: ToolSpec) -> str | None:
    properties = cast(Mapping[str, Mapping[str, Any]], tool.parameters.get("properties", {}))
    required = cast(list[str], tool.parameters.get("required", list(properties)))
    for name in required:
        if properties.get(name, {}).get("type") == "string":
            return name
    return None
