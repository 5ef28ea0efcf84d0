"""Topic editing: rename, merge, move and split keep documents and topics consistent."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints import store
from painpoints.editing import (
    MOVED_BY_USER,
    TopicEdit,
    embeddings_by_row,
    merge_topics,
    move_rows,
    recount_topics,
    rename_topic,
    split_topic,
)
from painpoints.embed import HashingEmbedder
from painpoints.errors import StoreError
from painpoints.outcomes import topic_outcomes
from painpoints.pipeline import RunResult
from tests.conftest import THEMES_ZH

THEME_IDS = {theme: topic_id for topic_id, theme in enumerate(THEMES_ZH)}
DUPLICATE_ROW = 41
UNCLUSTERED_ROW = 42
NO_CONTENT_ROW = 43


def build_run() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run as the pipeline writes it: 40 themed rows, a duplicate, an outlier, a no-content row."""
    records = []
    for theme, texts in THEMES_ZH.items():
        for text in texts:
            number = len(records) + 1
            records.append({S.ROW_NUMBER: number, S.TICKET_ID: f"T{number}", S.CUSTOMER_ID: f"C{number % 30}",
                            S.TEXT: text, S.LANGUAGE: "zh", S.STATUS: "topic", S.REASON: "",
                            S.TOPIC_ID: THEME_IDS[theme], S.TOPIC_LABEL: theme, S.CHURNED: number % 3 == 0})
    records.append({**records[0], S.ROW_NUMBER: DUPLICATE_ROW, S.TICKET_ID: "T41", S.STATUS: "duplicate",
                    S.REASON: "same_text_as_row_1"})
    records.append({**records[0], S.ROW_NUMBER: UNCLUSTERED_ROW, S.TICKET_ID: "T42", S.TEXT: "价格还行吧",
                    S.STATUS: "unclustered", S.REASON: "outlier", S.TOPIC_ID: S.UNCLUSTERED,
                    S.TOPIC_LABEL: "Unclustered"})
    records.append({**records[0], S.ROW_NUMBER: NO_CONTENT_ROW, S.TICKET_ID: "T43", S.TEXT: "666",
                    S.STATUS: "no_content", S.REASON: "no_content_text", S.TOPIC_ID: None, S.TOPIC_LABEL: ""})
    documents = pd.DataFrame(records)
    documents[S.TOPIC_ID] = documents[S.TOPIC_ID].astype("Int64")
    documents[S.DATE] = pd.NaT
    documents[S.VALUE] = np.nan
    # Every third content row is negative, the others neutral; the no-content row has no score.
    scored = documents[S.STATUS] != "no_content"
    documents[S.SENTIMENT] = np.where(scored, np.where(documents[S.ROW_NUMBER] % 3 == 0, -0.5, 0.0), np.nan)
    documents[S.SENTIMENT_LABEL] = np.where(scored, np.where(documents[S.ROW_NUMBER] % 3 == 0, "negative",
                                                                 "neutral"), "")
    documents = documents[list(S.DOCUMENT_COLUMNS)]
    skeleton = pd.DataFrame([
        {S.TOPIC_ID: topic_id, "label": theme, "keywords": f"{theme}, word{topic_id}, shared",
         "rows": 0, "customers": 0, "share": 0.0, "mean_sentiment": np.nan, "share_negative": np.nan,
         "examples": " | ".join(THEMES_ZH[theme][:3])}
        for theme, topic_id in THEME_IDS.items()
    ] + [{S.TOPIC_ID: S.UNCLUSTERED, "label": "Unclustered", "keywords": "", "rows": 0, "customers": 0,
          "share": 0.0, "mean_sentiment": np.nan, "share_negative": np.nan, "examples": "价格还行吧"}])
    return documents, recount_topics(skeleton, documents)


@pytest.fixture
def run() -> tuple[pd.DataFrame, pd.DataFrame]:
    return build_run()


