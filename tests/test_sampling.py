"""Sampled topic fitting: the sample, centroids, assignment and the full result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.embed import HashingEmbedder
from painpoints.errors import SettingsError
from painpoints.pipeline import run_analysis
from painpoints.sampling import (
    SampledTopicResult,
    assign_to_centroids,
    fit_topics_sampled,
    renumber_by_size,
    sample_indices,
    topic_centroids,
)
from painpoints.settings import AnalysisSettings
from painpoints.topics import TopicSettings, fit_topics

from .conftest import THEMES_ZH


def _hashes(count: int) -> list[str]:
    return [text_hash(f"text {number}") for number in range(count)]


def test_sample_indices_size_and_sorted():
    hashes = _hashes(1000)
    chosen = sample_indices(hashes, 100, seed=7)
    assert chosen.size == 100
    assert np.all(np.diff(chosen) > 0)
    assert chosen.min() >= 0
    assert chosen.max() < 1000


def test_sample_indices_ignores_row_order():
    hashes = _hashes(500)
    permutation = np.random.default_rng(0).permutation(500)
    shuffled = [hashes[index] for index in permutation]
    original = {hashes[index] for index in sample_indices(hashes, 50, seed=3)}
    reordered = {shuffled[index] for index in sample_indices(shuffled, 50, seed=3)}
    assert original == reordered


def test_sample_indices_seed_and_nesting():
    hashes = _hashes(500)
    small = set(sample_indices(hashes, 50, seed=3).tolist())
    large = set(sample_indices(hashes, 200, seed=3).tolist())
    other_seed = set(sample_indices(hashes, 50, seed=4).tolist())
    assert small <= large
    assert small != other_seed


def test_sample_indices_whole_and_empty():
    assert sample_indices(_hashes(10), 10, seed=1).tolist() == list(range(10))
    assert sample_indices(_hashes(10), 50, seed=1).tolist() == list(range(10))
    assert sample_indices([], 5, seed=1).size == 0
    assert sample_indices(_hashes(10), 0, seed=1).size == 0
    with pytest.raises(ValueError):
        sample_indices(_hashes(10), -1, seed=1)


def test_topic_centroids_skip_outliers_and_are_unit():
    embeddings = np.array([[2.0, 0.0], [0.0, 3.0], [0.0, 1.0], [5.0, 5.0]], dtype=np.float32)
    topics = np.array([4, 1, 1, S.UNCLUSTERED])
    topic_ids, centroids = topic_centroids(embeddings, topics)
    assert topic_ids.tolist() == [1, 4]
    np.testing.assert_allclose(centroids, [[0.0, 1.0], [1.0, 0.0]], atol=1e-6)


def test_topic_centroids_without_topics():
    topic_ids, centroids = topic_centroids(np.ones((3, 4), dtype=np.float32), np.full(3, S.UNCLUSTERED))
    assert topic_ids.size == 0
    assert centroids.shape == (0, 4)


def test_assign_to_centroids_nearest_and_threshold():
    topic_ids = np.array([3, 8])
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    embeddings = np.array([[0.9, 0.1], [0.2, 5.0], [1.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    assert assign_to_centroids(embeddings, topic_ids, centroids).tolist() == [3, 8, 3, 8]
    # Cosine of [1, 1] to either axis is 0.707; of [-1, 0] to the y axis 0, its best.
    thresholded = assign_to_centroids(embeddings, topic_ids, centroids, min_similarity=0.8)
    assert thresholded.tolist() == [3, 8, S.UNCLUSTERED, S.UNCLUSTERED]


def test_assign_to_centroids_empty_inputs():
    centroids = np.eye(2, dtype=np.float32)
    assert assign_to_centroids(np.zeros((0, 2)), np.array([0, 1]), centroids).shape == (0,)
    no_topics = assign_to_centroids(np.ones((3, 2)), np.array([], dtype=int), np.zeros((0, 2)))
    assert no_topics.tolist() == [S.UNCLUSTERED] * 3


def test_assign_to_centroids_batches_match_whole():
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(101, 8)).astype(np.float32)
    topic_ids, centroids = np.arange(5), rng.normal(size=(5, 8)).astype(np.float32)
    whole = assign_to_centroids(embeddings, topic_ids, centroids, 0.1)
    parts = np.concatenate([assign_to_centroids(embeddings[start:start + 10], topic_ids, centroids, 0.1)
                            for start in range(0, 101, 10)])
    assert np.array_equal(whole, parts)


def test_renumber_by_size_counts_all_texts():
    info = pd.DataFrame({S.TOPIC_ID: [0, 1], "label": ["a", "b"], "keywords": [[], []], "examples": [[], []],
                         "docs": [5, 4]})
    doc_topics = np.array([0, 1, 1, 1, S.UNCLUSTERED, 0])
    renumbered, new_info = renumber_by_size(doc_topics, info)
    assert renumbered.tolist() == [1, 0, 0, 0, S.UNCLUSTERED, 1]
    assert new_info[S.TOPIC_ID].tolist() == [0, 1]
    assert new_info["label"].tolist() == ["b", "a"]
    assert new_info["docs"].tolist() == [3, 2]


def _themed_texts(copies: int) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Four themes, each text repeated with a distinct suffix so that texts stay distinct."""
    texts, themes = [], []
    for theme_number, theme_texts in enumerate(THEMES_ZH.values()):
        for copy in range(copies):
            for text in theme_texts:
                texts.append(f"{text} 订单{copy}")
                themes.append(theme_number)
    embeddings = HashingEmbedder().encode(texts)
    return texts, embeddings, [text_hash(text) for text in texts], np.array(themes)


