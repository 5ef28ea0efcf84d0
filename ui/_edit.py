"""Edit topics page logic, without Streamlit calls: apply an edit to a stored run and save
it, describe the edit history, build and save the codebook, and compare two runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from painpoints import codebook as C
from painpoints import editing
from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.embed import Embedder, embed_texts, load_embedder
from painpoints.i18n import tr
from painpoints.outcomes import topic_outcomes
from painpoints.settings import default_cache_dir
from painpoints.store import (
    StoredRun,
    list_edits,
    load_run,
    save_codebook,
    save_edited_run,
)
from painpoints.vector_cache import EmbeddingCache

DRIFT_CHANGES = ("new", "grown", "shrunk", "vanished", "stable")


def topic_labels(topics: pd.DataFrame, language: str) -> dict[int, str]:
    """Return ``topic_id -> label`` of every line of the outcome table, -1 and -2 included."""
    labels = {int(topic): str(label) for topic, label in zip(topics[S.TOPIC_ID], topics["label"])}
    labels[S.UNCLUSTERED] = tr("topics.unclustered_label", language)
    labels[S.NO_CONTENT_TOPIC] = tr("topics.no_content_label", language)
    return labels


def recompute_outcomes(documents: pd.DataFrame, topics: pd.DataFrame, info: dict,
                       language: str, memberships: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Recompute the topic-vs-churn table of edited frames, as the run computed it.

    With `memberships`, a customer counts for every topic of their rows, as in the run.
    Returns None when the rows carry no outcome (a run without one, or one whose
    outcome came from a customers file, which the store does not keep).
    """
    if not documents[S.CHURNED].notna().any():
        return None
    unit = (info.get("outcomes") or {}).get("unit", "customer")
    if memberships is not None and memberships.empty:
        memberships = None
    return topic_outcomes(documents, topic_labels(topics, language), unit=unit,
                          memberships=memberships).to_frame()


def _relabelled(outcomes: pd.DataFrame, topics: pd.DataFrame, language: str) -> pd.DataFrame:
    outcomes = outcomes.copy()
    labels = topic_labels(topics, language)
    outcomes["label"] = [labels.get(int(topic), label) for topic, label in zip(outcomes[S.TOPIC_ID], outcomes["label"])]
    return outcomes


def _save(store: Path, run: StoredRun, result: editing.EditResult, language: str) -> int:
    memberships = editing.carry_memberships(run.memberships, result)
    topics = result.topics
    if memberships is not None and not memberships.empty:
        member_rows = memberships.groupby(S.TOPIC_ID)[S.ROW_NUMBER].nunique()
        topics = topics.assign(member_rows=[int(member_rows.get(int(topic), rows)) for topic, rows
                                            in zip(topics[S.TOPIC_ID], topics["rows"])])
        result = result._replace(topics=topics)
    # A new name changes no count, so after a rename the stored table (with its adjusted
    # odds ratios, revenue and sentiment columns) only gets the new label.
    outcomes = None
    if result.edit.action != "rename":
        outcomes = recompute_outcomes(result.documents, result.topics, run.info, language, memberships)
    if outcomes is None and not run.topic_outcomes.empty:
        # NOTE: the store does not keep a customers file, so when the outcome came from
        # one, a merge, split or move leaves this table counting the topics as they were.
        outcomes = _relabelled(run.topic_outcomes, result.topics, language)
    save_edited_run(store, run.run_id, result.documents, result.topics, outcomes, edits=[result.edit],
                    memberships=memberships)
    return len(list_edits(store, run.run_id))


def rename(store: Path, run: StoredRun, topic_id: int, label: str, language: str) -> int:
    """Rename a topic, save the run and return the number of edits in its history.

    Raises
    ------
    ValueError
        When the topic is unknown or the label blank.
    """
    return _save(store, run, editing.rename_topic(run.topics, run.documents, topic_id, label), language)


def merge(store: Path, run: StoredRun, topic_ids: Sequence[int], label: str | None, language: str) -> int:
    """Merge topics into the largest of them, save the run and return its edit count."""
    return _save(store, run, editing.merge_topics(run.topics, run.documents, topic_ids, label=label or None),
                 language)


def move(store: Path, run: StoredRun, row_numbers: Sequence[int], topic_id: int, language: str) -> int:
    """Move rows (and their duplicates) to a topic or to -1, save the run and return its edit count."""
    return _save(store, run, editing.move_rows(run.topics, run.documents, row_numbers, topic_id), language)


def run_embedder(run: StoredRun) -> Embedder:
    """Load the embedding model the run used (the viewer runs without a GPU)."""
    return load_embedder(run.info.get("embedding", {}).get("backend", "auto"))


def row_vectors(documents: pd.DataFrame, embedder: Embedder, row_numbers: Sequence[int] | None = None,
                cache_dir: Path | None = None) -> dict[int, np.ndarray]:
    """Return ``row_number -> vector`` of the rows with a topic (or `row_numbers`), using the embedding cache.

    The run filled the cache, so only texts missing from it are embedded again.
    """
    has_topic = documents[S.TOPIC_ID].notna().to_numpy()
    chosen = documents[has_topic] if row_numbers is None else documents[documents[S.ROW_NUMBER].isin(row_numbers)]
    texts = list(dict.fromkeys(chosen[S.TEXT].astype(str)))
    cache = EmbeddingCache(cache_dir or default_cache_dir())
    try:
        vectors, _ = embed_texts(texts, [text_hash(text) for text in texts], embedder, cache)
    finally:
        cache.close()
    by_text = dict(zip(texts, vectors))
    return {int(row): by_text[str(text)] for row, text in zip(chosen[S.ROW_NUMBER], chosen[S.TEXT])}


