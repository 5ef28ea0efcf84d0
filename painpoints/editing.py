"""Topic editing: rename, merge, split and move rows on a run's documents and topics.

Each function is pure: it takes the documents and topics frames of a run
(``schema.DOCUMENT_COLUMNS`` and ``schema.TOPIC_COLUMNS``), returns new frames and a
``TopicEdit`` record, and leaves its inputs unchanged. Afterwards every topic row's
``rows``, ``customers`` and ``share`` are recounted from the documents with the rule
the pipeline uses: ``share`` is the topic's rows divided by all rows with a topic id
(topics, unclustered and duplicates).

Usage, with the run store of :mod:`painpoints.store`::

    from painpoints import editing, store
    from painpoints.i18n import tr
    from painpoints.outcomes import topic_outcomes
    from painpoints.schema import NO_CONTENT_TOPIC

    run = store.load_run("runs.duckdb", run_id)
    merged = editing.merge_topics(run.topics, run.documents, [2, 5], label="退款慢")
    labels = dict(zip(merged.topics["topic_id"], merged.topics["label"]))
    labels[NO_CONTENT_TOPIC] = tr("topics.no_content_label")
    outcomes = topic_outcomes(merged.documents, labels).to_frame()
    store.save_edited_run("runs.duckdb", run_id, merged.documents, merged.topics, outcomes,
                          edits=[merged.edit])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple, get_args

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.embed import Embedder
from painpoints.outcomes._sentiment import TOPIC_SENTIMENT_COLUMNS, topic_sentiment
from painpoints.settings import DEFAULT_SEED

logger = logging.getLogger(__name__)

EditAction = Literal["rename", "merge", "split", "move"]
EDIT_ACTIONS: Final[tuple[str, ...]] = get_args(EditAction)
# Reason of a row that a user moved onto topic -1.
MOVED_BY_USER: Final = "moved_by_user"
KEYWORD_SEPARATOR: Final = ", "
EXAMPLE_SEPARATOR: Final = " | "


@dataclass(frozen=True)
class TopicEdit:
    """One edit of a run's topics, as stored in the ``topic_edits`` table.

    Attributes
    ----------
    action : {"rename", "merge", "split", "move"}
    details : dict
        JSON-serialisable parameters and effects of the edit (ids, labels, rows moved),
        enough to read back what changed.
    """

    action: EditAction
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in EDIT_ACTIONS:
            raise ValueError(f"invalid edit action {self.action!r}; valid actions: {', '.join(EDIT_ACTIONS)}")

    def to_json(self) -> str:
        """Serialise ``details`` to JSON (non-ASCII kept as is)."""
        return json.dumps(self.details, ensure_ascii=False, default=_json_default)


class EditResult(NamedTuple):
    """New frames after an edit, and the edit's record."""

    topics: pd.DataFrame
    documents: pd.DataFrame
    edit: TopicEdit


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _document_topics(documents: pd.DataFrame) -> pd.Series:
    return documents[S.TOPIC_ID].astype("Int64")


def _known_ids(topics: pd.DataFrame) -> list[int]:
    return [int(topic) for topic in topics[S.TOPIC_ID]]


def _check_topic_id(topics: pd.DataFrame, topic_id: int, allow_unclustered: bool) -> int:
    known = _known_ids(topics)
    valid = [topic for topic in known if allow_unclustered or topic != S.UNCLUSTERED]
    if topic_id not in valid:
        raise ValueError(
            f"topic id {topic_id} not found; valid topic ids: {', '.join(str(topic) for topic in valid) or 'none'}"
        )
    return int(topic_id)


def _split_list(value: object, separator: str) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    return [part for part in value.split(separator) if part]


