"""Run store: every run in one embedded DuckDB file.

Tables (each with ``run_id``): ``runs`` (one row per run, run.json as JSON),
``documents``, ``topics`` and ``topic_outcomes`` with the columns of
:mod:`painpoints.schema`. A run is written in one transaction, so an interrupted
save leaves the earlier runs as they were. ``memberships`` (every topic of each
clustered row, ``schema.MEMBERSHIP_COLUMNS``) exists once a run with topics is
saved, so stores written before it still open. Topic edits add ``topic_edits``
(run_id, edit_number, action, details JSON, created_at) and ``codebooks``
(run_id, model_id, codebook JSON), see :mod:`painpoints.editing` and
:mod:`painpoints.codebook`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from painpoints import schema as S
from painpoints.codebook import Codebook
from painpoints.editing import TopicEdit
from painpoints.errors import StoreError
from painpoints.pipeline import RunResult

logger = logging.getLogger(__name__)

TABLES = ("documents", "topics", "topic_outcomes")
# Tables of the optional outcome analyses (OutcomeAnalysis.tables), written when a run has them.
ANALYSIS_TABLES = ("survival", "survival_curves", "scores", "trends", "emerging_topics", "segments")
# Every topic of each clustered row (RunResult.memberships), written when a run has topics.
MEMBERSHIPS_TABLE = "memberships"
# Tables of topic edits and codebooks, created on the first edit or codebook saved.
EDIT_TABLES = ("topic_edits", "codebooks")


@dataclass
class StoredRun:
    """A run read back from the store."""

    run_id: str
    info: dict
    documents: pd.DataFrame
    topics: pd.DataFrame
    topic_outcomes: pd.DataFrame
    # Table name in ANALYSIS_TABLES -> its rows, for the analyses the run has.
    analyses: dict[str, pd.DataFrame] = field(default_factory=dict)
    # schema.MEMBERSHIP_COLUMNS; empty for runs without topics, runs saved before the
    # table existed, and edited runs.
    memberships: pd.DataFrame = field(default_factory=pd.DataFrame)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store, creating its folder and the ``runs`` table when writing.

    Raises
    ------
    StoreError
        When the file cannot be opened (locked by another process, not a DuckDB file).
    """
    path = Path(path)
    if read_only and not path.is_file():
        raise StoreError("store.not_found", path=str(path))
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        raise StoreError("store.cannot_open", path=str(path), detail=str(error).splitlines()[0]) from error
    if not read_only:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, "
            "input_path VARCHAR, info JSON)"
        )
    return connection


def _insert(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, run_id: str) -> None:
    staged = frame.copy()
    staged.insert(0, "run_id", run_id)
    connection.register("staged_frame", staged)
    exists = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()[0]
    if not exists:
        connection.execute(f"CREATE TABLE {table} AS SELECT * FROM staged_frame LIMIT 0")
    known = {row[0] for row in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    for column in staged.columns:
        if column not in known:
            connection.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" '
                               f'{_duck_type(connection, column)}')
    connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged_frame")
    connection.unregister("staged_frame")


def _duck_type(connection: duckdb.DuckDBPyConnection, column: str) -> str:
    return connection.execute(f'SELECT typeof("{column}") FROM staged_frame LIMIT 1').fetchone()[0]


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed at the end, rolled back on any error."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def save_run(result: RunResult, path: str | Path) -> str:
    """Write a run to the store in one transaction and return its id."""
    connection = connect(path)
    try:
        with _transaction(connection):
            connection.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?)",
                [result.run_id, pd.Timestamp(result.info["created_at"]).tz_convert(None), result.info["input_path"],
                 json.dumps(result.info, ensure_ascii=False, default=str)],
            )
            _insert(connection, "documents", result.documents, result.run_id)
            _insert(connection, "topics", result.topics, result.run_id)
            if result.outcomes is not None and len(result.outcomes.table):
                _insert(connection, "topic_outcomes", result.outcomes.to_frame(), result.run_id)
            if result.analysis is not None:
                for table, frame in result.analysis.tables().items():
                    if table in ANALYSIS_TABLES and len(frame):
                        _insert(connection, table, frame, result.run_id)
            if result.memberships is not None and len(result.memberships):
                _insert(connection, MEMBERSHIPS_TABLE, result.memberships, result.run_id)
    finally:
        connection.close()
    logger.info("saved run %s to %s", result.run_id, path)
    return result.run_id


def list_runs(path: str | Path) -> pd.DataFrame:
    """Return ``run_id``, ``created_at`` and ``input_path`` of every run, newest first.

    ``created_at`` has whole seconds, so runs saved within one second are ordered by
    DuckDB's ``rowid``, which grows in the order rows are inserted.
    """
    connection = connect(path, read_only=True)
    try:
        return connection.execute(
            "SELECT run_id, created_at, input_path FROM runs ORDER BY created_at DESC, rowid DESC").df()
    finally:
        connection.close()