def split(store: Path, run: StoredRun, topic_id: int, parts: int, language: str,
          embedder: Embedder | None = None, cache_dir: Path | None = None) -> int:
    """Split a topic into `parts` topics with k-means, save the run and return its edit count."""
    embedder = embedder or run_embedder(run)
    members = run.documents[(run.documents[S.TOPIC_ID].astype("Int64") == topic_id).fillna(False).to_numpy()]
    vectors = row_vectors(run.documents, embedder, members[S.ROW_NUMBER].tolist(), cache_dir)
    result = editing.split_topic(run.topics, run.documents, topic_id, vectors, n_topics=parts)
    return _save(store, run, result, language)


def save_run_codebook(store: Path, run: StoredRun, embedder: Embedder | None = None,
                      cache_dir: Path | None = None) -> C.Codebook:
    """Build the codebook of the run's current topics and store it with the run."""
    embedder = embedder or run_embedder(run)
    book = C.Codebook.from_run(run.documents, run.topics, row_vectors(run.documents, embedder, None, cache_dir),
                               embedder.model_id)
    save_codebook(store, run.run_id, book)
    return book


def describe_edit(action: str, details: dict, language: str) -> str:
    """Return one sentence describing a stored edit."""
    if action == "rename":
        return tr("ui.edit_rename_done", language, topic=details.get("topic_id"),
                  old=details.get("old_label", ""), new=details.get("label", ""))
    if action == "merge":
        return tr("ui.edit_merge_done", language, topics=", ".join(map(str, details.get("topic_ids", []))),
                  into=details.get("into"), label=details.get("label", ""))
    if action == "split":
        return tr("ui.edit_split_done", language, topic=details.get("topic_id"),
                  topics=", ".join(map(str, details.get("new_topic_ids", []))))
    if action == "move":
        return tr("ui.edit_move_done", language, rows=len(details.get("from_topics", {})),
                  topic=details.get("topic_id"))
    return action


def edit_history(store: Path, run_id: str, language: str) -> pd.DataFrame:
    """Return the run's edits, oldest first: number, time (UTC) and a sentence each."""
    edits = list_edits(store, run_id)
    return pd.DataFrame({
        tr("ui.col_edit_number", language): edits["edit_number"].astype("int64").to_numpy(),
        tr("ui.col_edit_time", language): [format_time(value, language) for value in edits["created_at"]],
        tr("ui.col_edit", language): [describe_edit(action, details, language)
                                      for action, details in zip(edits["action"], edits["details"])],
    })


def format_time(value: object, language: str) -> str:
    """Format a timestamp in UTC for the locale: ``04 Dec 2026 22:15`` or ``2026年12月4日 22:15``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if language == "zh":
        return f"{stamp.year}年{stamp.month}月{stamp.day}日 {stamp:%H:%M}"
    return f"{stamp:%d %b %Y %H:%M}"


def drift_report(store: Path, run: StoredRun, earlier_run_id: str) -> pd.DataFrame:
    """Return ``codebook.drift_report`` from the stored run ``earlier_run_id`` to `run`."""
    return C.drift_report(load_run(store, earlier_run_id).topics, run.topics)


def drift_table(report: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return a :func:`drift_report` with changed topics first and headers translated."""
    order = {change: index for index, change in enumerate(DRIFT_CHANGES)}
    report = report.sort_values("change", key=lambda column: column.map(order), kind="stable")
    return pd.DataFrame({
        tr("ui.col_topic_id", language): report[S.TOPIC_ID].to_numpy(),
        tr("ui.col_label", language): report["label"].to_numpy(),
        tr("ui.col_change", language): [tr(f"ui.change_{change}", language) for change in report["change"]],
        tr("ui.col_rows_before", language): report["rows_before"].to_numpy(),
        tr("ui.col_rows_after", language): report["rows_after"].to_numpy(),
        tr("ui.col_share_before", language): report["share_before"].to_numpy(),
        tr("ui.col_share_after", language): report["share_after"].to_numpy(),
    })


def change_counts(report: pd.DataFrame) -> dict[str, int]:
    """Count the topics of a :func:`drift_report` that are new, grown, shrunk, vanished and stable."""
    counts = report["change"].value_counts()
    return {change: int(counts.get(change, 0)) for change in DRIFT_CHANGES}


def row_choices(documents: pd.DataFrame, topic_id: int, query: str = "", limit: int = 500) -> dict[int, str]:
    """Return ``row_number -> "row: text"`` of a topic's rows, filtered by `query`
    (case-insensitive substring), at most `limit`. Duplicates are left out because they
    move with the row they copy.
    """
    in_topic = (documents[S.TOPIC_ID].astype("Int64") == topic_id).fillna(False).to_numpy()
    rows = documents[in_topic & (documents[S.STATUS] != "duplicate").to_numpy()]
    if query:
        rows = rows[rows[S.TEXT].astype(str).str.contains(query, case=False, regex=False)]
    rows = rows.head(limit)
    return {int(row): f"{int(row)}: {str(text)[:80]}" for row, text in zip(rows[S.ROW_NUMBER], rows[S.TEXT])}


def editable_topics(topics: pd.DataFrame, language: str) -> dict[int, str]:
    """Return ``topic_id -> "id: label (rows)"`` of the topics >= 0, largest first."""
    ordered = topics[topics[S.TOPIC_ID].astype("int64") >= 0].sort_values(["rows", S.TOPIC_ID],
                                                                          ascending=[False, True])
    return {int(row[S.TOPIC_ID]): tr("ui.topic_option", language, topic=int(row[S.TOPIC_ID]), label=row["label"],
                                     rows=f"{int(row['rows']):,}") for _, row in ordered.iterrows()}
