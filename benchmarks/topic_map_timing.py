"""Time painpoints.topic_map.add_map_coordinates on random embeddings (best of three runs).

Usage: python benchmarks/topic_map_timing.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from painpoints.topic_map import add_map_coordinates

CASES = ((1_884, 26, 384), (100_000, 200, 768))


def main() -> None:
    rng = np.random.default_rng(0)
    for rows, topics, dimension in CASES:
        embeddings = rng.normal(size=(rows, dimension)).astype(np.float32)
        doc_topics = rng.integers(-1, topics, size=rows)
        table = pd.DataFrame({"topic_id": [*range(topics), -1]})
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            add_map_coordinates(table, doc_topics, embeddings)
            timings.append(time.perf_counter() - started)
        print(f"{rows} rows, {topics} topics, {dimension} dimensions: {min(timings):.2f} s")


if __name__ == "__main__":
    main()
