"""Edit topics page: rename, merge, move and split saved to the store, the edit
history, the codebook reused for new data, and what changed since an earlier run.

Two runs of the themed file are built once per module; each test edits a copy.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from painpoints import schema as S
from painpoints.embed import HashingEmbedder
from painpoints.store import list_edits, load_codebook, load_run
from tests.ui_pages import build_store, copied_store, page_app, themed_csv_bytes
from ui import _edit, _upload


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> tuple[Path, list[str]]:
    return build_store(tmp_path_factory.mktemp("edit-store"), runs=2)


@pytest.fixture
def store(base_store, tmp_path) -> tuple[Path, str, str]:
    """A copy of the module's store: (path, earlier run id, later run id)."""
    return copied_store(base_store, tmp_path)


def edit_page(store: Path, run_id: str, language: str = "en") -> AppTest:
    return page_app(store, "page_edit", run_id, language)


def topic_rows(topics) -> dict[int, int]:
    return {int(topic): int(rows) for topic, rows in zip(topics[S.TOPIC_ID], topics["rows"]) if int(topic) >= 0}


def test_rename_through_page(store):
    path, _, run_id = store
    before = load_run(path, run_id)
    topic = next(iter(_edit.editable_topics(before.topics, "en")))
    app = edit_page(path, run_id).run()
    assert not app.exception
    app.selectbox(key="edit_rename_topic_en").set_value(topic)
    app.text_input(key="edit_rename_label").input("物流延误").run()
    app.button(key="edit_rename").click().run()
    assert not app.exception

    after = load_run(path, run_id)
    labels = dict(zip(after.topics[S.TOPIC_ID].astype(int), after.topics["label"]))
    assert labels[topic] == "物流延误"
    assert set(after.documents.loc[after.documents[S.TOPIC_ID] == topic, S.TOPIC_LABEL]) == {"物流延误"}
    assert topic_rows(after.topics) == topic_rows(before.topics)
    assert app.success[0].value.endswith("this run now has 1 edits.")
    history = app.dataframe[1].value
    assert history["Edit"].tolist() == [f"Topic {topic} renamed from \"{labels_before(before)[topic]}\" to \"物流延误\""]


def labels_before(run) -> dict[int, str]:
    return dict(zip(run.topics[S.TOPIC_ID].astype(int), run.topics["label"]))


def test_merge_through_page(store):
    path, _, run_id = store
    before = load_run(path, run_id)
    sizes = topic_rows(before.topics)
    assert len(sizes) >= 3
    first, second = sorted(sizes, key=lambda topic: (-sizes[topic], topic))[:2]
    app = edit_page(path, run_id, "zh").run()
    app.radio(key="edit_action_zh").set_value("merge").run()
    app.multiselect(key="edit_merge_topics_zh").set_value([first, second])
    app.text_input(key="edit_merge_label").input("物流与退款").run()
    app.button(key="edit_merge").click().run()
    assert not app.exception

    after = load_run(path, run_id)
    merged = topic_rows(after.topics)
    assert len(merged) == len(sizes) - 1
    assert merged[first] == sizes[first] + sizes[second]
    assert second not in merged
    assert sum(merged.values()) == sum(sizes.values())
    # The topic-vs-churn table was recomputed for the merged topics.
    outcomes = after.topic_outcomes.set_index(S.TOPIC_ID)
    assert second not in outcomes.index
    assert int(outcomes.at[first, "customers"]) == sizes[first] + sizes[second]
    assert outcomes.at[first, "label"] == "物流与退款"
    assert after.info["topics"]["count"] == len(merged)
    edits = list_edits(path, run_id)
    assert edits["action"].tolist() == ["merge"]
    assert app.dataframe[1].value["编辑内容"].tolist() == [f"话题 {first}, {second} 合并为话题 {first}“物流与退款”"]


def test_merge_needs_two_topics(store):
    path, _, run_id = store
    app = edit_page(path, run_id).run()
    assert app.button(key="edit_rename").disabled
    app.radio(key="edit_action_en").set_value("merge").run()
    assert app.button(key="edit_merge").disabled


