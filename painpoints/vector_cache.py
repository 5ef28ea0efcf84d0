"""The cache folder on disk: text vectors kept across runs, and its upkeep.

Vectors live in one SQLite file, keyed by the model's cache key and the text's hash
(see :func:`painpoints.embed.cache_key`). Each key's last day of use is kept in a small
table of its own, so that marking a vector as used does not rewrite the vector.
:class:`painpoints.result_cache.ResultCache` keeps sentiment scores and topic models
as files beside it, and a file's modification time marks its last use.

``painpoints cache`` reports the folder's size and removes what no run has used in a
given number of days (:func:`prune_cache`) or everything (:func:`clear_cache`).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

VECTORS_FILE: Final = "embeddings.sqlite"
# Subfolder of painpoints.result_cache's files.
RESULTS_FOLDER: Final = "results"
DAY_SECONDS: Final = 86_400
# Hashes per SQL statement, below SQLite's limit on bound parameters.
CHUNK: Final = 500


def today() -> int:
    """Return the current day as whole days since 1970-01-01 (UTC)."""
    return int(time.time() // DAY_SECONDS)


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by model id and text hash; survives restarts."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / VECTORS_FILE
        self.connection = sqlite3.connect(self.path)
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model_id TEXT, text_hash TEXT, vector BLOB, "
            "PRIMARY KEY (model_id, text_hash))"
        )
        exists = self.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'last_use'").fetchone()
        if not exists:
            self.connection.execute(
                "CREATE TABLE last_use (model_id TEXT, text_hash TEXT, used_on INTEGER, "
                "PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID"
            )
            # Vectors stored before uses were recorded count as used today.
            self.connection.execute("INSERT INTO last_use SELECT model_id, text_hash, ? FROM vectors", (today(),))
            self.connection.commit()

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the stored vectors of ``hashes`` by hash, and mark them used today."""
        found: dict[str, np.ndarray] = {}
        day = today()
        for start in range(0, len(hashes), CHUNK):
            chunk = list(hashes[start:start + CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT text_hash, vector FROM vectors WHERE model_id = ? AND text_hash IN ({marks})",
                [model_id, *chunk],
            )
            for text_hash, blob in rows:
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
            self.connection.execute(
                f"UPDATE last_use SET used_on = ? WHERE model_id = ? AND text_hash IN ({marks}) AND used_on < ?",
                [day, model_id, *chunk, day],
            )
        self.connection.commit()
        return found

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per hash, replacing any stored under the same model and hash."""
        day = today()
        self.connection.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
            [(model_id, text_hash, vector.astype(np.float32).tobytes()) for text_hash, vector in zip(hashes, vectors)],
        )
        self.connection.executemany("INSERT OR REPLACE INTO last_use VALUES (?, ?, ?)",
                                    [(model_id, text_hash, day) for text_hash in hashes])
        self.connection.commit()

    def counts(self) -> dict[str, int]:
        """Return the number of vectors stored per model id."""
        rows = self.connection.execute("SELECT model_id, COUNT(*) FROM vectors GROUP BY model_id ORDER BY model_id")
        return {model_id: int(count) for model_id, count in rows}

    def prune(self, unused_days: int) -> int:
        """Remove the vectors last used more than ``unused_days`` days ago; return how many.

        The file is compacted afterwards, so it shrinks on disk.
        """
        cutoff = today() - unused_days
        removed = self.connection.execute(
            "DELETE FROM vectors WHERE (model_id, text_hash) IN "
            "(SELECT model_id, text_hash FROM last_use WHERE used_on < ?)", (cutoff,)).rowcount
        self.connection.execute("DELETE FROM last_use WHERE used_on < ?", (cutoff,))
        self.connection.commit()
        self.connection.execute("VACUUM")
        return int(removed)

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class CacheReport:
    """Contents of a cache folder: vectors per model and stored results, with their sizes.

    Attributes
    ----------
    folder : Path
    vectors : dict of str to int
        Vectors stored per model cache key.
    vector_bytes : int
        Size of the vectors file.
    results, result_bytes : int
        Number and total size of the stored sentiment scores and topic models.
    """

    folder: Path
    vectors: dict[str, int]
    vector_bytes: int
    results: int
    result_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.vector_bytes + self.result_bytes


def _result_files(folder: Path) -> list[Path]:
    results = folder / RESULTS_FOLDER
    return sorted(path for path in results.glob("*.npz") if path.is_file()) if results.is_dir() else []


def cache_report(folder: Path) -> CacheReport:
    """Describe the cache ``folder``, counting its vectors per model and its stored results.

    An absent folder is reported empty and is not created. Opening a vectors file
    written before last uses were kept adds their table, as any run would.
    """
    vectors: dict[str, int] = {}
    vector_file = folder / VECTORS_FILE
    if vector_file.is_file():
        cache = EmbeddingCache(folder)
        try:
            vectors = cache.counts()
        finally:
            cache.close()
    files = _result_files(folder)
    return CacheReport(folder, vectors, vector_file.stat().st_size if vector_file.is_file() else 0,
                       len(files), sum(path.stat().st_size for path in files))


def prune_cache(folder: Path, unused_days: int) -> tuple[int, int]:
    """Remove the vectors and stored results that no run used in the last ``unused_days`` days.

    Returns the number of vectors and of result files removed. A result file's last use
    is its modification time, which :class:`~painpoints.result_cache.ResultCache`
    renews on each read.
    """
    removed_vectors = 0
    if (folder / VECTORS_FILE).is_file():
        cache = EmbeddingCache(folder)
        try:
            removed_vectors = cache.prune(unused_days)
        finally:
            cache.close()
    cutoff = (today() - unused_days) * DAY_SECONDS
    removed_results = 0
    for path in _result_files(folder):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed_results += 1
    return removed_vectors, removed_results


def clear_cache(folder: Path) -> None:
    """Delete the cache folder and everything in it; the next runs embed and fit again."""
    if folder.exists():
        shutil.rmtree(folder)