def recount_topics(topics: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Recount ``rows``, ``member_rows``, ``customers``, ``share``, ``mean_sentiment`` and ``share_negative``.

    Topics come back ordered by id with -1 (unclustered) last, as the pipeline writes
    them. A topic whose rows were all moved away stays, with 0 rows.
    """
    topics = topics.copy()
    topic_ids = _document_topics(documents)
    clustered = documents[topic_ids.notna()]
    clustered_ids = topic_ids[topic_ids.notna()].astype("int64")
    rows = clustered_ids.value_counts()
    customers = clustered.groupby(clustered_ids)[S.CUSTOMER_ID].nunique()
    total = max(len(clustered), 1)
    topics[S.TOPIC_ID] = topics[S.TOPIC_ID].astype("int64")
    topics["rows"] = [int(rows.get(topic, 0)) for topic in topics[S.TOPIC_ID]]
    topics["customers"] = [int(customers.get(topic, 0)) for topic in topics[S.TOPIC_ID]]
    topics["share"] = topics["rows"] / total
    # Primary rows; ui/_edit.py recounts this from the memberships an edit carries over.
    topics["member_rows"] = topics["rows"]
    sentiment = topic_sentiment(clustered, clustered_ids)
    for column in TOPIC_SENTIMENT_COLUMNS:
        topics[column] = [float(sentiment[column].get(topic, np.nan)) for topic in topics[S.TOPIC_ID]]
    order = sorted(range(len(topics)), key=lambda index: (topics[S.TOPIC_ID].iat[index] == S.UNCLUSTERED,
                                                          topics[S.TOPIC_ID].iat[index]))
    return topics.iloc[order].reset_index(drop=True)


def _relabel(documents: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    labels = dict(zip(topics[S.TOPIC_ID].astype("int64"), topics["label"]))
    topic_ids = _document_topics(documents)
    has_topic = topic_ids.notna()
    documents.loc[has_topic, S.TOPIC_LABEL] = [labels.get(int(topic), "") for topic in topic_ids[has_topic]]
    return documents


def rename_topic(topics: pd.DataFrame, documents: pd.DataFrame, topic_id: int, label: str) -> EditResult:
    """Rename one topic (-1 included) in the topics frame and in its documents' ``topic_label``.

    Raises
    ------
    ValueError
        When `topic_id` is not in `topics` or `label` is blank.
    """
    topic_id = _check_topic_id(topics, topic_id, allow_unclustered=True)
    label = str(label).strip()
    if not label:
        raise ValueError(f"the new label of topic {topic_id} is blank; give a non-empty label")
    topics = topics.copy()
    position = topics[S.TOPIC_ID].astype("int64") == topic_id
    old_label = str(topics.loc[position, "label"].iloc[0])
    topics.loc[position, "label"] = label
    documents = _relabel(documents.copy(), topics)
    edit = TopicEdit("rename", {"topic_id": topic_id, "old_label": old_label, "label": label})
    logger.info("renamed topic %d from %r to %r", topic_id, old_label, label)
    return EditResult(topics, documents, edit)


def merge_topics(
    topics: pd.DataFrame,
    documents: pd.DataFrame,
    topic_ids: Sequence[int],
    into: int | None = None,
    label: str | None = None,
) -> EditResult:
    """Merge two or more topics into one of them.

    The merged topic's keywords are the union of the merged topics' keywords, taken
    from the largest topic first, and its examples likewise, capped at the longest
    example list among them. c-TF-IDF keywords are not recomputed, so a keyword's
    position reflects the size of the topic it came from, not its weight in the merge.

    Parameters
    ----------
    topics, documents : pandas.DataFrame
        The run's frames.
    topic_ids : sequence of int
        At least two distinct topic ids >= 0.
    into : int, optional
        The id that remains; one of `topic_ids`. Default: the largest topic (by rows,
        ties to the lowest id).
    label : str, optional
        New label; default: the label of `into`.

    Returns
    -------
    EditResult
        With one topic fewer per extra id merged; the rows of every merged topic now
        have topic `into`.

    Raises
    ------
    ValueError
        When fewer than two distinct ids are given, an id is unknown or -1, `into` is
        not among `topic_ids`, or `label` is blank.
    """
    merged = list(dict.fromkeys(int(topic) for topic in topic_ids))
    if len(merged) < 2:
        raise ValueError(f"merging needs at least two distinct topic ids, got {list(topic_ids)}")
    for topic in merged:
        _check_topic_id(topics, topic, allow_unclustered=False)
    topics = recount_topics(topics, documents)
    by_id = topics.set_index(S.TOPIC_ID)
    by_size = sorted(merged, key=lambda topic: (-int(by_id.at[topic, "rows"]), topic))
    if into is None:
        into = by_size[0]
    elif int(into) not in merged:
        raise ValueError(f"into={into} is not one of the merged topic ids {merged}")
    into = int(into)
    if label is not None and not str(label).strip():
        raise ValueError(f"the label of merged topic {into} is blank; give a non-empty label or None")
    new_label = str(label).strip() if label is not None else str(by_id.at[into, "label"])

    keywords = list(dict.fromkeys(word for topic in by_size
                                  for word in _split_list(by_id.at[topic, "keywords"], KEYWORD_SEPARATOR)))
    example_lists = [_split_list(by_id.at[topic, "examples"], EXAMPLE_SEPARATOR) for topic in by_size]
    examples = list(dict.fromkeys(example for examples in example_lists for example in examples))
    examples = examples[: max(len(examples) for examples in example_lists)] if examples else []

    documents = documents.copy()
    document_topics = _document_topics(documents)
    moved = document_topics.isin(merged).fillna(False).to_numpy()
    documents[S.TOPIC_ID] = document_topics.mask(moved, into)
    topics = topics[~topics[S.TOPIC_ID].isin([topic for topic in merged if topic != into])].copy()
    position = topics[S.TOPIC_ID] == into
    topics.loc[position, "label"] = new_label
    topics.loc[position, "keywords"] = KEYWORD_SEPARATOR.join(keywords)
    topics.loc[position, "examples"] = EXAMPLE_SEPARATOR.join(examples)
    topics = recount_topics(topics, documents)
    documents = _relabel(documents, topics)
    edit = TopicEdit("merge", {"topic_ids": merged, "into": into, "label": new_label,
                               "rows_by_topic": {str(topic): int(by_id.at[topic, "rows"]) for topic in merged}})
    logger.info("merged topics %s into %d (%d rows)", merged, into, int(moved.sum()))
    return EditResult(topics, documents, edit)


def _duplicate_source(reasons: pd.Series) -> pd.Series:
    """Row number a ``duplicate`` row copies, parsed from its reason, else <NA>."""
    numbers = reasons.astype(str).str.removeprefix(S.DUPLICATE_REASON_PREFIX)
    valid = reasons.astype(str).str.startswith(S.DUPLICATE_REASON_PREFIX) & numbers.str.isdigit()
    return pd.to_numeric(numbers.where(valid), errors="coerce").astype("Int64")


def move_rows(
    topics: pd.DataFrame,
    documents: pd.DataFrame,
    row_numbers: Iterable[int],
    topic_id: int,
    include_duplicates: bool = True,
) -> EditResult:
    """Move rows to another topic, or to -1 (unclustered).

    A moved row becomes ``status="topic"`` with an empty reason, or on -1
    ``status="unclustered"`` with reason ``"moved_by_user"``. Rows with status
    ``duplicate`` keep their status and reason. With `include_duplicates`, the
    duplicates of a moved row (reason ``same_text_as_row_<n>``) move with it, so one
    text keeps one topic. A topic left without rows stays in the frame with 0 rows.

    Raises
    ------
    ValueError
        When `topic_id` is unknown, no row is given, a row number is not in
        `documents`, or a row has no topic id (``no_content`` or ``rejected``).
    """
    topic_id = _check_topic_id(topics, topic_id, allow_unclustered=True)
    requested = list(dict.fromkeys(int(row) for row in row_numbers))
    if not requested:
        raise ValueError("no row numbers given to move")
    row_index = pd.Index(documents[S.ROW_NUMBER].astype("int64"))
    missing = [row for row in requested if row not in row_index]
    if missing:
        raise ValueError(f"row numbers {missing[:10]} not found; valid row numbers are "
                         f"{int(row_index.min())} to {int(row_index.max())}")
    document_topics = _document_topics(documents)
    selected = row_index.isin(requested)
    no_topic = documents.loc[selected & document_topics.isna().to_numpy(), [S.ROW_NUMBER, S.STATUS]]
    if len(no_topic):
        first = no_topic.iloc[0]
        raise ValueError(f"row {int(first[S.ROW_NUMBER])} has status {first[S.STATUS]!r} and no topic; only "
                         f"rows with a topic or unclustered rows can be moved")

    duplicates: list[int] = []
    if include_duplicates:
        sources = _duplicate_source(documents[S.REASON])
        is_copy = (documents[S.STATUS] == "duplicate").to_numpy() & sources.isin(requested).fillna(False).to_numpy()
        duplicates = [int(row) for row in row_index[is_copy & ~selected]]
        selected = selected | is_copy

    documents = documents.copy()
    from_topics = {str(int(row)): int(topic) for row, topic in zip(row_index[selected], document_topics[selected])}
    documents[S.TOPIC_ID] = document_topics.mask(selected, topic_id)
    originals = selected & (documents[S.STATUS] != "duplicate").to_numpy()
    documents.loc[originals, S.STATUS] = "unclustered" if topic_id == S.UNCLUSTERED else "topic"
    documents.loc[originals, S.REASON] = MOVED_BY_USER if topic_id == S.UNCLUSTERED else ""
    topics = recount_topics(topics, documents)
    documents = _relabel(documents, topics)
    edit = TopicEdit("move", {"row_numbers": requested, "topic_id": topic_id, "duplicates_moved": duplicates,
                              "from_topics": from_topics})
    logger.info("moved %d rows (%d duplicates) to topic %d", len(from_topics), len(duplicates), topic_id)
    return EditResult(topics, documents, edit)


def embeddings_by_row(documents: pd.DataFrame, embedder: Embedder,
                      row_numbers: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Embed the texts of rows with a topic id (or of `row_numbers`), each distinct text once.

    Returns
    -------
    dict
        ``row_number -> vector``, shape (dimension,), float32, unit length.
    """
    if row_numbers is None:
        chosen = documents[_document_topics(documents).notna().to_numpy()]
    else:
        chosen = documents[documents[S.ROW_NUMBER].isin(list(row_numbers))]
    texts = list(dict.fromkeys(chosen[S.TEXT].astype(str)))
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32) if texts else np.zeros((0, embedder.dimension))
    by_text = dict(zip(texts, vectors))
    return {int(row): by_text[str(text)] for row, text in zip(chosen[S.ROW_NUMBER], chosen[S.TEXT])}