def assert_consistent(topics: pd.DataFrame, documents: pd.DataFrame) -> None:
    """Check that every row with a topic id points at a topic and that counts, shares and labels agree."""
    with_topic = documents[documents[S.TOPIC_ID].notna()]
    known = set(topics[S.TOPIC_ID])
    assert set(with_topic[S.TOPIC_ID].astype(int)) <= known
    counts = with_topic[S.TOPIC_ID].astype(int).value_counts()
    for _, topic in topics.iterrows():
        assert topic["rows"] == counts.get(topic[S.TOPIC_ID], 0)
    assert topics["rows"].sum() == len(with_topic)
    assert topics["share"].sum() == pytest.approx(1.0)
    labels = dict(zip(topics[S.TOPIC_ID], topics["label"]))
    assert (with_topic[S.TOPIC_LABEL] == with_topic[S.TOPIC_ID].astype(int).map(labels)).all()


def test_built_run_is_consistent(run):
    documents, topics = run
    assert_consistent(topics, documents)
    assert topics[S.TOPIC_ID].tolist() == [0, 1, 2, 3, S.UNCLUSTERED]


def test_rename_changes_only_labels(run):
    documents, topics = run
    result = rename_topic(topics, documents, 2, "  应用闪退  ")
    assert result.topics.loc[result.topics[S.TOPIC_ID] == 2, "label"].item() == "应用闪退"
    assert (result.documents.loc[result.documents[S.TOPIC_ID] == 2, S.TOPIC_LABEL] == "应用闪退").all()
    pd.testing.assert_frame_equal(result.topics.drop(columns="label"), topics.drop(columns="label"))
    pd.testing.assert_frame_equal(result.documents.drop(columns=S.TOPIC_LABEL),
                                  documents.drop(columns=S.TOPIC_LABEL))
    assert result.edit == TopicEdit("rename", {"topic_id": 2, "old_label": "crash", "label": "应用闪退"})


def test_rename_leaves_inputs_unchanged(run):
    documents, topics = run
    before_documents, before_topics = documents.copy(), topics.copy()
    rename_topic(topics, documents, 0, "物流慢")
    pd.testing.assert_frame_equal(documents, before_documents)
    pd.testing.assert_frame_equal(topics, before_topics)


def test_rename_unclustered_allowed(run):
    documents, topics = run
    result = rename_topic(topics, documents, S.UNCLUSTERED, "其他")
    assert result.documents.loc[result.documents[S.ROW_NUMBER] == UNCLUSTERED_ROW, S.TOPIC_LABEL].item() == "其他"


def test_rename_invalid_id_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match=r"topic id 9 not found; valid topic ids: 0, 1, 2, 3, -1"):
        rename_topic(topics, documents, 9, "x")


def test_rename_blank_label_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="label of topic 1 is blank"):
        rename_topic(topics, documents, 1, "   ")


def test_merge_invariants(run):
    documents, topics = run
    result = merge_topics(topics, documents, [0, 3])
    assert len(result.topics) == len(topics) - 1
    assert 3 not in set(result.topics[S.TOPIC_ID])
    merged_rows = result.topics.loc[result.topics[S.TOPIC_ID] == 0, "rows"].item()
    assert merged_rows == topics.set_index(S.TOPIC_ID).loc[[0, 3], "rows"].sum()
    assert result.topics["rows"].sum() == topics["rows"].sum()
    assert len(result.documents) == len(documents)
    assert result.documents[S.TOPIC_ID].isna().sum() == documents[S.TOPIC_ID].isna().sum()
    assert_consistent(result.topics, result.documents)
    # An edited run keeps one topic per row, so member rows equal rows.
    assert result.topics["member_rows"].tolist() == result.topics["rows"].tolist()


def test_merge_defaults_into_largest(run):
    documents, topics = run
    # Topic 0 has the duplicate row, so 11 rows against topic 1's 10.
    result = merge_topics(topics, documents, [1, 0])
    assert result.edit.details["into"] == 0
    assert result.topics.loc[result.topics[S.TOPIC_ID] == 0, "label"].item() == "courier"


def test_merge_keywords_union_by_size(run):
    documents, topics = run
    result = merge_topics(topics, documents, [1, 0], into=1, label="物流和退款")
    merged = result.topics.set_index(S.TOPIC_ID).loc[1]
    assert merged["label"] == "物流和退款"
    assert merged["keywords"] == "courier, word0, shared, refund, word1"
    assert len(merged["examples"].split(" | ")) == 3
    assert (result.documents.loc[result.documents[S.TOPIC_ID] == 1, S.TOPIC_LABEL] == "物流和退款").all()


