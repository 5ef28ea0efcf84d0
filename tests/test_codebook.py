"""Codebook: stable topic ids across runs, JSON and store round trips, drift report."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints import store
from painpoints.codebook import (
    DRIFT_COLUMNS,
    Codebook,
    CodebookTopic,
    apply_codebook,
    drift_report,
    score_with_codebook,
)
from painpoints.editing import embeddings_by_row
from painpoints.embed import HashingEmbedder
from painpoints.errors import StoreError
from painpoints.pipeline import RunResult, run_analysis
from painpoints.settings import AnalysisSettings
from painpoints.topics import TopicSettings
from tests.conftest import THEMES_ZH

INVOICE_ZH = [
    "请帮我开发票，发票抬头写公司名", "发票一直没开出来，电子发票在哪下载", "申请开发票三天了还没收到发票",
    "发票抬头开错了，需要重开发票", "怎么开增值税专用发票，发票税号填哪里", "电子发票收不到，发票邮箱填对了",
    "发票金额不对，请重新开发票", "开发票要多久，急需发票报销", "发票信息提交了，发票还是没开",
    "需要纸质发票，发票能邮寄吗",
]


@pytest.fixture(scope="module")
def themed_run(tmp_path_factory) -> RunResult:
    folder = tmp_path_factory.mktemp("codebook")
    rows = []
    for theme, texts in THEMES_ZH.items():
        for text in texts:
            number = len(rows) + 1
            rows.append({"工单编号": f"T{number:04d}", "客户ID": f"C{number:05d}", "反馈内容": text,
                         "是否流失": "是" if number % 3 else "否"})
    path = folder / "tickets.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    settings = AnalysisSettings(embedding="hashing", cache_dir=folder / "cache", min_topic_size=5)
    return run_analysis(path, settings, embedder=HashingEmbedder())


@pytest.fixture(scope="module")
def codebook(themed_run) -> Codebook:
    vectors = embeddings_by_row(themed_run.documents, HashingEmbedder())
    return Codebook.from_run(themed_run.documents, themed_run.topics, vectors, "hashing")


def theme_texts(run: RunResult) -> dict[str, list[str]]:
    """Cleaned texts of each theme: rows 1-10 are the first theme, 11-20 the second, and so on."""
    texts = run.documents.sort_values(S.ROW_NUMBER)[S.TEXT].tolist()
    return {theme: texts[10 * index:10 * index + 10] for index, theme in enumerate(THEMES_ZH)}


def theme_topic_ids(run: RunResult) -> dict[str, int]:
    """Return the topic id of each theme in the original run, which puts each theme in one topic."""
    topics = run.documents.sort_values(S.ROW_NUMBER)[S.TOPIC_ID].astype(int).tolist()
    ids = {}
    for index, theme in enumerate(THEMES_ZH):
        found = set(topics[10 * index:10 * index + 10])
        assert len(found) == 1, f"theme {theme} spread over topics {found}"
        ids[theme] = found.pop()
    return ids


def toy_codebook(model_id: str = "toy") -> Codebook:
    return Codebook(model_id, 3, (
        CodebookTopic(0, "物流慢", ("快递", "物流"), np.array([1, 0, 0], dtype=np.float32), 0.8, 10),
        CodebookTopic(4, "退款", ("退款",), np.array([0, 1, 0], dtype=np.float32), 0.5, 6),
    ))


def test_from_run_covers_topics(themed_run, codebook):
    topic_ids = [topic_id for topic_id in themed_run.topics[S.TOPIC_ID] if topic_id >= 0]
    assert codebook.topic_ids == topic_ids
    assert codebook.model_id == "hashing"
    assert codebook.dimension == 512
    labels = dict(zip(themed_run.topics[S.TOPIC_ID], themed_run.topics["label"]))
    for topic in codebook.topics:
        assert topic.label == labels[topic.topic_id]
        assert topic.centroid.dtype == np.float32
        assert np.linalg.norm(topic.centroid) == pytest.approx(1.0, abs=1e-5)
        assert 0 < topic.min_similarity <= 1
        assert topic.rows == 10
    assert codebook.max_topic_id == 3


def test_rescoring_same_texts_keeps_every_id(themed_run, codebook):
    candidates = themed_run.documents[themed_run.documents[S.STATUS] == "topic"]
    vectors = HashingEmbedder().encode(candidates[S.TEXT].tolist())
    doc_topics, similarity = score_with_codebook(codebook, vectors, "hashing")
    assert doc_topics.tolist() == candidates[S.TOPIC_ID].astype(int).tolist()
    assert similarity.shape == (len(candidates),)


def test_codebook_rescoring_keeps_ids(themed_run, codebook):
    old_ids = theme_topic_ids(themed_run)
    old_labels = dict(zip(themed_run.topics[S.TOPIC_ID], themed_run.topics["label"]))
    by_theme = theme_texts(themed_run)
    texts = [text for texts in by_theme.values() for text in texts] + INVOICE_ZH
    random.Random(5).shuffle(texts)
    result = apply_codebook(codebook, texts, HashingEmbedder().encode(texts), "hashing",
                            TopicSettings(min_topic_size=5, seed=42))
    topic_of = dict(zip(texts, result.doc_topics.tolist()))
    for theme, texts_of_theme in by_theme.items():
        assert {topic_of[text] for text in texts_of_theme} == {old_ids[theme]}, theme

    invoice_ids = {topic_of[text] for text in INVOICE_ZH}
    assert len(invoice_ids) == 1
    invoice_id = invoice_ids.pop()
    assert invoice_id == codebook.max_topic_id + 1

    info = result.topic_info.set_index(S.TOPIC_ID)
    for topic_id in old_ids.values():
        assert info.at[topic_id, "label"] == old_labels[topic_id]
        assert info.at[topic_id, "source"] == "codebook"
    assert info.at[invoice_id, "source"] == "new"
    assert "发票" in info.at[invoice_id, "label"]
    assert info.at[invoice_id, "docs"] == len(INVOICE_ZH)
    assert result.outlier_share_before == pytest.approx(len(INVOICE_ZH) / len(texts))
    assert result.outlier_share_after == 0.0


def test_codebook_only_texts_skip_discovery(themed_run, codebook):
    texts = theme_texts(themed_run)["refund"][:4]
    result = apply_codebook(codebook, texts, HashingEmbedder().encode(texts), "hashing",
                            TopicSettings(min_topic_size=5))
    assert result.model is None
    assert (result.topic_info["source"] == "codebook").all()
    assert len(set(result.doc_topics.tolist())) == 1


def test_apply_length_mismatch_raises(codebook):
    with pytest.raises(ValueError, match="2 texts but 1 embeddings"):
        apply_codebook(codebook, ["a", "b"], np.zeros((1, 512), dtype=np.float32), "hashing")


def test_score_uses_topic_thresholds():
    vectors = np.array([[0.9, 0.1, 0], [0.55, 0.45, 0], [0.7, 0.1, 0.7], [0, 0, 1]], dtype=np.float32)
    doc_topics, similarity = score_with_codebook(toy_codebook(), vectors, "toy")
    # Row 1 is nearer topic 0 (0.77) but below its 0.8 threshold, and reaches topic 4
    # (0.63 >= 0.5). Row 2 reaches neither; row 3 is orthogonal to both.
    assert doc_topics.tolist() == [0, 4, S.UNCLUSTERED, S.UNCLUSTERED]
    assert similarity[1] == pytest.approx(0.55 / np.hypot(0.55, 0.45), abs=1e-6)
    assert similarity[3] == pytest.approx(0.0)


def test_score_global_threshold():
    vectors = np.array([[0.6, 0.4, 0], [0, 0, 1]], dtype=np.float32)
    doc_topics, _ = score_with_codebook(toy_codebook(), vectors, "toy", min_similarity=0.5)
    assert doc_topics.tolist() == [0, S.UNCLUSTERED]


def test_score_empty_codebook():
    empty = Codebook("toy", 3, ())
    doc_topics, similarity = score_with_codebook(empty, np.eye(3, dtype=np.float32), "toy")
    assert doc_topics.tolist() == [S.UNCLUSTERED] * 3
    assert np.isnan(similarity).all()
    assert empty.max_topic_id == S.UNCLUSTERED


def test_score_other_model_raises():
    with pytest.raises(ValueError, match="codebook was built with embedding model 'toy', the texts are "
                                         "embedded with 'e5-multilingual'"):
        score_with_codebook(toy_codebook(), np.eye(3, dtype=np.float32), "e5-multilingual")


def test_apply_other_model_raises(codebook):
    texts = ["发票"]
    with pytest.raises(ValueError, match="codebook was built with embedding model 'hashing'"):
        apply_codebook(codebook, texts, HashingEmbedder().encode(texts), "minilm-en")


def test_score_wrong_dimension_raises():
    with pytest.raises(ValueError, match=r"doc_embeddings have shape \(2, 4\); the codebook expects \(n_docs, 3\)"):
        score_with_codebook(toy_codebook(), np.zeros((2, 4), dtype=np.float32), "toy")


def test_score_threshold_out_of_range_raises():
    with pytest.raises(ValueError, match="min_similarity must be between -1 and 1, got 1.5"):
        score_with_codebook(toy_codebook(), np.eye(3, dtype=np.float32), "toy", min_similarity=1.5)


def test_json_round_trip(codebook):
    text = codebook.to_json()
    assert isinstance(json.loads(text)["topics"][0]["centroid"], list)
    loaded = Codebook.from_json(text)
    assert loaded.model_id == codebook.model_id
    assert loaded.dimension == codebook.dimension
    assert loaded.topic_ids == codebook.topic_ids
    for before, after in zip(codebook.topics, loaded.topics):
        assert after.label == before.label
        assert after.keywords == before.keywords
        assert after.min_similarity == before.min_similarity
        assert after.rows == before.rows
        np.testing.assert_array_equal(after.centroid, before.centroid)


def test_from_json_invalid_text_raises():
    with pytest.raises(ValueError, match="codebook is not valid JSON"):
        Codebook.from_json("{not json")


def test_from_json_other_format_raises():
    with pytest.raises(ValueError, match="codebook format 7 is not supported; expected 1"):
        Codebook.from_json(json.dumps({"format": 7}))


def test_from_json_missing_field_raises():
    data = json.loads(toy_codebook().to_json())
    del data["topics"][1]["label"]
    with pytest.raises(ValueError, match="codebook is missing the field 'label'"):
        Codebook.from_json(json.dumps(data))


def test_from_json_wrong_centroid_raises():
    data = json.loads(toy_codebook().to_json())
    data["topics"][0]["centroid"] = [1.0, 0.0]
    with pytest.raises(ValueError, match=r"centroid of topic 0 has shape \(2,\), expected \(3,\)"):
        Codebook.from_json(json.dumps(data))


def test_from_run_missing_embedding_raises(themed_run):
    vectors = embeddings_by_row(themed_run.documents, HashingEmbedder())
    del vectors[1]
    with pytest.raises(ValueError, match=r"no embedding for rows \[1\]"):
        Codebook.from_run(themed_run.documents, themed_run.topics, vectors, "hashing")


def test_from_run_mixed_dimensions_raises(themed_run):
    vectors = embeddings_by_row(themed_run.documents, HashingEmbedder())
    first_topic = themed_run.documents[themed_run.documents[S.TOPIC_ID] == 0][S.ROW_NUMBER]
    for row in first_topic:
        vectors[int(row)] = np.ones(8, dtype=np.float32)
    with pytest.raises(ValueError, match="have dimension 512, the earlier topics 8"):
        Codebook.from_run(themed_run.documents, themed_run.topics, vectors, "hashing")


def test_store_codebook_round_trip(themed_run, codebook, tmp_path):
    path = tmp_path / "runs.duckdb"
    store.save_run(themed_run, path)
    store.save_codebook(path, themed_run.run_id, toy_codebook())
    store.save_codebook(path, themed_run.run_id, codebook)
    loaded = store.load_codebook(path, themed_run.run_id)
    assert loaded.to_json() == codebook.to_json()


def test_load_missing_codebook_raises(themed_run, tmp_path):
    path = tmp_path / "runs.duckdb"
    store.save_run(themed_run, path)
    with pytest.raises(StoreError, match=f"Run {themed_run.run_id} in the store .* has no codebook"):
        store.load_codebook(path, themed_run.run_id)


def test_save_codebook_unknown_run_raises(themed_run, codebook, tmp_path):
    path = tmp_path / "runs.duckdb"
    store.save_run(themed_run, path)
    with pytest.raises(StoreError, match="Run missing-run is not in the store"):
        store.save_codebook(path, "missing-run", codebook)


def topics_table(rows: dict[int, int]) -> pd.DataFrame:
    total = sum(rows.values())
    return pd.DataFrame([{S.TOPIC_ID: topic_id, "label": f"topic {topic_id}", "rows": count,
                          "share": count / total} for topic_id, count in rows.items()])


def test_drift_labels():
    # Shares before, of 100 rows: 0.40, 0.30, 0.20, 0.05, 0.05.
    old = topics_table({0: 40, 1: 30, 2: 20, 3: 5, 4: 5, S.UNCLUSTERED: 0})
    # Shares after, of 200 rows: 0.25, 0.45, 0.205, 0.035, absent, 0.01.
    new = topics_table({0: 50, 1: 90, 2: 41, 3: 7, 5: 2, S.UNCLUSTERED: 10})
    report = drift_report(old, new)
    assert report.columns.tolist() == list(DRIFT_COLUMNS)
    changes = dict(zip(report[S.TOPIC_ID], report["change"]))
    # 0 falls 15 points; 1 rises 15 points; 2 rises 0.5 points (2.5 %); 3 falls
    # 1.5 points, 30 % of its share.
    assert changes == {0: "shrunk", 1: "grown", 2: "stable", 3: "shrunk", 4: "vanished", 5: "new"}
    row = report.set_index(S.TOPIC_ID).loc[4]
    assert row["rows_after"] == 0
    assert row["share_after"] == 0.0
    assert row["label"] == "topic 4"


def test_drift_small_relative_change_is_stable():
    # +2 points on a 40 % topic is 5 % relative: below the 25 % rule.
    old = topics_table({0: 40, 1: 60})
    new = topics_table({0: 42, 1: 58})
    assert drift_report(old, new)["change"].tolist() == ["stable", "stable"]


def test_drift_small_point_change_is_stable():
    # 0.4 % -> 0.8 % doubles the share but moves it by less than one point.
    old = topics_table({0: 4, 1: 996})
    new = topics_table({0: 8, 1: 992})
    assert drift_report(old, new).set_index(S.TOPIC_ID).at[0, "change"] == "stable"


def test_drift_excludes_unclustered():
    old = topics_table({0: 10, S.UNCLUSTERED: 10})
    new = topics_table({0: 10, S.UNCLUSTERED: 30})
    assert drift_report(old, new)[S.TOPIC_ID].tolist() == [0]


def test_drift_uses_new_label():
    old = topics_table({0: 10})
    new = topics_table({0: 10}).assign(label="物流慢")
    assert drift_report(old, new)["label"].tolist() == ["物流慢"]


def test_drift_missing_column_raises():
    with pytest.raises(ValueError, match=r"new_topics lacks the columns \['share'\]"):
        drift_report(topics_table({0: 1}), topics_table({0: 1}).drop(columns="share"))