def test_fit_topics_sampled_covers_all_texts():
    texts, embeddings, hashes, themes = _themed_texts(copies=8)
    settings = TopicSettings(min_topic_size=10)
    result = fit_topics_sampled(texts, embeddings, settings, sample_size=120, text_hashes=hashes)
    assert isinstance(result, SampledTopicResult)
    assert result.sample_size == 120
    assert result.doc_topics.shape == (len(texts),)
    clustered = result.doc_topics[result.doc_topics != S.UNCLUSTERED]
    assert set(clustered.tolist()) == set(result.topic_info[S.TOPIC_ID].tolist())
    # docs counts every text, and ids follow size.
    counts = pd.Series(clustered).value_counts()
    assert result.topic_info["docs"].tolist() == [int(counts[topic]) for topic in result.topic_info[S.TOPIC_ID]]
    assert result.topic_info["docs"].is_monotonic_decreasing
    assert result.outlier_share_after <= settings.max_outlier_share + 0.05
    # Copies of one text differ only in their order number, so they share a topic.
    base_text = np.arange(len(texts)) % 10 + 10 * themes
    frame = pd.DataFrame({"base": base_text, "topic": result.doc_topics})
    agreeing = frame.groupby("base")["topic"].agg(lambda topics: topics.value_counts().iloc[0]).sum()
    assert agreeing / len(texts) > 0.95


def test_fit_topics_sampled_agrees_with_full_fit():
    texts, embeddings, hashes, themes = _themed_texts(copies=8)
    settings = TopicSettings(min_topic_size=10)
    full = fit_topics(texts, embeddings, settings)
    sampled = fit_topics_sampled(texts, embeddings, settings, sample_size=150, text_hashes=hashes)
    # The two fits may split a theme at different places, which costs some agreement
    # (0.77 to 0.9 seen); unrelated partitions score near 0.
    assert adjusted_rand_score(full.doc_topics, sampled.doc_topics) > 0.6


def test_fit_topics_sampled_ignores_row_order():
    texts, embeddings, hashes, _ = _themed_texts(copies=5)
    settings = TopicSettings(min_topic_size=8)
    first = fit_topics_sampled(texts, embeddings, settings, sample_size=100, text_hashes=hashes)
    order = np.random.default_rng(2).permutation(len(texts))
    second = fit_topics_sampled([texts[index] for index in order], embeddings[order], settings, sample_size=100,
                                text_hashes=[hashes[index] for index in order])
    assert np.array_equal(first.doc_topics[order], second.doc_topics)


