"""Several topics per ticket: document-topic membership scored on clause embeddings.

Clustering gives each text one topic, its primary topic. A ticket that complains
about the courier and about the refund also belongs to a second topic. The whole
text's embedding mostly encodes its main issue, so the other issues are looked for
in its clauses:

1. Centre the vectors: subtract the mean of all text embeddings from every text and
   clause embedding and from every topic centroid (the mean of the topic's primary
   members). This removes the direction that all texts share, in which e5 and MiniLM
   vectors agree strongly, so cosine similarities spread over the full range.
2. Split each text into clauses at sentence and clause punctuation and at
   connectives (另外, 而且, "and", "also" …), and embed the clauses of texts that
   have two or more.
3. A clause's relative score for a topic is its centred cosine similarity with the
   topic's centroid, divided by the median similarity of the topic's primary
   members. Each clause points to the topic with its highest relative score.
4. A text belongs to its primary topic and to each topic that one of its clauses
   points to with a relative score of at least ``RELATIVE_THRESHOLD`` and at least
   ``PRIMARY_MARGIN`` above that clause's relative score for the primary topic, up
   to ``MAX_TOPICS_PER_TEXT`` topics in all (the highest relative scores first).
   The margin keeps out clauses that fit every topic about as well, such as
   "请尽快处理" or "very disappointed".

``RELATIVE_THRESHOLD`` and ``PRIMARY_MARGIN`` were chosen on a hand-made set of mixed and single-issue
tickets and on the bundled sample, whose rows have one or two planted themes: see
the section "Several topics per ticket" of docs/benchmarks.md.

A backend with an ``encode_with_clauses`` method (the torch e5 engine) gives
late-chunked clause vectors instead, with their own thresholds: see
:mod:`painpoints.clause_vectors`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S

# A clause adds its topic when its similarity reaches this share of the median
# similarity of the topic's own members ...
RELATIVE_THRESHOLD: Final = 0.7
# ... and exceeds the clause's relative score for the text's primary topic by this much.
PRIMARY_MARGIN: Final = 0.4
# Primary topic included.
MAX_TOPICS_PER_TEXT: Final = 3
# Shorter clauses ("谢谢", "好的", "ok") carry no issue of their own.
MIN_CLAUSE_CHARS: Final = 4
CLAUSE_BOUNDARY: Final = re.compile(
    r"[，,。.;；!！?？:：\n]+|另外|而且|并且|此外|同时|顺便说一下|还有就是"
    r"|\b(?:and|also|but|plus|besides|moreover|additionally)\b",
    re.IGNORECASE,
)

SCORE: Final = S.MEMBERSHIP_SCORE
PRIMARY: Final = S.IS_PRIMARY
# Clauses scored at once.
SCORE_BLOCK: Final = 20_000
# Position of the text in the sequence given to fit_topics; pipeline.py maps it to row numbers.
TEXT_INDEX: Final = "text_index"

Encoder = Callable[[list[str]], np.ndarray]


def split_clauses(text: str) -> list[str]:
    """Split a text into clauses of at least ``MIN_CLAUSE_CHARS`` characters.

    >>> split_clauses("快递五天了还没到，另外退款也没到账！")
    ['快递五天了还没到', '退款也没到账']
    >>> split_clauses("Parcel is late and my refund never arrived")
    ['Parcel is late', 'my refund never arrived']
    """
    return [text[start:end] for start, end in clause_spans(text)]


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Return the half-open character span of each clause of :func:`split_clauses`, in order.

    >>> clause_spans("快递五天了还没到，另外退款也没到账！")
    [(0, 8), (11, 17)]
    """
    spans, start = [], 0
    for boundary in [*CLAUSE_BOUNDARY.finditer(text), None]:
        end = boundary.start() if boundary is not None else len(text)
        part = text[start:end]
        stripped = part.strip()
        if len(stripped) >= MIN_CLAUSE_CHARS:
            first = start + len(part) - len(part.lstrip())
            spans.append((first, first + len(stripped)))
        if boundary is not None:
            start = boundary.end()
    return spans


