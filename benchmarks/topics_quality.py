"""Topic quality against known labels: painpoints' topics stage next to plain BERTopic.

Runs, in one process on the same embeddings:

- ``painpoints``: :func:`painpoints.topics.fit_topics` with its defaults;
- ``bertopic-default``: ``BERTopic()`` as a new user writes it, fitted on the embeddings;
- ``bertopic-reduced``: the same followed by ``reduce_outliers(strategy="embeddings")``;
- ``kmeans-true-k``: scikit-learn KMeans given the true number of classes.

and reports NMI and ARI against the labels (outliers count as one more cluster), the
topic count, the outlier share and the wall time of each.

Usage::

    python benchmarks/topics_quality.py [--datasets banking77 shop5] [--shop5-rows 2500]
        [--methods painpoints bertopic kmeans] [--seed 42]

``--methods bertopic`` runs both BERTopic rows. ``--seed`` is painpoints' and KMeans'
seed (plain BERTopic runs unseeded, as a new user writes it); the shop5 sample is
always drawn with seed 42.

The datasets are read from ``../shared/datasets``; embeddings are cached under
``benchmarks/.cache`` (ignored by git).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from painpoints.clean import normalise_text, text_hash
from painpoints.embed import embed_texts, load_embedder
from painpoints.topics import TopicSettings, fit_topics
from painpoints.vector_cache import EmbeddingCache

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CACHE = Path(__file__).resolve().parent / ".cache"
SEED = 42
METHODS = ("painpoints", "bertopic", "kmeans")


def load_dataset(name: str, shop5_rows: int) -> tuple[list[str], np.ndarray, str]:
    """Return (texts, labels, embedding backend) for a benchmark dataset."""
    if name == "banking77":
        frame = pd.read_csv(DATASETS / "banking77" / "test.csv")
        return frame["text"].astype(str).tolist(), frame["category"].to_numpy(), "minilm-en"
    if name == "shop5":
        frame = pd.read_csv(DATASETS / "shop5_dev.csv").dropna(subset=["review"])
        frame = frame.sample(n=min(shop5_rows, len(frame)), random_state=SEED)
        return frame["review"].astype(str).tolist(), frame["cat"].to_numpy(), "e5-multilingual"
    raise ValueError(f"unknown dataset {name!r}: expected banking77 or shop5")


def score(name: str, labels: np.ndarray, clusters: np.ndarray, seconds: float) -> dict:
    return {
        "method": name,
        "nmi": normalized_mutual_info_score(labels, clusters),
        "ari": adjusted_rand_score(labels, clusters),
        "topics": int(len(set(clusters[clusters >= 0]))),
        "outlier_share": float(np.mean(clusters < 0)),
        "seconds": seconds,
    }


def run(name: str, shop5_rows: int, methods: tuple[str, ...] = METHODS, seed: int = SEED) -> pd.DataFrame:
    raw_texts, labels, backend = load_dataset(name, shop5_rows)
    texts = [normalise_text(text) for text in raw_texts]
    cache = EmbeddingCache(CACHE)
    vectors, _ = embed_texts(texts, [text_hash(text) for text in texts], load_embedder(backend), cache)
    cache.close()
    results = []

    if "painpoints" in methods:
        started = time.perf_counter()
        ours = fit_topics(texts, vectors, TopicSettings(seed=seed)).doc_topics
        results.append(score("painpoints", labels, ours, time.perf_counter() - started))

    if "bertopic" in methods:
        from bertopic import BERTopic

        started = time.perf_counter()
        model = BERTopic()
        plain, _ = model.fit_transform(texts, embeddings=vectors)
        plain = np.asarray(plain)
        plain_seconds = time.perf_counter() - started
        results.append(score("bertopic-default", labels, plain, plain_seconds))
        started = time.perf_counter()
        reduced = np.asarray(model.reduce_outliers(texts, list(plain), strategy="embeddings", embeddings=vectors))
        results.append(score("bertopic-reduced", labels, reduced, plain_seconds + time.perf_counter() - started))

    if "kmeans" in methods:
        started = time.perf_counter()
        kmeans = KMeans(n_clusters=len(set(labels)), random_state=seed, n_init=10).fit_predict(vectors)
        results.append(score("kmeans-true-k", labels, kmeans, time.perf_counter() - started))

    table = pd.DataFrame(results)
    table.insert(0, "dataset", f"{name} ({len(texts)} texts, {backend})")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "shop5"])
    parser.add_argument("--shop5-rows", type=int, default=2500)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=SEED)
    arguments = parser.parse_args()
    tables = [run(name, arguments.shop5_rows, tuple(arguments.methods), arguments.seed)
              for name in arguments.datasets]
    print(pd.concat(tables).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