def test_fit_topics_sampled_whole_sample_equals_fit_topics():
    texts, embeddings, hashes, _ = _themed_texts(copies=2)
    settings = TopicSettings(min_topic_size=5)
    full = fit_topics(texts, embeddings, settings)
    sampled = fit_topics_sampled(texts, embeddings, settings, sample_size=len(texts), text_hashes=hashes)
    assert np.array_equal(full.doc_topics, sampled.doc_topics)
    assert full.topic_info["docs"].tolist() == sampled.topic_info["docs"].tolist()


def test_fit_topics_sampled_too_few_texts_in_sample():
    texts, embeddings, hashes, _ = _themed_texts(copies=1)
    result = fit_topics_sampled(texts, embeddings, TopicSettings(), sample_size=10, text_hashes=hashes)
    assert result.note == "topics.too_few_texts"
    assert np.all(result.doc_topics == S.UNCLUSTERED)
    assert result.outlier_share_after == 1.0


def test_fit_topics_sampled_reports_batches():
    texts, embeddings, hashes, _ = _themed_texts(copies=4)
    calls = []
    fit_topics_sampled(texts, embeddings, TopicSettings(min_topic_size=8), sample_size=100, text_hashes=hashes,
                       on_batch=lambda done, total: calls.append((done, total)), batch_size=25)
    assert calls == [(25, 60), (50, 60), (60, 60)]


def test_pipeline_fits_on_sample_and_records_it(tmp_path):
    texts, _, _, _ = _themed_texts(copies=30)
    export = tmp_path / "large.csv"
    pd.DataFrame({"反馈内容": texts}).to_csv(export, index=False)
    settings = AnalysisSettings(embedding="hashing", cache_dir=tmp_path / "cache", min_topic_size=20,
                                fit_sample_size=1000)
    result = run_analysis(export, settings)
    sample = result.info["topics"]["fitted_on_sample"]
    assert sample["sample_size"] == 1000
    assert sample["seed"] == settings.seed
    assert result.info["settings"]["fit_sample_size"] == 1000
    topic_rows = result.documents[result.documents[S.STATUS] == "topic"]
    assert len(topic_rows) >= 0.9 * len(texts)
    assert result.topics["rows"].sum() == len(texts)


def test_pipeline_below_sample_size_fits_all(tmp_path, themed_csv):
    settings = AnalysisSettings(embedding="hashing", cache_dir=tmp_path / "cache", min_topic_size=5)
    result = run_analysis(themed_csv, settings)
    assert result.info["topics"]["fitted_on_sample"] is None


def test_fit_sample_setting_rejects_small_values():
    with pytest.raises(SettingsError):
        AnalysisSettings(fit_sample_size=10)
    assert AnalysisSettings(fit_sample_size=None).fit_sample_size is None


def test_numba_caching_turned_on_for_umap():
    import umap  # noqa: F401
    from numba.core.caching import NullCache
    from umap import layouts

    from painpoints.jit_cache import enable_numba_caching

    enable_numba_caching()
    assert not isinstance(layouts.clip._cache, NullCache)
    assert not isinstance(layouts._nb_optimize_layout_euclidean_single_epoch._cache, NullCache)


def test_cli_fit_sample_option(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from painpoints import cli

    captured = []
    monkeypatch.setattr(cli, "_run", lambda feedback, settings, *rest: captured.append(settings.fit_sample_size))
    export = tmp_path / "feedback.csv"
    export.write_text("text\nhello\n", encoding="utf-8")
    for options, expected in (([], 50_000), (["--fit-sample", "0"], None), (["--fit-sample", "2000"], 2000)):
        result = CliRunner().invoke(cli.app, ["analyze", str(export), *options])
        assert result.exit_code == 0, result.output
        assert captured[-1] == expected
    rejected = CliRunner().invoke(cli.app, ["analyze", str(export), "--fit-sample", "10"])
    assert rejected.exit_code == 2
    assert "--fit-sample" in rejected.output