def test_merge_three_lowers_count_by_two(run):
    documents, topics = run
    result = merge_topics(topics, documents, [0, 1, 2])
    assert len(result.topics) == len(topics) - 2
    assert_consistent(result.topics, result.documents)


def test_merge_single_id_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="at least two distinct topic ids"):
        merge_topics(topics, documents, [1, 1])


def test_merge_unclustered_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="topic id -1 not found; valid topic ids: 0, 1, 2, 3$"):
        merge_topics(topics, documents, [0, S.UNCLUSTERED])


def test_merge_into_outside_ids_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match=r"into=2 is not one of the merged topic ids \[0, 1\]"):
        merge_topics(topics, documents, [0, 1], into=2)


def test_merge_blank_label_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="label of merged topic 0 is blank"):
        merge_topics(topics, documents, [0, 1], label=" ")


def test_move_keeps_row_count(run):
    documents, topics = run
    result = move_rows(topics, documents, [11, 12], 2)
    assert len(result.documents) == len(documents)
    assert result.topics["rows"].sum() == topics["rows"].sum()
    moved = result.documents.set_index(S.ROW_NUMBER).loc[[11, 12]]
    assert (moved[S.TOPIC_ID] == 2).all()
    assert (moved[S.TOPIC_LABEL] == "crash").all()
    assert result.edit.details["from_topics"] == {"11": 1, "12": 1}
    assert_consistent(result.topics, result.documents)


def test_move_to_unclustered_sets_reason(run):
    documents, topics = run
    result = move_rows(topics, documents, [5], S.UNCLUSTERED)
    row = result.documents.set_index(S.ROW_NUMBER).loc[5]
    assert row[S.STATUS] == "unclustered"
    assert row[S.REASON] == MOVED_BY_USER
    assert row[S.TOPIC_LABEL] == "Unclustered"


def test_move_unclustered_row_onto_topic(run):
    documents, topics = run
    result = move_rows(topics, documents, [UNCLUSTERED_ROW], 3)
    row = result.documents.set_index(S.ROW_NUMBER).loc[UNCLUSTERED_ROW]
    assert row[S.STATUS] == "topic"
    assert row[S.REASON] == ""
    assert result.topics.set_index(S.TOPIC_ID).at[S.UNCLUSTERED, "rows"] == 0


def test_move_carries_duplicates(run):
    documents, topics = run
    result = move_rows(topics, documents, [1], 2)
    by_row = result.documents.set_index(S.ROW_NUMBER)
    assert by_row.at[DUPLICATE_ROW, S.TOPIC_ID] == 2
    assert by_row.at[DUPLICATE_ROW, S.STATUS] == "duplicate"
    assert by_row.at[DUPLICATE_ROW, S.REASON] == "same_text_as_row_1"
    assert result.edit.details["duplicates_moved"] == [DUPLICATE_ROW]


def test_move_without_duplicates(run):
    documents, topics = run
    result = move_rows(topics, documents, [1], 2, include_duplicates=False)
    assert result.documents.set_index(S.ROW_NUMBER).at[DUPLICATE_ROW, S.TOPIC_ID] == 0


def test_move_emptying_topic_keeps_it(run):
    documents, topics = run
    result = move_rows(topics, documents, range(21, 31), 1)
    assert result.topics.set_index(S.TOPIC_ID).at[2, "rows"] == 0
    assert_consistent(result.topics, result.documents)


def test_move_unknown_row_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match=r"row numbers \[99\] not found; valid row numbers are 1 to 43"):
        move_rows(topics, documents, [3, 99], 1)


def test_move_no_content_row_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="row 43 has status 'no_content' and no topic"):
        move_rows(topics, documents, [NO_CONTENT_ROW], 1)


def test_move_unknown_topic_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="topic id 7 not found; valid topic ids: 0, 1, 2, 3, -1"):
        move_rows(topics, documents, [3], 7)


def test_move_no_rows_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="no row numbers given"):
        move_rows(topics, documents, [], 1)


