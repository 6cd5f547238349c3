"""Detector spans: resolving overlaps and writing placeholders into a text."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Detection:
    """One span a detector flagged: an entity type, where it is, and how sure it is."""

    entity_type: str
    start: int
    end: int
    score: float


def resolve_overlaps(detections: Iterable[Detection]) -> list[Detection]:
    """Turn possibly overlapping detections into disjoint ones, ordered by position.

    Overlapping detections form a group that becomes one detection covering the union
    of their spans, labelled with the best member: the highest score, then the longest
    span. Covering the union means no part of anything a detector flagged is left in
    clear text, and disjoint spans mean replacements can never mangle each other.
    Empty spans are dropped. Spans that merely touch (``a.end == b.start``) stay apart.
    """
    ordered = sorted((d for d in detections if d.end > d.start), key=lambda d: (d.start, -d.end))
    groups: list[list[Detection]] = []
    group_end = -1
    for detection in ordered:
        if groups and detection.start < group_end:
            groups[-1].append(detection)
            group_end = max(group_end, detection.end)
        else:
            groups.append([detection])
            group_end = detection.end
    resolved: list[Detection] = []
    for group in groups:
        best = max(group, key=lambda d: (d.score, d.end - d.start))
        resolved.append(
            Detection(
                entity_type=best.entity_type,
                start=group[0].start,
                end=max(d.end for d in group),
                score=best.score,
            )
        )
    return resolved


def replace_spans(
    text: str, spans: Iterable[Detection], replacement: Callable[[Detection], str]
) -> str:
    """Return ``text`` with each span replaced by ``replacement(span)``.

    Args:
        text: The original text.
        spans: Disjoint spans ordered by position (as from `resolve_overlaps`).
        replacement: Gives the text to write for a span.

    Raises:
        ValueError: If a span lies outside ``text`` or spans overlap.
    """
    pieces: list[str] = []
    position = 0
    for span in spans:
        if span.start < position or span.end > len(text) or span.start >= span.end:
            raise ValueError("spans must be non-empty, disjoint, ordered and inside the text")
        pieces.append(text[position : span.start])
        pieces.append(replacement(span))
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)
