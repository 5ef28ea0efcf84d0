"""The cache folder's upkeep: last use of vectors and results, pruning, clearing, the CLI."""

from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from painpoints import cli
from painpoints.result_cache import ResultCache
from painpoints.vector_cache import (
    DAY_SECONDS,
    RESULTS_FOLDER,
    VECTORS_FILE,
    EmbeddingCache,
    cache_report,
    prune_cache,
    today,
)

MODEL = "toy/v1"


def _vectors(count: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(count, 4)).astype(np.float32)


def _age(folder, hashes, days):
    """Make the vectors of ``hashes`` look last used ``days`` days ago."""
    with sqlite3.connect(folder / VECTORS_FILE) as connection:
        connection.executemany("UPDATE last_use SET used_on = ? WHERE text_hash = ?",
                               [(today() - days, text_hash) for text_hash in hashes])


def test_vectors_round_trip_and_count_per_model(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = _vectors(3)
    cache.put(MODEL, ["a", "b", "c"], vectors)
    cache.put("other", ["a"], vectors[:1])
    found = cache.get(MODEL, ["a", "c", "missing"])
    assert set(found) == {"a", "c"}
    np.testing.assert_array_equal(found["c"], vectors[2])
    assert cache.counts() == {MODEL: 3, "other": 1}
    cache.close()


def test_prune_removes_only_vectors_unused_for_longer(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put(MODEL, ["old", "read", "new"], _vectors(3))
    cache.close()
    _age(tmp_path, ["old", "read"], 10)
    cache = EmbeddingCache(tmp_path)
    assert set(cache.get(MODEL, ["read"])) == {"read"}  # reading renews the last use
    assert cache.prune(11) == 0
    assert cache.prune(5) == 1
    assert set(cache.get(MODEL, ["old", "read", "new"])) == {"read", "new"}
    assert cache.counts() == {MODEL: 2}
    cache.close()


def test_old_cache_counts_as_used_today(tmp_path):
    with sqlite3.connect(tmp_path / VECTORS_FILE) as connection:
        connection.execute("CREATE TABLE vectors (model_id TEXT, text_hash TEXT, vector BLOB, "
                           "PRIMARY KEY (model_id, text_hash))")
        connection.executemany("INSERT INTO vectors VALUES (?, ?, ?)",
                               [(MODEL, name, vector.tobytes()) for name, vector in zip("xy", _vectors(2))])
    cache = EmbeddingCache(tmp_path)
    assert cache.prune(0) == 0
    assert cache.counts() == {MODEL: 2}
    cache.close()


def test_results_are_pruned_by_last_read(tmp_path):
    results = ResultCache(tmp_path)
    results._write("topics", "kept", {"values": np.arange(3)})
    results._write("topics", "stale", {"values": np.arange(3)})
    old = time.time() - 20 * DAY_SECONDS
    for key in ("kept", "stale"):
        os.utime(results._path("topics", key), (old, old))
    assert results._read("topics", "kept") is not None  # reading renews the modification time
    assert prune_cache(tmp_path, 7) == (0, 1)
    assert sorted(path.name for path in (tmp_path / RESULTS_FOLDER).iterdir()) == ["topics-kept.npz"]


def test_report_of_absent_folder_is_empty(tmp_path):
    report = cache_report(tmp_path / "absent")
    assert (report.vectors, report.results, report.total_bytes) == ({}, 0, 0)
    assert not (tmp_path / "absent").exists()


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path))
    cache = EmbeddingCache(tmp_path / "cache")
    cache.put(MODEL, ["a", "b", "c"], _vectors(3))
    cache.close()
    _age(tmp_path / "cache", ["a"], 40)
    return tmp_path


def test_cache_command_reports_prunes_and_clears(home):
    runner = CliRunner()
    report = runner.invoke(cli.app, ["cache", "--lang-ui", "en"])
    assert report.exit_code == 0, report.output
    assert "Text vectors: 3 in" in report.output
    assert f"{MODEL} 3" in report.output
    pruned = runner.invoke(cli.app, ["cache", "--unused-days", "30", "--lang-ui", "en"])
    assert "Removed 1 text vectors and 0 stored results that no run used in the last 30 days." in " ".join(
        pruned.output.split())
    assert f"{MODEL} 2" in pruned.output
    cleared = runner.invoke(cli.app, ["cache", "--clear", "--lang-ui", "zh"])
    assert cleared.exit_code == 0
    assert "已删除缓存文件夹" in cleared.output
    assert not (home / "cache").exists()


@pytest.mark.parametrize("arguments", [["--unused-days", "-1"], ["--unused-days", "3", "--clear"]])
def test_cache_command_rejects_contradicting_options(home, arguments):
    result = CliRunner().invoke(cli.app, ["cache", *arguments, "--lang-ui", "en"])
    assert result.exit_code == 2
    assert (home / "cache" / VECTORS_FILE).is_file()