def list_run_infos(path: str | Path) -> dict[str, dict]:
    """Return ``run_id -> info`` (run.json as stored) of every run, newest first.

    Raises
    ------
    StoreError
        When the store is missing or cannot be opened.
    """
    connection = connect(path, read_only=True)
    try:
        rows = connection.execute("SELECT run_id, info FROM runs ORDER BY created_at DESC, rowid DESC").fetchall()
    finally:
        connection.close()
    return {run_id: json.loads(info) for run_id, info in rows}


def load_run(path: str | Path, run_id: str | None = None) -> StoredRun:
    """Read one run (the newest when ``run_id`` is None).

    Raises
    ------
    StoreError
        When the store is missing or contains no such run.
    """
    connection = connect(path, read_only=True)
    try:
        if run_id is None:
            row = connection.execute("SELECT run_id, info FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        else:
            row = connection.execute("SELECT run_id, info FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row is None:
            raise StoreError("store.run_not_found", path=str(path), run_id=run_id or "latest")
        found_id, info = row
        frames = {}
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for table in TABLES:
            if table in tables:
                frame = connection.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?", [found_id]).df()
            else:
                frame = pd.DataFrame()
            if table == "documents" and len(frame):
                frame = frame.sort_values(S.ROW_NUMBER, kind="stable").reset_index(drop=True)
            frames[table] = frame
        analyses = {}
        for table in ANALYSIS_TABLES:
            if table in tables:
                frame = connection.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?", [found_id]).df()
                if len(frame):
                    analyses[table] = frame
        memberships = pd.DataFrame(columns=list(S.MEMBERSHIP_COLUMNS))
        if MEMBERSHIPS_TABLE in tables:
            memberships = connection.execute(
                f"SELECT * EXCLUDE (run_id) FROM {MEMBERSHIPS_TABLE} WHERE run_id = ? "
                f"ORDER BY {S.ROW_NUMBER}, {S.IS_PRIMARY} DESC, {S.MEMBERSHIP_SCORE} DESC", [found_id]).df()
        return StoredRun(found_id, json.loads(info), frames["documents"], frames["topics"], frames["topic_outcomes"],
                         analyses, memberships)
    finally:
        connection.close()


def delete_run(path: str | Path, run_id: str) -> None:
    """Remove a run and its rows from every table."""
    connection = connect(path)
    try:
        with _transaction(connection):
            for table in (*TABLES, *ANALYSIS_TABLES, MEMBERSHIPS_TABLE, *EDIT_TABLES):
                if _has_table(connection, table):
                    connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            connection.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
    finally:
        connection.close()


def _create_edit_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS topic_edits (run_id VARCHAR, edit_number INTEGER, "
                       "action VARCHAR, details JSON, created_at TIMESTAMP)")
    connection.execute("CREATE TABLE IF NOT EXISTS codebooks (run_id VARCHAR PRIMARY KEY, model_id VARCHAR, "
                       "codebook JSON)")


def _require_run(connection: duckdb.DuckDBPyConnection, path: str | Path, run_id: str) -> None:
    if not connection.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]:
        raise StoreError("store.run_not_found", path=str(path), run_id=run_id)


def _has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    # fetchall() finishes the result: DuckDB 2 rejects register() while one is unread.
    return bool(connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                   [table]).fetchall()[0][0])


def _insert_edits(connection: duckdb.DuckDBPyConnection, run_id: str, edits: Iterable[TopicEdit]) -> list[int]:
    last = connection.execute("SELECT coalesce(max(edit_number), 0) FROM topic_edits WHERE run_id = ?",
                              [run_id]).fetchone()[0]
    created_at = datetime.now(timezone.utc).replace(tzinfo=None)
    numbers = []
    for edit in edits:
        last += 1
        connection.execute("INSERT INTO topic_edits VALUES (?, ?, ?, ?, ?)",
                           [run_id, last, edit.action, edit.to_json(), created_at])
        numbers.append(int(last))
    return numbers