def test_move_rows_and_history_grows(store):
    path, _, run_id = store
    run = load_run(path, run_id)
    sizes = topic_rows(run.topics)
    source, target = sorted(sizes)[:2]
    rows = run.documents.loc[run.documents[S.TOPIC_ID] == source, S.ROW_NUMBER].head(2).tolist()
    assert _edit.move(path, run, rows, target, "en") == 1
    after = load_run(path, run_id)
    moved = topic_rows(after.topics)
    assert moved[source] == sizes[source] - 2
    assert moved[target] == sizes[target] + 2
    assert _edit.rename(path, after, target, "新名称", "en") == 2
    history = _edit.edit_history(path, run_id, "en")
    assert history["Edit"].tolist()[0] == f"2 rows moved to topic {target}"
    assert history["No."].tolist() == [1, 2]


def test_split_adds_a_topic(store, tmp_path):
    path, _, run_id = store
    run = load_run(path, run_id)
    sizes = topic_rows(run.topics)
    largest = max(sizes, key=sizes.get)
    _edit.split(path, run, largest, 2, "en", embedder=HashingEmbedder(), cache_dir=tmp_path / "cache")
    after = topic_rows(load_run(path, run_id).topics)
    assert len(after) == len(sizes) + 1
    assert largest not in after
    assert sum(after.values()) == sum(sizes.values())


def test_renamed_codebook_names_new_run(store, tmp_path):
    path, _, run_id = store
    run = load_run(path, run_id)
    topic = next(iter(_edit.editable_topics(run.topics, "en")))
    _edit.rename(path, run, topic, "物流延误", "en")

    app = edit_page(path, run_id).run()
    app.button(key="edit_save_codebook").click().run()
    assert not app.exception
    book = load_codebook(path, run_id)
    assert dict((entry.topic_id, entry.label) for entry in book.topics)[topic] == "物流延误"
    assert _upload.codebook_runs(path) == [run_id]

    new_run = _upload.analyse_upload(themed_csv_bytes(), "next.csv", path, codebook_run=run_id,
                                     embedder=HashingEmbedder(), cache_dir=tmp_path / "cache")
    scored = load_run(path, new_run)
    labels = labels_before(scored)
    assert labels[topic] == "物流延误"
    assert scored.info["codebook_run"] == run_id
    assert set(topic_rows(scored.topics)) <= set(book.topic_ids) | set(range(book.max_topic_id + 1, 1000))

    # The same texts scored with the codebook keep every topic: nothing new, nothing vanished.
    counts = _edit.change_counts(_edit.drift_report(path, scored, run_id))
    assert counts["new"] == 0
    assert counts["vanished"] == 0


def test_what_changed_after_merge(store):
    path, earlier, later = store
    run = load_run(path, later)
    sizes = topic_rows(run.topics)
    first, second = sorted(sizes, key=lambda topic: (-sizes[topic], topic))[:2]
    _edit.merge(path, run, [first, second], None, "en")

    app = edit_page(path, later).run()
    app.selectbox(key="edit_compare_run").set_value(earlier).run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Vanished"] == "1"
    assert metrics["Grown"] == "1"
    table = app.dataframe[-1].value
    changes = dict(zip(table["Topic id"], table["Change"]))
    assert changes[second] == "Vanished"
    assert changes[first] == "Grown"


def test_format_time_by_language():
    assert _edit.format_time("2026-12-04T22:15:09+00:00", "en") == "04 Dec 2026 22:15"
    assert _edit.format_time("2026-12-04T22:15:09+00:00", "zh") == "2026年12月4日 22:15"
    assert _edit.format_time(None, "en") == "–"


def test_language_switch_keeps_chosen_topic(store):
    path, _, run_id = store
    run = load_run(path, run_id)
    topics = list(_edit.editable_topics(run.topics, "en"))
    app = edit_page(path, run_id).run()
    app.selectbox(key="edit_rename_topic_en").set_value(topics[1]).run()
    app.session_state["language"] = "zh"
    app.run()
    assert not app.exception
    chosen = app.selectbox(key="edit_rename_topic_zh")
    assert chosen.value == topics[1]
    assert chosen.format_func(topics[1]).endswith("行）")