def text_embeddings(members: pd.DataFrame, texts: Sequence[str],
                    embeddings: Embedder | Mapping[int, np.ndarray]) -> np.ndarray:
    """Return the vectors of `texts`, shape (len(texts), dim), float32.

    `embeddings` is an embedder, or ``row_number -> vector`` with at least one row of
    `members` per text.

    Raises
    ------
    ValueError
        When a text has no row in the mapping.
    """
    if hasattr(embeddings, "encode"):
        return np.asarray(embeddings.encode(texts), dtype=np.float32)
    by_text: dict[str, np.ndarray] = {}
    for row, text in zip(members[S.ROW_NUMBER], members[S.TEXT].astype(str)):
        if text not in by_text and int(row) in embeddings:
            by_text[text] = np.asarray(embeddings[int(row)], dtype=np.float32)
    missing = [text for text in texts if text not in by_text]
    if missing:
        rows = members.loc[members[S.TEXT].astype(str).isin(missing), S.ROW_NUMBER].astype(int).tolist()
        raise ValueError(f"no embedding for rows {rows[:10]}; pass an embedding for each row or an embedder")
    return np.vstack([by_text[text] for text in texts])


def _part_keywords(part_texts: list[list[str]], n_keywords: int) -> list[list[str]]:
    """Top c-TF-IDF words of each part, the parts being the classes."""
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    from painpoints.keywords import KeywordTokenizer

    vectorizer = CountVectorizer(tokenizer=KeywordTokenizer(), lowercase=False, token_pattern=None)
    try:
        counts = vectorizer.fit_transform([" ".join(texts) for texts in part_texts])
    except ValueError:
        # Every token was a stop word or punctuation: no vocabulary to rank.
        return [[] for _ in part_texts]
    scores = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts).toarray()
    words = vectorizer.get_feature_names_out()
    keywords = []
    for row in scores:
        ranked = np.argsort(-row, kind="stable")
        keywords.append([str(words[index]) for index in ranked[:n_keywords] if row[index] > 0])
    return keywords


