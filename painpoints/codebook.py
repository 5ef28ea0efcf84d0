"""Codebook: stable topic ids and labels across runs, and the drift between two runs.

A ``Codebook`` keeps, per topic of a reviewed run, its id, label, keywords and
centroid embedding. Scoring a new export with it gives every text that is close to a
known topic that topic's id and label. Only the remaining texts can form new
topics, and those get ids above the codebook's largest id, so old ids and names
never change. ``drift_report`` compares two runs' topic tables.

Usage, with the run store of :mod:`painpoints.store`::

    from painpoints import codebook, editing, store
    from painpoints.topics import TopicSettings

    run = store.load_run("runs.duckdb", old_run_id)
    vectors = editing.embeddings_by_row(run.documents, embedder)
    book = codebook.Codebook.from_run(run.documents, run.topics, vectors, embedder.model_id)
    store.save_codebook("runs.duckdb", old_run_id, book)

    result = codebook.apply_codebook(book, new_texts, embedder.encode(new_texts), embedder.model_id,
                                     TopicSettings(min_topic_size=5))
    # result.doc_topics keeps the codebook's ids; result.topic_info["source"] marks new topics.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.editing import KEYWORD_SEPARATOR, text_embeddings
from painpoints.embed import unit_rows, unit_vector
from painpoints.topics import (
    MEMBER_SIMILARITY_PERCENTILE,
    TopicResult,
    TopicSettings,
    fit_topics,
)

logger = logging.getLogger(__name__)

CODEBOOK_FORMAT: Final = 1
# Subtracted from each topic's default threshold, see Codebook.from_run.
THRESHOLD_MARGIN: Final = 1e-5
# drift_report: a topic has grown or shrunk when its share changes by at least this
# fraction of its old share and by at least this many share points (0.01 = 1 point).
DRIFT_MIN_RELATIVE_CHANGE: Final = 0.25
DRIFT_MIN_SHARE_CHANGE: Final = 0.01
DRIFT_COLUMNS: Final = (S.TOPIC_ID, "label", "rows_before", "rows_after", "share_before", "share_after", "change")


@dataclass(frozen=True, eq=False)
class CodebookTopic:
    """One topic of a codebook.

    Attributes
    ----------
    topic_id : int
    label : str
    keywords : tuple of str
    centroid : numpy.ndarray, shape (dim,), float32
        Unit-length mean of the unit embeddings of the topic's distinct texts.
    min_similarity : float
        Default assignment threshold: the 5th percentile (``method="lower"``, so an
        observed value) of the members' cosine similarities to the centroid, minus
        ``THRESHOLD_MARGIN``.
    rows : int
        Distinct texts the centroid was computed from.
    """

    topic_id: int
    label: str
    keywords: tuple[str, ...]
    centroid: np.ndarray
    min_similarity: float
    rows: int


@dataclass(frozen=True, eq=False)
class Codebook:
    """Topics of a reviewed run, tied to the embedding model their centroids come from.

    Attributes
    ----------
    model_id : str
        Id of the embedding model (``Embedder.model_id``) that made the centroids.
    dimension : int
        Length of every centroid; 0 for a codebook built from a run without topics.
    topics : tuple of CodebookTopic
        In the order of the run's topics table.
    """

    model_id: str
    dimension: int
    topics: tuple[CodebookTopic, ...]

    @property
    def topic_ids(self) -> list[int]:
        return [topic.topic_id for topic in self.topics]

    @property
    def max_topic_id(self) -> int:
        """Largest topic id, or -1 for an empty codebook."""
        return max(self.topic_ids, default=S.UNCLUSTERED)

    @property
    def centroids(self) -> np.ndarray:
        """Topic centroids, shape (n_topics, dimension), float32."""
        if not self.topics:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([topic.centroid for topic in self.topics]).astype(np.float32)

    @classmethod
    def from_run(
        cls,
        documents: pd.DataFrame,
        topics: pd.DataFrame,
        doc_embeddings_by_row: Mapping[int, np.ndarray],
        model_id: str,
    ) -> Codebook:
        """Build a codebook from a run's topics >= 0 and the embeddings of their texts.

        Parameters
        ----------
        documents, topics : pandas.DataFrame
            The run's frames, after any edits.
        doc_embeddings_by_row : mapping
            ``row_number -> vector`` (unit length, from model `model_id`) for at least
            one row of each distinct text with a topic; see
            ``editing.embeddings_by_row``.
        model_id : str
            Id of the embedding model that made the vectors.

        Raises
        ------
        ValueError
            When a text has no embedding, or the vectors differ in dimension.

        Notes
        -----
        Topics without rows (all rows moved away) are left out.
        """
        document_topics = documents[S.TOPIC_ID].astype("Int64")
        entries = []
        dimension = 0
        for _, topic in topics.iterrows():
            topic_id = int(topic[S.TOPIC_ID])
            if topic_id < 0:
                continue
            members = documents[(document_topics == topic_id).fillna(False).to_numpy()]
            texts = list(dict.fromkeys(members[S.TEXT].astype(str)))
            if not texts:
                logger.info("topic %d has no rows and is left out of the codebook", topic_id)
                continue
            vectors = text_embeddings(members, texts, doc_embeddings_by_row)
            if dimension and vectors.shape[1] != dimension:
                raise ValueError(f"embeddings of topic {topic_id} have dimension {vectors.shape[1]}, "
                                 f"the earlier topics {dimension}; use vectors of one model")
            dimension = vectors.shape[1]
            centroid = unit_vector(vectors.mean(axis=0))
            similarity = unit_rows(vectors) @ centroid
            # The margin keeps the member that sets the threshold above it when
            # scoring recomputes its similarity with different float32 rounding.
            threshold = float(np.percentile(similarity, MEMBER_SIMILARITY_PERCENTILE, method="lower")) \
                - THRESHOLD_MARGIN
            written = topic["keywords"] if isinstance(topic["keywords"], str) else ""
            keywords = tuple(word for word in written.split(KEYWORD_SEPARATOR) if word)
            entries.append(CodebookTopic(topic_id, str(topic["label"]), keywords, centroid.astype(np.float32),
                                         threshold, len(texts)))
        return cls(model_id, dimension, tuple(entries))

    def to_json(self) -> str:
        """Serialise to JSON, centroids as lists of floats."""
        return json.dumps({
            "format": CODEBOOK_FORMAT,
            "model_id": self.model_id,
            "dimension": self.dimension,
            "topics": [{"topic_id": topic.topic_id, "label": topic.label, "keywords": list(topic.keywords),
                        "centroid": [float(value) for value in topic.centroid],
                        "min_similarity": topic.min_similarity, "rows": topic.rows} for topic in self.topics],
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Codebook:
        """Read a codebook written by ``to_json``.

        Raises
        ------
        ValueError
            When the text is not such a codebook (invalid JSON, another format
            version, a missing field or a centroid of the wrong length).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"codebook is not valid JSON: {error}") from error
        if not isinstance(data, dict) or data.get("format") != CODEBOOK_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"codebook format {found!r} is not supported; expected {CODEBOOK_FORMAT}")
        try:
            dimension = int(data["dimension"])
            topics = tuple(
                CodebookTopic(int(entry["topic_id"]), str(entry["label"]), tuple(entry["keywords"]),
                              np.asarray(entry["centroid"], dtype=np.float32), float(entry["min_similarity"]),
                              int(entry["rows"]))
                for entry in data["topics"]
            )
            model_id = str(data["model_id"])
        except KeyError as error:
            raise ValueError(f"codebook is missing the field {error.args[0]!r}") from error
        for topic in topics:
            if topic.centroid.shape != (dimension,):
                raise ValueError(f"centroid of topic {topic.topic_id} has shape {topic.centroid.shape}, "
                                 f"expected ({dimension},)")
        return cls(model_id, dimension, topics)