def test_rename_without_row_outcomes_relabels_table(store):
    # A run whose outcome came from a customers file has no churn flag on its rows.
    path, _, run_id = store
    run = load_run(path, run_id)
    run.documents[S.CHURNED] = pd.array([pd.NA] * len(run.documents), dtype="boolean")
    topic = next(iter(_edit.editable_topics(run.topics, "en")))
    _edit.rename(path, run, topic, "物流延误", "en")
    outcomes = load_run(path, run_id).topic_outcomes.set_index(S.TOPIC_ID)
    assert outcomes.at[topic, "label"] == "物流延误"
    assert outcomes.at[topic, "customers"] == run.topic_outcomes.set_index(S.TOPIC_ID).at[topic, "customers"]


def _with_memberships(path: Path, run_id: str):
    """The stored run, with row 1's text given a second topic, as a ticket with two issues gets."""
    run = load_run(path, run_id)
    topics = sorted(int(topic) for topic in run.topics[S.TOPIC_ID] if int(topic) >= 0)
    first_row = run.documents[run.documents[S.STATUS] == "topic"].iloc[0]
    second = next(topic for topic in topics if topic != int(first_row[S.TOPIC_ID]))
    extra = pd.DataFrame({S.ROW_NUMBER: [int(first_row[S.ROW_NUMBER])], S.TOPIC_ID: [second],
                          S.MEMBERSHIP_SCORE: [0.5], S.IS_PRIMARY: [False]})
    run.memberships = pd.concat([run.memberships, extra], ignore_index=True)
    return run, int(first_row[S.ROW_NUMBER]), int(first_row[S.TOPIC_ID]), second


def test_rename_keeps_every_statistic(store):
    path, _, run_id = store
    run, row, primary, second = _with_memberships(path, run_id)
    _edit.rename(path, run, second, "退款慢", "en")

    after = load_run(path, run_id)
    numeric = run.topic_outcomes.select_dtypes("number").columns
    pd.testing.assert_frame_equal(after.topic_outcomes[numeric], run.topic_outcomes[numeric])
    assert "退款慢" in set(after.topic_outcomes["label"])
    # The second topic of the two-issue row survives the rename.
    lines = after.memberships[after.memberships[S.ROW_NUMBER] == row]
    assert sorted(lines[S.TOPIC_ID].astype(int)) == sorted([primary, second])


def test_merge_carries_memberships(store):
    path, _, run_id = store
    run, row, primary, second = _with_memberships(path, run_id)
    _edit.merge(path, run, [primary, second], None, "en")

    after = load_run(path, run_id)
    kept = int(after.documents.loc[after.documents[S.ROW_NUMBER] == row, S.TOPIC_ID].iloc[0])
    merged_away = ({primary, second} - {kept}).pop()
    assert merged_away not in set(after.memberships[S.TOPIC_ID].astype(int))
    # One primary line per row with a topic, naming the row's topic.
    primary_lines = after.memberships[after.memberships[S.IS_PRIMARY].astype(bool)]
    with_topic = after.documents[after.documents[S.TOPIC_ID].fillna(-1).astype(int) >= 0]
    assert primary_lines[S.ROW_NUMBER].is_unique
    assert dict(zip(primary_lines[S.ROW_NUMBER].astype(int), primary_lines[S.TOPIC_ID].astype(int))) == dict(
        zip(with_topic[S.ROW_NUMBER].astype(int), with_topic[S.TOPIC_ID].astype(int)))
    # The two-issue row now has one line: both of its topics became the same topic.
    assert (after.memberships[S.ROW_NUMBER] == row).sum() == 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pages_warn_analyses_predate_merge(store, language):
    path, _, later = store
    for page in ("page_churn", "page_trends"):
        assert not page_app(path, page, later, language).run().warning
    run = load_run(path, later)
    sizes = topic_rows(run.topics)
    first, second = sorted(sizes, key=lambda topic: (-sizes[topic], topic))[:2]
    _edit.merge(path, run, [first, second], None, language)
    expected = "1 edit(s)" if language == "en" else "1 次编辑"
    for page in ("page_churn", "page_trends"):
        app = page_app(path, page, later, language).run()
        assert not app.exception
        assert any(expected in warning.value for warning in app.warning)


def test_rename_leaves_analyses_current(store):
    path, _, later = store
    run = load_run(path, later)
    _edit.rename(path, run, int(run.topics[S.TOPIC_ID].max()), "新名称", "en")
    assert not page_app(path, "page_churn", later, "en").run().warning