def merged_courier_and_crash(documents: pd.DataFrame, topics: pd.DataFrame):
    return merge_topics(topics, documents, [0, 2], into=0, label="mixed")


def test_split_raises_count_same_rows(run):
    documents, topics = run
    merged = merged_courier_and_crash(documents, topics)
    result = split_topic(merged.topics, merged.documents, 0, HashingEmbedder(), n_topics=2, seed=7)
    assert len(result.topics) == len(merged.topics) + 1
    new_ids = result.edit.details["new_topic_ids"]
    assert new_ids == [4, 5]
    assert 0 not in set(result.topics[S.TOPIC_ID])
    before = set(merged.documents.loc[merged.documents[S.TOPIC_ID] == 0, S.ROW_NUMBER])
    after = set(result.documents.loc[result.documents[S.TOPIC_ID].isin(new_ids), S.ROW_NUMBER])
    assert after == before
    assert_consistent(result.topics, result.documents)


def test_split_min_new_id(run):
    documents, topics = run
    result = split_topic(topics, documents, 1, HashingEmbedder(), min_new_id=10)
    assert result.edit.details["new_topic_ids"] == [10, 11]


def test_split_recovers_themes(run):
    documents, topics = run
    merged = merged_courier_and_crash(documents, topics)
    result = split_topic(merged.topics, merged.documents, 0, HashingEmbedder(), n_topics=2, seed=7)
    by_row = result.documents.set_index(S.ROW_NUMBER)[S.TOPIC_ID]
    courier = set(by_row.loc[list(range(1, 11)) + [DUPLICATE_ROW]])
    crash = set(by_row.loc[range(21, 31)])
    assert len(courier) == 1
    assert len(crash) == 1
    assert courier != crash
    labels = result.topics.set_index(S.TOPIC_ID)["label"]
    courier_label = labels[courier.pop()]
    assert "快递" in courier_label or "物流" in courier_label
    assert "闪退" in labels[crash.pop()]


def test_split_same_seed_same_result(run):
    documents, topics = run
    merged = merged_courier_and_crash(documents, topics)
    first = split_topic(merged.topics, merged.documents, 0, HashingEmbedder(), seed=3)
    second = split_topic(merged.topics, merged.documents.iloc[::-1], 0, HashingEmbedder(), seed=3)
    pd.testing.assert_frame_equal(first.topics, second.topics)


def test_split_with_embeddings_by_row(run):
    documents, topics = run
    vectors = embeddings_by_row(documents, HashingEmbedder())
    assert NO_CONTENT_ROW not in vectors
    from_mapping = split_topic(topics, documents, 1, vectors, seed=1)
    from_embedder = split_topic(topics, documents, 1, HashingEmbedder(), seed=1)
    pd.testing.assert_frame_equal(from_mapping.topics, from_embedder.topics)


def test_split_missing_embedding_raises(run):
    documents, topics = run
    vectors = embeddings_by_row(documents, HashingEmbedder())
    del vectors[12]
    with pytest.raises(ValueError, match=r"no embedding for rows \[12\]"):
        split_topic(topics, documents, 1, vectors)


def test_split_too_few_texts_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="topic 1 has 10 distinct texts, fewer than n_topics=11"):
        split_topic(topics, documents, 1, HashingEmbedder(), n_topics=11)


def test_split_one_part_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="n_topics must be at least 2"):
        split_topic(topics, documents, 1, HashingEmbedder(), n_topics=1)


def test_split_unclustered_raises(run):
    documents, topics = run
    with pytest.raises(ValueError, match="topic id -1 not found"):
        split_topic(topics, documents, S.UNCLUSTERED, HashingEmbedder())


def test_edit_invalid_action_raises():
    with pytest.raises(ValueError, match="invalid edit action 'delete'; valid actions: rename, merge, split, move"):
        TopicEdit("delete", {})


def test_edit_details_json(run):
    documents, topics = run
    edit = merge_topics(topics, documents, [0, 1]).edit
    assert json.loads(edit.to_json()) == {"topic_ids": [0, 1], "into": 0, "label": "courier",
                                          "rows_by_topic": {"0": 11, "1": 10}}


