"""Time a local run and a Ray run of the same export, and check that they agree.

Not part of the test run. Example (10,000 Chinese reviews, feature-hashing embedder):

    python benchmarks/ray_vs_local.py --rows 10000 --embedding hashing

A local run on the first 300 rows comes first and is not timed: it compiles UMAP's
numba code and loads the sentiment lexicons, which would otherwise slow down only the
first timed run. Each engine then embeds into its own empty cache. The Ray run starts
a local Ray instance (bound to 127.0.0.1) with all CPUs, and its wall time includes
starting Ray. Prints one JSON object: wall seconds, seconds per stage and whether the
topic of every row is the same in both runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from painpoints import schema as S
from painpoints.pipeline import run_analysis
from painpoints.settings import AnalysisSettings

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "waimai_10k.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--embedding", default="hashing")
    parser.add_argument("--data", type=Path, default=DATA)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "reviews.csv"
        frame = pd.read_csv(arguments.data).head(arguments.rows)
        frame.drop(columns=[column for column in ("label",) if column in frame]).to_csv(export, index=False)
        warm_up = Path(folder) / "warm-up.csv"
        pd.read_csv(export).head(300).to_csv(warm_up, index=False)
        run_analysis(warm_up, AnalysisSettings(embedding=arguments.embedding, cache_dir=Path(folder) / "cache-warm-up",
                                               sentiment="lexicon"))

        results, walls = {}, {}
        for engine in ("local", "ray"):
            settings = AnalysisSettings(embedding=arguments.embedding, cache_dir=Path(folder) / f"cache-{engine}",
                                        sentiment="lexicon", engine=engine)
            started = time.perf_counter()
            results[engine] = run_analysis(export, settings)
            walls[engine] = round(time.perf_counter() - started, 1)

    local, distributed = results["local"].documents, results["ray"].documents
    same = local[S.TOPIC_ID].astype("Int64").equals(distributed[S.TOPIC_ID].astype("Int64"))
    json.dump({
        "rows": len(local), "embedding": arguments.embedding, "wall_seconds": walls,
        "stage_seconds": {engine: result.info["stage_seconds"] for engine, result in results.items()},
        "ray": results["ray"].info["engine"], "same_topic_every_row": bool(same),
        "topics": {engine: len(result.topics) for engine, result in results.items()},
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