def split_topic(
    topics: pd.DataFrame,
    documents: pd.DataFrame,
    topic_id: int,
    embeddings: Embedder | Mapping[int, np.ndarray],
    n_topics: int = 2,
    seed: int = DEFAULT_SEED,
    n_keywords: int = 8,
    n_examples: int = 3,
    min_new_id: int = 0,
) -> EditResult:
    """Re-cluster one topic's texts into `n_topics` new topics with k-means.

    The distinct texts of the topic are sorted by text hash (so row order does not
    matter) and clustered by ``sklearn.cluster.KMeans(n_topics, random_state=seed,
    n_init=10)`` on their unit embeddings. The old id is retired: the parts get new
    ids above the largest id in `topics` (and at least `min_new_id`), the largest
    part first. Each part gets
    c-TF-IDF keywords computed among the parts only, a label from them and its most
    typical texts as examples. Duplicate rows follow their text.

    Parameters
    ----------
    embeddings : Embedder or mapping
        An embedder, or ``row_number -> vector`` covering at least one row of each
        distinct text of the topic (see ``embeddings_by_row``).
    n_topics : int
        Number of parts, at least 2.
    min_new_id : int
        Lowest id a part may get. Pass ``codebook.max_topic_id + 1`` for a run scored
        with a codebook, so a part never takes the id of a codebook topic absent
        from this run.

    Raises
    ------
    ValueError
        When `topic_id` is unknown or -1, `n_topics` < 2, the topic has fewer distinct
        texts than `n_topics`, or an embedding is missing.
    """
    from sklearn.cluster import KMeans

    from painpoints.keywords import KeywordTokenizer
    from painpoints.topics import make_label, rank_label_words, typical_examples

    topic_id = _check_topic_id(topics, topic_id, allow_unclustered=False)
    if n_topics < 2:
        raise ValueError(f"n_topics must be at least 2 to split a topic, got {n_topics}")
    document_topics = _document_topics(documents)
    in_topic = (document_topics == topic_id).fillna(False).to_numpy()
    members = documents[in_topic]
    texts = sorted(dict.fromkeys(members[S.TEXT].astype(str)), key=text_hash)
    if len(texts) < n_topics:
        raise ValueError(f"topic {topic_id} has {len(texts)} distinct texts, fewer than n_topics={n_topics}")
    vectors = text_embeddings(members, texts, embeddings)
    parts = KMeans(n_clusters=n_topics, random_state=seed, n_init=10).fit_predict(vectors)

    # Number the parts largest first. A tie goes to the part whose first text comes first.
    sizes = np.bincount(parts, minlength=n_topics)
    ranked = sorted(range(n_topics), key=lambda part: (-sizes[part], int(np.argmax(parts == part))))
    first_new = max(max(_known_ids(topics)) + 1, min_new_id)
    new_ids = {part: first_new + rank for rank, part in enumerate(ranked)}
    text_topic = {text: new_ids[int(part)] for text, part in zip(texts, parts)}

    text_array = np.asarray(texts, dtype=object)
    part_texts = [[texts[index] for index in np.flatnonzero(parts == part)] for part in ranked]
    part_keywords = _part_keywords(part_texts, n_keywords)
    tokenizer = KeywordTokenizer()
    new_rows = []
    for part, keywords in zip(ranked, part_keywords):
        indices = np.flatnonzero(parts == part)
        examples = typical_examples(text_array, vectors, indices, n_examples)
        ranked_words = rank_label_words(keywords, [set(tokenizer(texts[index])) for index in indices])
        new_rows.append({S.TOPIC_ID: new_ids[part], "label": make_label(ranked_words, examples, new_ids[part]),
                         "keywords": KEYWORD_SEPARATOR.join(keywords), "rows": 0, "customers": 0, "share": 0.0,
                         "mean_sentiment": np.nan, "share_negative": np.nan,
                         "examples": EXAMPLE_SEPARATOR.join(examples)})

    documents = documents.copy()
    new_topics = members[S.TEXT].astype(str).map(text_topic).astype("Int64")
    documents[S.TOPIC_ID] = document_topics
    documents.loc[in_topic, S.TOPIC_ID] = new_topics.to_numpy()
    kept = topics[topics[S.TOPIC_ID].astype("int64") != topic_id]
    topics = recount_topics(pd.concat([kept, pd.DataFrame(new_rows)], ignore_index=True), documents)
    documents = _relabel(documents, topics)
    rows_by_topic = {str(new_id): int((documents[S.TOPIC_ID] == new_id).sum()) for new_id in new_ids.values()}
    edit = TopicEdit("split", {"topic_id": topic_id, "new_topic_ids": [new_ids[part] for part in ranked],
                               "n_topics": n_topics, "seed": seed, "rows_by_topic": rows_by_topic})
    logger.info("split topic %d into %s", topic_id, rows_by_topic)
    return EditResult(topics, documents, edit)