def locate_clauses(text: str, clauses: Sequence[str]) -> list[tuple[int, int]]:
    """Return the half-open character span of each clause in ``text``, searching from the previous clause's end.

    Raises
    ------
    ValueError
        When a clause is not found after the previous one.
    """
    spans, cursor = [], 0
    for clause in clauses:
        start = text.find(clause, cursor)
        if start < 0:
            raise ValueError(f"clause {clause!r} not found in {text!r} after position {cursor}")
        spans.append((start, start + len(clause)))
        cursor = start + len(clause)
    return spans


def centred_centroids(doc_embeddings: np.ndarray, doc_topics: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the mean text vector and the unit-length centred centroid of every topic >= 0.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
    doc_topics : numpy.ndarray, shape (n_docs,)
        Primary topic per text, ``UNCLUSTERED`` (-1) for outliers.

    Returns
    -------
    topic_ids : numpy.ndarray, shape (n_topics,)
        Sorted topic ids.
    mean : numpy.ndarray, shape (dim,)
        Mean of all text vectors, outliers included.
    centroids : numpy.ndarray, shape (n_topics, dim)
    """
    doc_topics = np.asarray(doc_topics)
    vectors = np.asarray(doc_embeddings, dtype=np.float32)
    topic_ids = np.unique(doc_topics[doc_topics != S.UNCLUSTERED])
    mean = vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
    centroids = np.zeros((topic_ids.size, vectors.shape[1]), dtype=np.float32)
    for position, topic in enumerate(topic_ids):
        centroids[position] = vectors[doc_topics == topic].mean(axis=0, dtype=np.float64) - mean
    return topic_ids, mean, _unit_rows(centroids)


def topic_scores(doc_embeddings: np.ndarray, mean: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Return the cosine similarity of each centred text vector with each centred centroid, shape (n_docs, n_topics)."""
    vectors = np.asarray(doc_embeddings, dtype=np.float32) - mean
    return _unit_rows(vectors) @ centroids.T


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def text_memberships(
    texts: Sequence[str],
    doc_embeddings: np.ndarray,
    doc_topics: np.ndarray,
    encode: Encoder | None,
    relative_threshold: float = RELATIVE_THRESHOLD,
    max_topics: int = MAX_TOPICS_PER_TEXT,
    primary_margin: float = PRIMARY_MARGIN,
    clause_vectors: Sequence[np.ndarray | None] | None = None,
) -> pd.DataFrame:
    """List the topics of each clustered text: its primary topic plus the ones its clauses point to.

    Parameters
    ----------
    texts : sequence of str, length n_docs
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Vectors of `texts` from the same model as `encode`.
    doc_topics : numpy.ndarray, shape (n_docs,)
        Primary topic per text. Unclustered texts (-1) get no membership.
    encode : callable or None
        Embeds a list of clauses, returning an array of shape (n_clauses, dim); called
        once per block of at most ``SCORE_BLOCK`` clauses. Not called when
        `clause_vectors` is given.
    relative_threshold : float
        Share of a topic's median member similarity that a clause must reach, at least 0.
    max_topics : int
        Maximum number of topics per text, primary included; 1 turns other topics off.
    primary_margin : float
        Lead over the clause's relative score for the primary topic that a clause needs.
    clause_vectors : sequence of (numpy.ndarray or None), optional
        Per text, the vectors of its clauses in the order of :func:`split_clauses`,
        such as :func:`late_clause_vectors` returns; needed for every clustered text
        with two or more clauses. With late-chunked vectors, pass
        ``LATE_RELATIVE_THRESHOLD`` and ``LATE_PRIMARY_MARGIN``.

    Returns
    -------
    pandas.DataFrame
        Columns ``text_index`` (int), ``topic_id`` (int), ``score`` (float) and
        ``is_primary`` (bool), one row per (text, topic), sorted by text, then primary
        first, then by score. ``score`` is the centred cosine similarity of the text
        (primary topic) or of its best clause (other topics) with the topic's centroid.

    Raises
    ------
    ValueError
        When `relative_threshold` is negative, `max_topics` is below 1, or neither
        `encode` nor `clause_vectors` is given.
    """
    if relative_threshold < 0:
        raise ValueError(f"relative_threshold must be at least 0, got {relative_threshold}")
    if max_topics < 1:
        raise ValueError(f"max_topics must be at least 1, got {max_topics}")
    if encode is None and clause_vectors is None:
        raise ValueError("text_memberships needs encode or clause_vectors")
    doc_topics = np.asarray(doc_topics)
    clustered = np.flatnonzero(doc_topics != S.UNCLUSTERED)
    if clustered.size == 0:
        return _empty_memberships()
    topic_ids, mean, centroids = centred_centroids(doc_embeddings, doc_topics)
    primary_column = np.searchsorted(topic_ids, doc_topics[clustered])
    text_vectors = _unit_rows(np.asarray(doc_embeddings, dtype=np.float32)[clustered] - mean)
    primary_scores = np.einsum("ij,ij->i", text_vectors, centroids[primary_column])
    member_median = np.array([np.median(primary_scores[primary_column == column])
                              for column in range(topic_ids.size)])
    member_median[member_median <= 0] = np.nan
    primaries = pd.DataFrame({TEXT_INDEX: clustered.astype("int64"),
                              S.TOPIC_ID: topic_ids[primary_column].astype("int64"),
                              SCORE: primary_scores.astype("float64"), PRIMARY: True})

    clauses: list[str] = []
    owners: list[int] = []
    supplied_blocks: list[np.ndarray] = []
    if max_topics > 1:
        for position, text_index in enumerate(clustered):
            parts = split_clauses(str(texts[text_index]))
            if len(parts) >= 2:
                clauses.extend(parts)
                owners.extend([position] * len(parts))
                if clause_vectors is not None:
                    supplied_blocks.append(_supplied_vectors(clause_vectors[text_index], len(parts), text_index))
    if not clauses:
        return _sorted(primaries)

    best_column = np.empty(len(clauses), dtype=np.int64)
    best_relative = np.empty(len(clauses))
    best_score = np.empty(len(clauses))
    primary_relative = np.empty(len(clauses))
    owners_array = np.asarray(owners)
    # Blocks bound the memory of the clause vectors and of the (clauses × topics) score
    # matrix on large inputs: clauses are embedded, or their supplied vectors joined,
    # one block at a time.
    blocks = (_joined_blocks(supplied_blocks) if clause_vectors is not None
              else (np.asarray(encode(clauses[start:start + SCORE_BLOCK]), dtype=np.float32)
                    for start in range(0, len(clauses), SCORE_BLOCK)))
    start = 0
    for matrix in blocks:
        block = slice(start, start + len(matrix))
        start += len(matrix)
        scores = topic_scores(matrix, mean, centroids)
        with np.errstate(invalid="ignore"):
            relative = np.nan_to_num(scores / member_median, nan=-np.inf)
        columns = relative.argmax(axis=1)
        rows = np.arange(columns.size)
        best_column[block] = columns
        best_relative[block] = relative[rows, columns]
        best_score[block] = scores[rows, columns]
        primary_relative[block] = relative[rows, primary_column[owners_array[block]]]
    candidates = pd.DataFrame({"position": owners_array, "column": best_column, "relative": best_relative,
                               SCORE: best_score})
    candidates = candidates[(candidates["relative"] >= relative_threshold)
                            & (candidates["relative"] - primary_relative >= primary_margin)
                            & (candidates["column"] != primary_column[owners_array])]
    # One line per (text, topic), the best clause's; then the best max_topics - 1 topics per text.
    candidates = candidates.sort_values(["position", "relative"], ascending=[True, False], kind="stable")
    candidates = candidates.drop_duplicates(["position", "column"])
    candidates = candidates.groupby("position", sort=False).head(max_topics - 1)
    others = pd.DataFrame({
        TEXT_INDEX: clustered[candidates["position"].to_numpy()].astype("int64"),
        S.TOPIC_ID: topic_ids[candidates["column"].to_numpy()].astype("int64"),
        SCORE: candidates[SCORE].to_numpy(),
        PRIMARY: False,
    })
    return _sorted(pd.concat([primaries, others], ignore_index=True))


def _joined_blocks(arrays: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Join consecutive arrays into blocks of about ``SCORE_BLOCK`` rows, in order."""
    pending: list[np.ndarray] = []
    rows = 0
    for array in arrays:
        pending.append(array)
        rows += len(array)
        if rows >= SCORE_BLOCK:
            yield np.concatenate(pending)
            pending, rows = [], 0
    if pending:
        yield np.concatenate(pending)


def _supplied_vectors(vectors: np.ndarray | None, count: int, text_index: int) -> np.ndarray:
    if vectors is None or len(vectors) != count:
        found = "None" if vectors is None else f"{len(vectors)} vectors"
        raise ValueError(f"text {text_index} has {count} clauses, got {found}")
    return np.asarray(vectors, dtype=np.float32)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({TEXT_INDEX: "int64", S.TOPIC_ID: "int64", SCORE: "float64", PRIMARY: "bool"})
    frame = frame.sort_values([TEXT_INDEX, PRIMARY, SCORE], ascending=[True, False, False], kind="stable")
    return frame.reset_index(drop=True)


def _empty_memberships() -> pd.DataFrame:
    return pd.DataFrame({TEXT_INDEX: pd.Series(dtype="int64"), S.TOPIC_ID: pd.Series(dtype="int64"),
                         SCORE: pd.Series(dtype="float64"), PRIMARY: pd.Series(dtype="bool")})


def row_memberships(documents: pd.DataFrame, candidate_index: pd.Index, by_text: pd.DataFrame) -> pd.DataFrame:
    """Expand text memberships to the rows of the documents frame, duplicates included.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents frame with row_number, status and duplicate_of.
    candidate_index : pandas.Index
        Index labels of `documents` whose texts were clustered, in the order of the
        texts given to :func:`text_memberships`.
    by_text : pandas.DataFrame
        Output of :func:`text_memberships`.

    Returns
    -------
    pandas.DataFrame
        ``schema.MEMBERSHIP_COLUMNS``, sorted by row number, then primary first, then
        by score. A ``duplicate`` row gets the memberships of the row it repeats.
    """
    row_of_text = documents.loc[candidate_index, S.ROW_NUMBER].to_numpy(dtype="int64")
    originals = by_text.assign(**{S.ROW_NUMBER: row_of_text[by_text[TEXT_INDEX].to_numpy(dtype="int64")]})
    originals = originals[list(S.MEMBERSHIP_COLUMNS)]

    duplicates = documents[documents[S.STATUS] == "duplicate"]
    copies = pd.DataFrame({
        S.ROW_NUMBER: duplicates[S.ROW_NUMBER].to_numpy(dtype="int64"),
        "source": duplicates[S.DUPLICATE_OF].to_numpy(dtype="int64"),
    })
    copied = copies.merge(originals.rename(columns={S.ROW_NUMBER: "source"}), on="source").drop(columns="source")

    frame = pd.concat([originals, copied[list(S.MEMBERSHIP_COLUMNS)]], ignore_index=True)
    frame = frame.astype({S.ROW_NUMBER: "int64", S.TOPIC_ID: "int64", SCORE: "float64", PRIMARY: "bool"})
    frame = frame.sort_values([S.ROW_NUMBER, PRIMARY, SCORE], ascending=[True, False, False], kind="stable")
    return frame.reset_index(drop=True)