def save_hand_run(path, documents, topics, run_id="run-1") -> str:
    info = {"run_id": run_id, "created_at": "2026-01-05T10:00:00+00:00", "input_path": "/data/tickets.csv",
            "rows_by_status": {}, "topics": {"count": 4}}
    outcomes = topic_outcomes(documents, dict(zip(topics[S.TOPIC_ID], topics["label"])), min_customers=1)
    return store.save_run(RunResult(run_id, documents, topics, outcomes, info), path)


def test_store_edit_log_round_trip(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    run_id = save_hand_run(path, documents, topics)
    assert store.list_edits(path, run_id).empty
    first = rename_topic(topics, documents, 1, "退款慢").edit
    second = move_rows(topics, documents, [3], S.UNCLUSTERED).edit
    assert store.record_edit(path, run_id, first) == 1
    assert store.record_edit(path, run_id, second) == 2
    edits = store.list_edits(path, run_id)
    assert edits["edit_number"].tolist() == [1, 2]
    assert edits["action"].tolist() == ["rename", "move"]
    assert edits["details"].iloc[0] == first.details
    assert edits["details"].iloc[1] == second.details
    assert edits["created_at"].notna().all()


def test_store_edit_unknown_run_raises(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    save_hand_run(path, documents, topics)
    edit = TopicEdit("rename", {"topic_id": 1})
    with pytest.raises(StoreError, match="Run run-9 is not in the store"):
        store.record_edit(path, "run-9", edit)
    with pytest.raises(StoreError, match="Run run-9 is not in the store"):
        store.list_edits(path, "run-9")


def test_save_edited_run_round_trip(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    run_id = save_hand_run(path, documents, topics)
    save_hand_run(path, documents, topics, run_id="run-2")
    merged = merge_topics(topics, documents, [0, 1], label="物流和退款")
    labels = dict(zip(merged.topics[S.TOPIC_ID], merged.topics["label"]))
    outcomes = topic_outcomes(merged.documents, labels, min_customers=1).to_frame()
    store.save_edited_run(path, run_id, merged.documents, merged.topics, outcomes, edits=[merged.edit])

    loaded = store.load_run(path, run_id)
    assert len(loaded.documents) == len(documents)
    assert loaded.topics[S.TOPIC_ID].tolist() == merged.topics[S.TOPIC_ID].tolist()
    assert loaded.topics["label"].tolist() == merged.topics["label"].tolist()
    assert set(loaded.topic_outcomes[S.TOPIC_ID]) == set(outcomes[S.TOPIC_ID])
    assert (loaded.documents[S.TOPIC_ID] == 1).sum() == 0
    assert loaded.info["topics"]["count"] == 3
    assert "edited_at" in loaded.info
    assert store.list_edits(path, run_id)["action"].tolist() == ["merge"]
    other = store.load_run(path, "run-2")
    assert len(other.topics) == len(topics)
    assert store.list_edits(path, "run-2").empty


def test_edited_run_can_be_edited_again(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    run_id = save_hand_run(path, documents, topics)
    loaded = store.load_run(path, run_id)
    moved = move_rows(loaded.topics, loaded.documents, [2], 3)
    store.save_edited_run(path, run_id, moved.documents, moved.topics, None, edits=[moved.edit])
    again = store.load_run(path, run_id)
    assert again.documents.set_index(S.ROW_NUMBER).at[2, S.TOPIC_ID] == 3
    assert_consistent(again.topics, again.documents)


def test_save_edited_run_lost_rows_raises(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    run_id = save_hand_run(path, documents, topics)
    with pytest.raises(ValueError, match="must keep every row number exactly once"):
        store.save_edited_run(path, run_id, documents.iloc[:-1], topics, None)
    assert len(store.load_run(path, run_id).documents) == len(documents)


def test_delete_run_removes_edits(run, tmp_path):
    documents, topics = run
    path = tmp_path / "runs.duckdb"
    run_id = save_hand_run(path, documents, topics)
    store.record_edit(path, run_id, rename_topic(topics, documents, 1, "退款").edit)
    store.delete_run(path, run_id)
    save_hand_run(path, documents, topics)
    assert store.list_edits(path, run_id).empty
