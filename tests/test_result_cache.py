"""Stage results read back on a re-run: same output, fewer fits, nothing stale."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from painpoints import pipeline, sentiment_stage
from painpoints import schema as S
from painpoints.pipeline import run_analysis
from painpoints.result_cache import RESULTS_FOLDER, ResultCache, result_key
from painpoints.sampling import SampledTopicResult
from painpoints.topics import TopicResult


def _comparable(result) -> pd.DataFrame:
    return result.documents[[S.ROW_NUMBER, S.TOPIC_ID, S.TOPIC_LABEL, S.SENTIMENT, S.SENTIMENT_LABEL]]


def _count_calls(monkeypatch, name: str, module=pipeline) -> list:
    calls = []
    original = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_rerun_reuses_both_stages(themed_csv, settings, embedder, monkeypatch):
    fits = _count_calls(monkeypatch, "fit_topics")
    scorings = _count_calls(monkeypatch, "score_sentiment", sentiment_stage)
    first = run_analysis(themed_csv, settings, embedder=embedder)
    second = run_analysis(themed_csv, settings, embedder=embedder)

    assert (len(fits), len(scorings)) == (1, 1)
    assert first.info["reused_results"] == []
    assert second.info["reused_results"] == ["sentiment", "topics"]
    pd.testing.assert_frame_equal(_comparable(first), _comparable(second))
    pd.testing.assert_frame_equal(first.topics, second.topics)
    pd.testing.assert_frame_equal(first.memberships, second.memberships)
    assert first.outcomes.to_frame().equals(second.outcomes.to_frame())
    assert second.info["topics"] == first.info["topics"]
    assert len(list((settings.cache_dir / RESULTS_FOLDER).glob("*.npz"))) == 2


def test_changed_setting_fits_again(themed_csv, settings, embedder, monkeypatch):
    fits = _count_calls(monkeypatch, "fit_topics")
    run_analysis(themed_csv, settings, embedder=embedder)
    changed = run_analysis(themed_csv, dataclasses.replace(settings, min_topic_size=6), embedder=embedder)
    # The sentiment stage does not depend on the minimum topic size.
    assert changed.info["reused_results"] == ["sentiment"]
    assert len(fits) == 2
    reseeded = run_analysis(themed_csv, dataclasses.replace(settings, seed=7), embedder=embedder)
    assert reseeded.info["reused_results"] == []


def test_changed_text_fits_again(themed_csv, themed_frame, settings, embedder, tmp_path):
    run_analysis(themed_csv, settings, embedder=embedder)
    edited = themed_frame.drop(columns="theme")
    edited.loc[0, "反馈内容"] = "完全不同的一条新反馈，说的是发票开错了"
    other = tmp_path / "edited.csv"
    edited.to_csv(other, index=False)
    assert run_analysis(other, settings, embedder=embedder).info["reused_results"] == []


def test_unreadable_entry_is_computed_again(themed_csv, settings, embedder):
    first = run_analysis(themed_csv, settings, embedder=embedder)
    for path in (settings.cache_dir / RESULTS_FOLDER).glob("*.npz"):
        path.write_bytes(b"not a numpy file")
    again = run_analysis(themed_csv, settings, embedder=embedder)
    assert again.info["reused_results"] == []
    pd.testing.assert_frame_equal(_comparable(first), _comparable(again))
    # The broken entries were replaced by readable ones.
    assert run_analysis(themed_csv, settings, embedder=embedder).info["reused_results"] == ["sentiment", "topics"]


def test_sampled_result_round_trips(tmp_path):
    info = pd.DataFrame({S.TOPIC_ID: [0, 1], "label": ["配送 · 延误", "退款"], "keywords": [["配送", "延误"], ["退款"]],
                         "examples": [["快递三天没到"], ["退款还没到账"]], "docs": [3, 2]})
    result = SampledTopicResult(doc_topics=np.array([0, 0, 1, -1, 0, 1]), topic_info=info, outlier_share_before=0.25,
                                outlier_share_after=1 / 6, min_topic_size=2, sample_size=4, sample_seed=42,
                                min_similarity=0.31)
    cache = ResultCache(tmp_path)
    key = result_key("topics", ["a", "b"], {"seed": 42})
    stored, reused = cache.topics(key, lambda: result)
    assert not reused
    assert stored is result
    loaded, reused = ResultCache(tmp_path).topics(key, lambda: pytest.fail("the stored result was not read"))
    assert reused and isinstance(loaded, SampledTopicResult)
    assert loaded.doc_topics.tolist() == [0, 0, 1, -1, 0, 1]
    assert loaded.sample_info() == result.sample_info()
    assert loaded.outlier_share_after == pytest.approx(1 / 6)
    pd.testing.assert_frame_equal(loaded.topic_info, info)


def test_key_depends_on_order_settings_and_extra_values():
    base = result_key("sentiment", ["h1", "h2"], {"seed": 0}, ["zh", "en"])
    assert base == result_key("sentiment", ["h1", "h2"], {"seed": 0}, ["zh", "en"])
    assert base != result_key("sentiment", ["h2", "h1"], {"seed": 0}, ["zh", "en"])
    assert base != result_key("sentiment", ["h1", "h2"], {"seed": 1}, ["zh", "en"])
    assert base != result_key("sentiment", ["h1", "h2"], {"seed": 0}, ["zh", "zh"])
    assert base != result_key("topics", ["h1", "h2"], {"seed": 0}, ["zh", "en"])
    # The separators keep ["ab"] and ["a", "b"] apart.
    assert result_key("topics", ["ab"], {}) != result_key("topics", ["a", "b"], {})


def test_plain_result_keeps_its_type(tmp_path):
    result = TopicResult(doc_topics=np.array([-1, -1]), topic_info=pd.DataFrame(columns=[S.TOPIC_ID, "label"]),
                         outlier_share_before=1.0, outlier_share_after=1.0, note="topics.too_few_texts")
    cache = ResultCache(tmp_path)
    cache.topics("k", lambda: result)
    loaded, _ = cache.topics("k", lambda: pytest.fail("the stored result was not read"))
    assert type(loaded) is TopicResult
    assert loaded.note == "topics.too_few_texts"
    assert list(loaded.topic_info.columns) == [S.TOPIC_ID, "label"]
    assert loaded.topic_info.empty


def test_unwritable_folder_only_logs(tmp_path, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    cache = ResultCache(blocker)
    frame = pd.DataFrame({S.SENTIMENT: [0.5], S.SENTIMENT_LABEL: ["positive"]})
    stored, reused = cache.sentiment("k", lambda: frame)
    assert stored is frame
    assert not reused
    assert "cannot store the sentiment result" in caplog.text
