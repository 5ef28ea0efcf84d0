"""Ray engine: a Ray run and a local run on the same data give the same result.

One local Ray instance (2 CPUs, 200 MB object store, bound to 127.0.0.1) serves the
whole module. The data are the themed tickets of conftest three times over, with
variations, duplicates and content-free rows, split into blocks of 50 rows so that
duplicates sit in different Ray batches.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painpoints import engine_ray
from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.embed import HashingEmbedder, embed_texts
from painpoints.errors import ModelNotFoundError, SettingsError
from painpoints.pipeline import run_analysis
from painpoints.sampling import fit_topics_sampled
from painpoints.settings import AnalysisSettings
from painpoints.store import connect, save_run
from painpoints.topics import TopicSettings
from painpoints.vector_cache import EmbeddingCache
from tests.conftest import THEMES_ZH

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed: pip install 'painpoints[ray]'")
BLOCK_ROWS = 50
STORE_TABLES = ("documents", "topics")


def _tickets() -> pd.DataFrame:
    rows = []
    for round_number in range(3):
        for theme, texts in THEMES_ZH.items():
            for index, text in enumerate(texts):
                suffix = "" if round_number == 0 else f"，第{round_number}次反馈"
                rows.append({"反馈内容": text + suffix, "是否流失": "是" if index < 4 else "否", "theme": theme})
    # Exact repeats of earlier rows (duplicates in a later block) and rows without content.
    rows += [dict(rows[index]) for index in (0, 7, 55)]
    rows += [{"反馈内容": text, "是否流失": "否", "theme": "none"} for text in ("好", "", "666")]
    frame = pd.DataFrame(rows)
    frame.insert(0, "客户ID", [f"C{number:05d}" for number in range(len(frame))])
    frame.insert(0, "工单编号", [f"T{number:04d}" for number in range(len(frame))])
    return frame


@pytest.fixture(scope="module")
def tickets_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ray-data") / "tickets.csv"
    _tickets().drop(columns="theme").to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ray_instance():
    ray = engine_ray.import_ray()
    engine_ray.start_local_ray(num_cpus=2, object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_embed_calls() -> list[int]:
    """Number of texts of each RayEngine.embed call made by the ``runs`` fixture."""
    return []


@pytest.fixture(scope="module")
def runs(ray_instance, tickets_csv, tmp_path_factory, ray_embed_calls):
    """A local run and a Ray run of the same settings; each embeds into its own empty cache."""
    folder = tmp_path_factory.mktemp("ray-runs")
    results = {}
    embedded = ray_embed_calls
    original_embed = engine_ray.RayEngine.embed

    def counting_embed(self, texts, *args, **kwargs):
        embedded.append(len(texts))
        return original_embed(self, texts, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PAINPOINTS_HOME", str(folder / "home"))
        patch.setattr(engine_ray, "ROWS_PER_BLOCK", BLOCK_ROWS)
        patch.setattr(engine_ray.RayEngine, "embed", counting_embed)
        for engine in ("local", "ray"):
            settings = AnalysisSettings(embedding="hashing", cache_dir=folder / f"cache-{engine}", min_topic_size=5,
                                        sentiment="lexicon", engine=engine)
            results[engine] = run_analysis(tickets_csv, settings, embedder=HashingEmbedder())
    return results


@needs_ray
def test_ray_documents_match_local(runs):
    local, distributed = runs["local"].documents, runs["ray"].documents
    assert len(distributed) == len(_tickets())
    assert len(local) == len(_tickets())
    pd.testing.assert_frame_equal(distributed, local)
    assert distributed[S.TOPIC_ID].notna().sum() >= 100
    assert (distributed[S.STATUS] == "duplicate").sum() == 3
    assert (distributed[S.STATUS] == "no_content").sum() == 3


@needs_ray
def test_ray_topics_match_local(runs):
    local, distributed = runs["local"].topics, runs["ray"].topics
    assert len(distributed) >= 4
    pd.testing.assert_frame_equal(distributed, local)


@needs_ray
def test_ray_memberships_match_local(runs, ray_embed_calls):
    local, distributed = runs["local"].memberships, runs["ray"].memberships
    pd.testing.assert_frame_equal(distributed, local)
    # Two Ray embedding jobs: the texts, then the clauses of the multi-clause texts.
    assert len(ray_embed_calls) == 2


@needs_ray
def test_ray_store_matches_local(runs, tmp_path):
    store = tmp_path / "runs.duckdb"
    saved = {engine: save_run(result, store) for engine, result in runs.items()}
    connection = connect(store, read_only=True)
    try:
        for table in STORE_TABLES:
            columns = [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
            frames = {engine: connection.execute(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]).df()
                      for engine, run_id in saved.items()}
            assert len(frames["ray"]) == len(frames["local"]), table
            shared = [column for column in columns if column != "run_id"]
            pd.testing.assert_frame_equal(frames["ray"][shared], frames["local"][shared], obj=table)
    finally:
        connection.close()


@needs_ray
def test_ray_run_info_names_engine(runs):
    assert runs["local"].info["engine"] == {"name": "local"}
    info = runs["ray"].info["engine"]
    assert info["name"] == "ray"
    assert info["cpus"] == 2.0
    assert runs["ray"].info["embedding"]["texts_embedded"] == runs["local"].info["embedding"]["texts_embedded"]


@needs_ray
def test_ray_node_listens_on_loopback(ray_instance):
    # Ray binds its gRPC servers to 127.0.0.1 only when the node address is 127.0.0.1.
    addresses = {node["NodeManagerAddress"] for node in ray_instance.nodes() if node["Alive"]}
    assert addresses == {"127.0.0.1"}


@needs_ray
def test_ray_sampled_fit_matches_local(ray_instance, monkeypatch):
    """Fitting on 60 of 120 texts: Ray assigns the other 60 as local sampling does."""
    monkeypatch.setattr(engine_ray, "ROWS_PER_BLOCK", 25)
    frame = _tickets().drop_duplicates("反馈内容").iloc[:120]
    texts = frame["反馈内容"].tolist()
    hashes = [text_hash(text) for text in texts]
    vectors = HashingEmbedder().encode(texts)
    settings = TopicSettings(seed=7, min_topic_size=5)

    local = fit_topics_sampled(texts, vectors, settings, 60, hashes)
    distributed = engine_ray.RayEngine().fit_topics(texts, hashes, vectors, settings, 60)

    assert distributed.sample_size == 60
    np.testing.assert_array_equal(distributed.doc_topics, local.doc_topics)
    assert distributed.min_similarity == local.min_similarity
    pd.testing.assert_frame_equal(distributed.topic_info, local.topic_info)


@needs_ray
def test_ray_embed_chunks_match_local(ray_instance, monkeypatch, tmp_path):
    """Ray embeds the same chunks of texts as embed_texts, across blocks and after cache hits."""

    class ChunkSensitiveEmbedder(HashingEmbedder):
        # A neural model's vectors change slightly with the other texts of a call; this
        # embedder makes that change large, so any other chunking shows.
        def encode(self, texts):
            vectors = super().encode(texts)
            vectors[:, 0] += len(texts)
            return vectors

    monkeypatch.setattr(engine_ray, "EMBED_BLOCK_ROWS", 2 * engine_ray.EMBED_BATCH_SIZE)
    base = [text for texts in THEMES_ZH.values() for text in texts]
    texts = [f"{text} 订单{number}" for number, text in enumerate(base * 30)]
    hashes = [text_hash(text) for text in texts]
    embedder = ChunkSensitiveEmbedder()
    caches = {}
    for engine in ("local", "ray"):
        caches[engine] = EmbeddingCache(tmp_path / engine)
        caches[engine].put(embedder.model_id, hashes[:100:3], embedder.encode(texts[:100:3]))

    try:
        local, local_cached = embed_texts(texts, hashes, embedder, caches["local"])
        distributed, ray_cached = engine_ray.RayEngine().embed(texts, hashes, embedder, embedder, caches["ray"])
    finally:
        for cache in caches.values():
            cache.close()

    assert len(texts) == 1200
    assert ray_cached == local_cached == 34
    np.testing.assert_array_equal(distributed, local)


@needs_ray
def test_ray_worker_error_keeps_message(ray_instance):
    engine = engine_ray.RayEngine()
    with pytest.raises(ModelNotFoundError, match="no-such-model"):
        engine.embed(["快递太慢"], ["h1"], HashingEmbedder(), "no-such-model")


def test_missing_ray_names_install_command(monkeypatch, tickets_csv):
    monkeypatch.setitem(sys.modules, "ray", None)
    settings = AnalysisSettings(embedding="hashing", engine="ray")
    with pytest.raises(SettingsError) as raised:
        run_analysis(tickets_csv, settings, embedder=HashingEmbedder())
    assert raised.value.key == "engine.ray_missing"
    assert "pip install 'painpoints[ray]'" in raised.value.message("en")
    assert "pip install 'painpoints[ray]'" in raised.value.message("zh")


def test_ray_address_needs_ray_engine():
    with pytest.raises(SettingsError) as raised:
        AnalysisSettings(ray_address="auto")
    assert raised.value.key == "engine.ray_address_without_ray"