@contextmanager
def _open_run_for_edits(path: str | Path, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store for writing, check that the run exists and create the edit tables."""
    connection = connect(path)
    try:
        _require_run(connection, path, run_id)
        _create_edit_tables(connection)
        yield connection
    finally:
        connection.close()


def record_edit(path: str | Path, run_id: str, edit: TopicEdit) -> int:
    """Append an edit to a run's edit log and return its edit number (1, 2, … per run).

    Raises
    ------
    StoreError
        When the store cannot be opened or contains no such run.
    """
    with _open_run_for_edits(path, run_id) as connection:
        with _transaction(connection):
            (number,) = _insert_edits(connection, run_id, [edit])
    logger.info("recorded edit %d (%s) of run %s", number, edit.action, run_id)
    return number


def list_edits(path: str | Path, run_id: str) -> pd.DataFrame:
    """Return a run's edits in order: ``edit_number``, ``action``, ``details`` (dict), ``created_at``.

    Raises
    ------
    StoreError
        When the store is missing or contains no such run.
    """
    connection = connect(path, read_only=True)
    try:
        _require_run(connection, path, run_id)
        if not _has_table(connection, "topic_edits"):
            return pd.DataFrame(columns=["edit_number", "action", "details", "created_at"])
        edits = connection.execute("SELECT edit_number, action, details, created_at FROM topic_edits "
                                   "WHERE run_id = ? ORDER BY edit_number", [run_id]).df()
    finally:
        connection.close()
    edits["details"] = [json.loads(details) for details in edits["details"]]
    return edits


def save_codebook(path: str | Path, run_id: str, codebook: Codebook) -> None:
    """Store the codebook built from a run, replacing that run's earlier codebook.

    Raises
    ------
    StoreError
        When the store cannot be opened or contains no such run.
    """
    with _open_run_for_edits(path, run_id) as connection:
        with _transaction(connection):
            connection.execute("DELETE FROM codebooks WHERE run_id = ?", [run_id])
            connection.execute("INSERT INTO codebooks VALUES (?, ?, ?)",
                               [run_id, codebook.model_id, codebook.to_json()])
    logger.info("saved a codebook of %d topics for run %s", len(codebook.topics), run_id)


def load_codebook(path: str | Path, run_id: str) -> Codebook:
    """Read the codebook stored for a run.

    Raises
    ------
    StoreError
        When the store is missing, or contains no such run or no codebook for it.
    """
    connection = connect(path, read_only=True)
    try:
        _require_run(connection, path, run_id)
        row = None
        if _has_table(connection, "codebooks"):
            row = connection.execute("SELECT codebook FROM codebooks WHERE run_id = ?", [run_id]).fetchone()
    finally:
        connection.close()
    if row is None:
        raise StoreError("store.codebook_not_found", path=str(path), run_id=run_id)
    return Codebook.from_json(row[0])


def save_edited_run(
    path: str | Path,
    run_id: str,
    documents: pd.DataFrame,
    topics: pd.DataFrame,
    outcomes_frame: pd.DataFrame | None,
    edits: Iterable[TopicEdit] = (),
    memberships: pd.DataFrame | None = None,
) -> None:
    """Replace a run's documents, topics and topic_outcomes rows in one transaction.

    `edits` are appended to the run's edit log in the same transaction. The run's
    info gets the new row counts by status, topic count and ``edited_at``.

    NOTE: the optional analysis tables (survival, trends, segments …) are not
    rewritten, so after a merge, split or move they still describe the topics as
    they were before the edit. `memberships` (see
    :func:`painpoints.editing.carry_memberships`) replace the run's memberships; when
    None they are deleted, so the edited run has one topic per row.

    Raises
    ------
    ValueError
        When `documents` does not have exactly the stored run's row numbers.
    StoreError
        When the store cannot be opened or contains no such run.
    """
    with _open_run_for_edits(path, run_id) as connection:
        stored = set()
        if _has_table(connection, "documents"):
            stored = {int(row) for (row,) in connection.execute(
                f"SELECT {S.ROW_NUMBER} FROM documents WHERE run_id = ?", [run_id]).fetchall()}
        given = {int(row) for row in documents[S.ROW_NUMBER]}
        if given != stored or len(documents) != len(given):
            raise ValueError(f"documents have {len(documents)} rows, the stored run {run_id} has {len(stored)}; "
                             f"an edited run must keep every row number exactly once")
        (info,) = connection.execute("SELECT info FROM runs WHERE run_id = ?", [run_id]).fetchone()
        info = json.loads(info)
        counts = documents[S.STATUS].value_counts().reindex(list(S.STATUSES), fill_value=0)
        info["rows_by_status"] = {status: int(count) for status, count in counts.items()}
        if isinstance(info.get("topics"), dict):
            info["topics"]["count"] = int((topics[S.TOPIC_ID].astype("int64") >= 0).sum())
        info["edited_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")

        with _transaction(connection):
            # The old memberships name the topics as they were before the edit.
            for table in (*TABLES, MEMBERSHIPS_TABLE):
                if _has_table(connection, table):
                    connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id]).fetchall()
            _insert(connection, "documents", documents, run_id)
            _insert(connection, "topics", topics, run_id)
            if outcomes_frame is not None and len(outcomes_frame):
                _insert(connection, "topic_outcomes", outcomes_frame, run_id)
            if memberships is not None and len(memberships):
                _insert(connection, MEMBERSHIPS_TABLE, memberships[list(S.MEMBERSHIP_COLUMNS)], run_id)
            connection.execute("UPDATE runs SET info = ? WHERE run_id = ?",
                               [json.dumps(info, ensure_ascii=False, default=str), run_id])
            _insert_edits(connection, run_id, edits)
    logger.info("saved the edited run %s to %s", run_id, path)