def carry_memberships(memberships: pd.DataFrame, result: EditResult) -> pd.DataFrame:
    """Return the run's memberships after the edit in ``result``, one primary line per row with a topic.

    A rename changes nothing. After a merge, lines of the merged topics point to the
    topic they were merged into. Every row's primary line follows its topic in
    ``result.documents``, so a moved or split row gets a new primary topic with an
    empty score. A row's other topics stay, except the new primary and topics that no
    longer exist. Rows left without a topic (moved to -1) keep no line.

    >>> before = pd.DataFrame({S.ROW_NUMBER: [1, 1], S.TOPIC_ID: [0, 2], S.MEMBERSHIP_SCORE: [0.9, 0.7],
    ...                        S.IS_PRIMARY: [True, False]})
    >>> documents = pd.DataFrame({S.ROW_NUMBER: [1], S.TOPIC_ID: [0]})
    >>> topics = pd.DataFrame({S.TOPIC_ID: [0, 1]})
    >>> merged = EditResult(topics, documents, TopicEdit("merge", {"topic_ids": [0, 2], "into": 0}))
    >>> carry_memberships(before, merged)[S.TOPIC_ID].tolist()
    [0]
    """
    if result.edit.action == "rename" or memberships is None or memberships.empty:
        return memberships
    lines = memberships[list(S.MEMBERSHIP_COLUMNS)].copy()
    lines[S.TOPIC_ID] = lines[S.TOPIC_ID].astype("int64")
    if result.edit.action == "merge":
        into = int(result.edit.details["into"])
        lines[S.TOPIC_ID] = lines[S.TOPIC_ID].replace({int(topic): into for topic in result.edit.details["topic_ids"]})

    topic_of_row = _document_topics(result.documents)
    has_topic = topic_of_row.notna() & (topic_of_row.fillna(S.UNCLUSTERED) >= 0)
    primary = pd.DataFrame({S.ROW_NUMBER: result.documents.loc[has_topic, S.ROW_NUMBER].astype("int64").to_numpy(),
                            S.TOPIC_ID: topic_of_row[has_topic].astype("int64").to_numpy()})
    old_primary = lines[lines[S.IS_PRIMARY].astype(bool)].drop_duplicates([S.ROW_NUMBER, S.TOPIC_ID])
    primary = primary.merge(old_primary[[S.ROW_NUMBER, S.TOPIC_ID, S.MEMBERSHIP_SCORE]],
                            on=[S.ROW_NUMBER, S.TOPIC_ID], how="left")
    primary[S.IS_PRIMARY] = True

    existing = set(result.topics[S.TOPIC_ID].astype("int64")) - {S.UNCLUSTERED}
    others = lines[~lines[S.IS_PRIMARY].astype(bool) & lines[S.TOPIC_ID].isin(existing)
                   & lines[S.ROW_NUMBER].isin(primary[S.ROW_NUMBER])]
    others = others.merge(primary[[S.ROW_NUMBER, S.TOPIC_ID]], on=[S.ROW_NUMBER, S.TOPIC_ID], how="left",
                          indicator=True)
    others = others[others["_merge"] == "left_only"].drop(columns="_merge")
    others = others.sort_values(S.MEMBERSHIP_SCORE, ascending=False).drop_duplicates([S.ROW_NUMBER, S.TOPIC_ID])
    carried = pd.concat([primary[list(S.MEMBERSHIP_COLUMNS)], others[list(S.MEMBERSHIP_COLUMNS)]],
                        ignore_index=True)
    carried[S.IS_PRIMARY] = carried[S.IS_PRIMARY].astype(bool)
    return carried.sort_values([S.ROW_NUMBER, S.IS_PRIMARY, S.MEMBERSHIP_SCORE], ascending=[True, False, False],
                               kind="stable").reset_index(drop=True)