def _check_model(codebook: Codebook, model_id: str) -> None:
    if model_id != codebook.model_id:
        raise ValueError(f"codebook was built with embedding model {codebook.model_id!r}, the texts are embedded "
                         f"with {model_id!r}; embed them with {codebook.model_id!r} or build a new codebook")


def score_with_codebook(
    codebook: Codebook,
    doc_embeddings: np.ndarray,
    model_id: str,
    min_similarity: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Assign each text to the most similar codebook topic whose threshold it reaches.

    A text reaches a topic when its cosine similarity to the topic's centroid is at
    least the threshold: `min_similarity` when given, else the topic's own
    ``CodebookTopic.min_similarity`` (5th percentile of its members' similarities).
    Among the topics it reaches, the text goes to the most similar one. A text can
    be nearest to a topic with a high threshold and still reach only another one,
    like an HDBSCAN member that lies between two topics.

    Parameters
    ----------
    codebook : Codebook
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Vectors of the new texts from model `model_id`.
    model_id : str
    min_similarity : float, optional
        One threshold for all topics, between -1 and 1.

    Returns
    -------
    doc_topics : numpy.ndarray, shape (n_docs,), int
        Codebook topic id, or ``UNCLUSTERED`` (-1) for texts left for discovery.
    similarity : numpy.ndarray, shape (n_docs,), float
        Cosine similarity to the nearest centroid (NaN for an empty codebook).

    Raises
    ------
    ValueError
        When `model_id` differs from the codebook's, the dimension differs, or
        `min_similarity` is outside [-1, 1].
    """
    _check_model(codebook, model_id)
    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    if doc_embeddings.ndim != 2 or (codebook.dimension and doc_embeddings.shape[1] != codebook.dimension):
        raise ValueError(f"doc_embeddings have shape {doc_embeddings.shape}; the codebook expects "
                         f"(n_docs, {codebook.dimension})")
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        raise ValueError(f"min_similarity must be between -1 and 1, got {min_similarity}")
    n_docs = doc_embeddings.shape[0]
    if not codebook.topics or n_docs == 0:
        return np.full(n_docs, S.UNCLUSTERED, dtype=int), np.full(n_docs, np.nan)

    similarity = unit_rows(doc_embeddings) @ codebook.centroids.T
    if min_similarity is None:
        thresholds = np.array([topic.min_similarity for topic in codebook.topics])
    else:
        thresholds = np.full(len(codebook.topics), min_similarity)
    reached = np.where(similarity >= thresholds[np.newaxis, :], similarity, -np.inf)
    chosen = reached.argmax(axis=1)
    topic_ids = np.array(codebook.topic_ids)
    doc_topics = np.where(np.isfinite(reached.max(axis=1)), topic_ids[chosen], S.UNCLUSTERED)
    return doc_topics.astype(int), similarity.max(axis=1).astype(float)


def apply_codebook(
    codebook: Codebook,
    texts: Sequence[str],
    doc_embeddings: np.ndarray,
    model_id: str,
    settings: TopicSettings = TopicSettings(),
    min_similarity: float | None = None,
) -> TopicResult:
    """Score texts with a codebook, then discover new topics among the texts it left over.

    Texts assigned by ``score_with_codebook`` keep the codebook's ids, labels and
    keywords. For discovery, ``fit_topics`` runs on all texts, because a few
    leftover texts alone are too few for UMAP and HDBSCAN (``fit_topics`` needs
    ``MIN_TEXTS_FOR_TOPICS``). A discovered topic becomes a new topic when at least
    its minimum topic size of members, and at least half of its members, are
    leftovers. The new topic then holds only those leftovers, keeps the label and
    keywords discovery gave it, and gets an id above ``codebook.max_topic_id``,
    the largest new topic first. Other leftovers stay -1, so the unclustered share
    can exceed ``settings.max_outlier_share``.

    Parameters
    ----------
    codebook : Codebook
    texts : sequence of str, length n_docs
        Distinct cleaned texts.
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit vectors of `texts` from model `model_id`.
    model_id : str
    settings : TopicSettings
        For the discovery step.
    min_similarity : float, optional
        See ``score_with_codebook``.

    Returns
    -------
    TopicResult
        ``doc_topics`` in input order; ``topic_info`` has one row per topic with
        texts, ordered by id, with the extra column ``source`` (``"codebook"`` or
        ``"new"``). Codebook topics no text was assigned to are absent.
        ``outlier_share_before`` is the share of texts the codebook left over,
        ``outlier_share_after`` the share still -1 after discovery.

    Raises
    ------
    ValueError
        As ``score_with_codebook``, or when `texts` and `doc_embeddings` differ in length.
    """
    from painpoints.topics import auto_min_topic_size, typical_examples

    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    if len(texts) != len(doc_embeddings):
        raise ValueError(f"{len(texts)} texts but {len(doc_embeddings)} embeddings; pass one vector per text")
    doc_topics, _ = score_with_codebook(codebook, doc_embeddings, model_id, min_similarity)
    text_array = np.asarray(texts, dtype=object)
    rows = []
    for topic in codebook.topics:
        members = np.flatnonzero(doc_topics == topic.topic_id)
        if members.size:
            examples = typical_examples(text_array, doc_embeddings, members, settings.n_examples)
            rows.append({S.TOPIC_ID: topic.topic_id, "label": topic.label, "keywords": list(topic.keywords),
                         "examples": examples, "docs": int(members.size), "source": "codebook"})

    is_leftover = doc_topics == S.UNCLUSTERED
    min_topic_size = settings.min_topic_size or auto_min_topic_size(len(texts))
    discovered = None
    if is_leftover.sum() >= min_topic_size:
        discovered = fit_topics(list(texts), doc_embeddings, settings)
        fitted = np.asarray(discovered.doc_topics)
        info = discovered.topic_info.set_index(S.TOPIC_ID)
        # Candidates: discovered topics mostly made of leftovers, largest first.
        candidates = []
        for topic_id in info.index:
            members = fitted == topic_id
            leftovers = int((members & is_leftover).sum())
            if leftovers >= min_topic_size and 2 * leftovers >= int(members.sum()):
                candidates.append((leftovers, int(topic_id)))
        candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))
        for rank, (leftovers, topic_id) in enumerate(candidates):
            new_id = codebook.max_topic_id + 1 + rank
            doc_topics[(fitted == topic_id) & is_leftover] = new_id
            rows.append({S.TOPIC_ID: new_id, "label": info.at[topic_id, "label"],
                         "keywords": list(info.at[topic_id, "keywords"]),
                         "examples": list(info.at[topic_id, "examples"]), "docs": leftovers, "source": "new"})
    n_docs = max(len(texts), 1)
    share_left = float(is_leftover.sum()) / n_docs
    share_after = float((doc_topics == S.UNCLUSTERED).sum()) / n_docs
    logger.info("codebook assigned %d of %d texts; discovery added %d new topics",
                len(texts) - int(is_leftover.sum()), len(texts), sum(row["source"] == "new" for row in rows))
    topic_info = pd.DataFrame(rows, columns=[S.TOPIC_ID, "label", "keywords", "examples", "docs", "source"])
    topic_info = topic_info.sort_values(S.TOPIC_ID, kind="stable").reset_index(drop=True)
    note = discovered.note if discovered is not None else ""
    return TopicResult(doc_topics, topic_info, share_left, share_after, min_topic_size, note,
                       discovered.model if discovered is not None else None)


def drift_report(
    old_topics: pd.DataFrame,
    new_topics: pd.DataFrame,
    min_relative_change: float = DRIFT_MIN_RELATIVE_CHANGE,
    min_share_change: float = DRIFT_MIN_SHARE_CHANGE,
) -> pd.DataFrame:
    """Compare two runs' topic tables by topic id.

    Only topics >= 0 are compared. The change of a topic is

    - ``new``: absent or without rows before, with rows after;
    - ``vanished``: with rows before, absent or without rows after;
    - ``grown`` / ``shrunk``: its share rose / fell by at least `min_relative_change`
      of the old share (default 25 %) and by at least `min_share_change` (default
      0.01, one percentage point);
    - ``stable``: otherwise.

    Ids only match across runs scored with the same codebook (``apply_codebook``).

    Returns
    -------
    pandas.DataFrame
        ``DRIFT_COLUMNS``: topic_id (int), label (the new label, else the old),
        rows_before, rows_after (int), share_before, share_after (float, 0 where
        absent), change (str), ordered by topic id.

    Raises
    ------
    ValueError
        When a frame lacks one of topic_id, label, rows, share.
    """
    required = [S.TOPIC_ID, "label", "rows", "share"]
    for name, frame in (("old_topics", old_topics), ("new_topics", new_topics)):
        missing = [column for column in required if column not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks the columns {missing}; pass topics frames with {required}")

    def indexed(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[required].copy()
        frame[S.TOPIC_ID] = frame[S.TOPIC_ID].astype("int64")
        return frame[frame[S.TOPIC_ID] >= 0].set_index(S.TOPIC_ID)

    old, new = indexed(old_topics), indexed(new_topics)
    records = []
    for topic_id in sorted(set(old.index) | set(new.index)):
        rows_before = int(old.at[topic_id, "rows"]) if topic_id in old.index else 0
        rows_after = int(new.at[topic_id, "rows"]) if topic_id in new.index else 0
        share_before = float(old.at[topic_id, "share"]) if topic_id in old.index else 0.0
        share_after = float(new.at[topic_id, "share"]) if topic_id in new.index else 0.0
        label = new.at[topic_id, "label"] if topic_id in new.index else old.at[topic_id, "label"]
        difference = share_after - share_before
        if rows_before == 0 and rows_after == 0:
            continue
        if rows_before == 0:
            change = "new"
        elif rows_after == 0:
            change = "vanished"
        elif abs(difference) >= min_share_change and abs(difference) >= min_relative_change * share_before:
            change = "grown" if difference > 0 else "shrunk"
        else:
            change = "stable"
        records.append({S.TOPIC_ID: topic_id, "label": label, "rows_before": rows_before, "rows_after": rows_after,
                        "share_before": share_before, "share_after": share_after, "change": change})
    return pd.DataFrame(records, columns=list(DRIFT_COLUMNS))
