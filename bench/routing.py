"""Few-shot intent routing on Banking77 with `EmbeddingClassifier`.

For each seed, `--shots` examples per intent are drawn from ``banking77/train.csv`` (77
intents), the classifier is fitted on them plus each intent's humanised name
(``card_arrival`` -> ``"card arrival"``) as a description, and it labels
``banking77/test.csv`` (3,080 rows). Reported: accuracy per seed and mean, macro-F1,
calibration (expected calibration error), coverage and accuracy when abstaining below the
default threshold, fit and predict times, single-query latency and batched throughput.

Every timed embedding is of a text not embedded before (each seed gets a fresh embedder),
so the embedder's cache never flatters a number. Timing is reported, never asserted.

    .venv/bin/python -m bench.routing [--data DIR] [--shots 10] [--seeds 3] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from pyagent_providers import Example
from pyagent_providers.embeddings import SentenceTransformerEmbedder
from pyagent_router import EmbeddingClassifier

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
METHOD = (
    "logistic regression (C=10) on L2-normalised all-MiniLM-L6-v2 embeddings, intent names "
    "as one extra example each; temperature scaling fitted by 5-fold cross-validation"
)
# Accuracy of 10-shot Banking77 models (Casanueva et al. 2020, "Efficient Intent Detection
# with Dual Sentence Encoders", Table 3), for comparison.
PUBLISHED_10_SHOT = {"BERT-Tuned": 0.8342, "USE": 0.8423, "USE+ConveRT": 0.8519}
LATENCY_QUERIES = 100


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file)]


def _sample(rows: list[tuple[str, str]], shots: int, seed: int) -> list[Example]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(text)
    rng = random.Random(seed)
    return [
        Example(text=text, labels={"category": intent})
        for intent in sorted(by_intent)
        for text in rng.sample(by_intent[intent], min(shots, len(by_intent[intent])))
    ]


def _macro_f1(truth: list[str], predicted: list[str]) -> float:
    scores: list[float] = []
    for label in sorted(set(truth)):
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label != p for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return statistics.fmean(scores)


def _ece(confidence: list[float], correct: list[bool], bins: int = 10) -> float:
    """Expected calibration error: |accuracy - confidence| per confidence bin, weighted."""
    conf, hit = np.asarray(confidence), np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (conf > low) & (conf <= high)
        if in_bin.any():
            total += abs(hit[in_bin].mean() - conf[in_bin].mean()) * in_bin.mean()
    return float(total)


def _run_seed(
    train: list[tuple[str, str]], test: list[tuple[str, str]], shots: int, seed: int
) -> dict[str, Any]:
    embedder = SentenceTransformerEmbedder()
    embedder.embed(["load the model before the clock starts"])
    examples = _sample(train, shots, seed)
    intents = sorted({e.labels["category"] for e in examples})
    started = time.perf_counter()
    classifier = EmbeddingClassifier.fit(
        examples,
        label_key="category",
        embedder=embedder,
        descriptions={intent: intent.replace("_", " ") for intent in intents},
        seed=seed,
    )
    fit_seconds = time.perf_counter() - started

    texts = [text for text, _ in test]
    single = min(LATENCY_QUERIES, len(texts) // 2)
    latencies: list[float] = []
    results = []
    for text in texts[:single]:
        started = time.perf_counter()
        results += classifier.predict([text])
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    results += classifier.predict(texts[single:])
    batch_seconds = time.perf_counter() - started

    truth = [intent for _, intent in test]
    best = [r.best for r in results]
    correct = [b == t for b, t in zip(best, truth, strict=True)]
    answered = [c for c, r in zip(correct, results, strict=True) if not r.abstained]
    ms = sorted(1000 * s for s in latencies)
    return {
        "seed": seed,
        "train_examples": len(examples),
        "accuracy": statistics.fmean(correct),
        "macro_f1": _macro_f1(truth, best),
        "ece": _ece([r.confidence for r in results], correct),
        "temperature": classifier.temperature,
        "coverage": len(answered) / len(results),
        "accuracy_when_answered": statistics.fmean(answered) if answered else None,
        "fit_seconds": fit_seconds,
        "predict_seconds": batch_seconds + sum(latencies),
        "latency_ms_median": statistics.median(ms),
        "latency_ms_p95": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))],
        "batch_queries_per_second": (len(texts) - single) / batch_seconds,
        "embedder": embedder.name,
        "abstain_below": classifier.abstain_below,
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--shots", type=int, default=10, help="training examples per intent")
    parser.add_argument("--seeds", type=int, default=3, help="random 10-shot samples to average")
    parser.add_argument("--limit", type=int, default=None, help="cap test rows (a CI slice)")
    args, _ = parser.parse_known_args(argv)  # `python -m bench` passes one argv to all

    folder: Path = args.data / "banking77"
    train, test = _rows(folder / "train.csv"), _rows(folder / "test.csv")
    if args.limit is not None and args.limit < len(test):
        # the test file is sorted by intent: an even stride keeps the slice varied
        test = test[:: len(test) // args.limit][: args.limit]
    runs = [_run_seed(train, test, args.shots, seed) for seed in range(args.seeds)]
    accuracy = [run["accuracy"] for run in runs]
    return {
        "dataset": "banking77",
        "shots": args.shots,
        "test_rows": len(test),
        "method": METHOD,
        "embedder": runs[0]["embedder"],
        "accuracy_per_seed": accuracy,
        "accuracy_mean": statistics.fmean(accuracy),
        "macro_f1_mean": statistics.fmean(run["macro_f1"] for run in runs),
        "ece_mean": statistics.fmean(run["ece"] for run in runs),
        "fit_seconds_mean": statistics.fmean(run["fit_seconds"] for run in runs),
        "predict_seconds_mean": statistics.fmean(run["predict_seconds"] for run in runs),
        "latency_ms_median": statistics.median(run["latency_ms_median"] for run in runs),
        "latency_ms_p95": max(run["latency_ms_p95"] for run in runs),
        "batch_queries_per_second": statistics.fmean(
            run["batch_queries_per_second"] for run in runs
        ),
        "published_10_shot_accuracy": PUBLISHED_10_SHOT,
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
