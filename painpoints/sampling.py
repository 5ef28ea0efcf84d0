"""Fit topics on a sample of the texts and assign the others to the nearest topic.

Fitting UMAP and HDBSCAN costs time and memory that grow faster than the number of
texts, so large runs fit :func:`painpoints.topics.fit_topics` on a deterministic
sample and assign every other text to the most similar topic centroid in batches.
The functions are pure and work on plain arrays, so a distributed engine can call
:func:`assign_to_centroids` on its own batches.

Outlier policy: ``fit_topics`` leaves at most ``max_outlier_share`` of the sample
unclustered, and those are texts far from every centroid. Texts outside the sample
stay unclustered when their similarity to the nearest centroid is below the
similarity quantile of the sample at its unclustered share. So the rest gets about the
same unclustered share as the sample, and the texts left out are the least similar ones.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.topics import StageCallback, TopicResult, TopicSettings, fit_topics

logger = logging.getLogger(__name__)

# Rows per batch when assigning texts to centroids; a batch needs
# ASSIGN_BATCH_SIZE × (dimension + topics) float32 values of scratch memory.
ASSIGN_BATCH_SIZE: Final = 20_000

BatchCallback = Callable[[int, int], None]
# Assigns the texts at the given positions: (positions, topic_ids, centroids,
# min_similarity) -> their topic ids. The Ray engine runs it as a batch job.
AssignFunction = Callable[[np.ndarray, np.ndarray, np.ndarray, "float | None"], np.ndarray]


@dataclass
class SampledTopicResult(TopicResult):
    """A :class:`~painpoints.topics.TopicResult` whose model was fitted on a sample.

    Attributes
    ----------
    sample_size : int
        Texts the topic model was fitted on.
    sample_seed : int
        Seed of :func:`sample_indices`.
    min_similarity : float or None
        Cosine similarity below which a text outside the sample stays unclustered;
        None when every text joins its nearest topic.
    """

    sample_size: int = 0
    sample_seed: int = 0
    min_similarity: float | None = None

    def sample_info(self) -> dict:
        """Return the sampling parameters as JSON-ready values (for run.json)."""
        return {"sample_size": self.sample_size, "seed": self.sample_seed,
                "min_similarity": None if self.min_similarity is None else round(self.min_similarity, 6)}


def _sample_key(text_hash: str, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{text_hash}".encode("utf-8"), digest_size=8).digest()


def sample_indices(text_hashes: Sequence[str], sample_size: int, seed: int) -> np.ndarray:
    """Choose a deterministic sample of texts that does not depend on row order.

    Each text is ranked by a seeded hash of its text hash, and the ``sample_size``
    lowest ranks form the sample. The same texts in any order give the same sample,
    and a larger sample with the same seed contains a smaller one.

    Parameters
    ----------
    text_hashes : sequence of str
        Hash of each text (``schema.TEXT_HASH``); distinct texts have distinct hashes.
    sample_size : int
        Number of texts to choose; all of them when it is at least ``len(text_hashes)``.
    seed : int

    Returns
    -------
    numpy.ndarray, shape (min(sample_size, n),), int64
        Positions into ``text_hashes``, sorted ascending.

    Raises
    ------
    ValueError
        When ``sample_size`` is negative.
    """
    if sample_size < 0:
        raise ValueError(f"sample_size must be >= 0, got {sample_size}")
    count = len(text_hashes)
    if sample_size >= count:
        return np.arange(count, dtype=np.int64)
    keys = np.array([_sample_key(text_hash, seed) for text_hash in text_hashes], dtype="S8")
    # Ties (equal keys) need equal text hashes, so the order stays independent of row order.
    chosen = np.argsort(keys, kind="stable")[:sample_size]
    return np.sort(chosen).astype(np.int64)


def topic_centroids(doc_embeddings: np.ndarray, doc_topics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute the unit-length mean vector of each topic, outliers left out.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
    doc_topics : numpy.ndarray, shape (n_docs,)
        Topic of each text; ``UNCLUSTERED`` (-1) and other negative ids are ignored.

    Returns
    -------
    topic_ids : numpy.ndarray, shape (n_topics,), int64
        Sorted ascending.
    centroids : numpy.ndarray, shape (n_topics, dim), float32
        Row ``i`` belongs to ``topic_ids[i]``; a zero mean stays zero.
    """
    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    doc_topics = np.asarray(doc_topics)
    members = doc_topics >= 0
    topic_ids, position = np.unique(doc_topics[members], return_inverse=True)
    dimension = doc_embeddings.shape[1] if doc_embeddings.ndim == 2 else 0
    sums = np.zeros((topic_ids.size, dimension), dtype=np.float64)
    np.add.at(sums, position, doc_embeddings[members])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return topic_ids.astype(np.int64), (sums / norms).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def nearest_centroid(doc_embeddings: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the row of the most similar centroid and its cosine similarity, per text."""
    similarity = _unit(np.asarray(doc_embeddings, dtype=np.float32)) @ np.asarray(centroids, dtype=np.float32).T
    nearest = similarity.argmax(axis=1)
    return nearest, similarity[np.arange(similarity.shape[0]), nearest]


def assign_to_centroids(
    doc_embeddings: np.ndarray,
    topic_ids: np.ndarray,
    centroids: np.ndarray,
    min_similarity: float | None = None,
) -> np.ndarray:
    """Give each text the topic of its most similar centroid (cosine similarity).

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Vectors of the texts; they need not be unit length.
    topic_ids : numpy.ndarray, shape (n_topics,)
    centroids : numpy.ndarray, shape (n_topics, dim)
        Unit-length centroid of each topic, as :func:`topic_centroids` returns.
    min_similarity : float, optional
        Texts whose best similarity is below this stay ``UNCLUSTERED`` (-1).

    Returns
    -------
    numpy.ndarray, shape (n_docs,), int64
        All ``UNCLUSTERED`` when there is no topic.
    """
    doc_embeddings = np.asarray(doc_embeddings)
    n_docs = doc_embeddings.shape[0]
    topic_ids = np.asarray(topic_ids, dtype=np.int64)
    if n_docs == 0 or topic_ids.size == 0:
        return np.full(n_docs, S.UNCLUSTERED, dtype=np.int64)
    nearest, best = nearest_centroid(doc_embeddings, centroids)
    assigned = topic_ids[nearest]
    if min_similarity is not None:
        assigned = np.where(best >= min_similarity, assigned, S.UNCLUSTERED)
    return assigned.astype(np.int64)


def outlier_similarity_threshold(
    doc_embeddings: np.ndarray, doc_topics: np.ndarray, topic_ids: np.ndarray, centroids: np.ndarray
) -> float | None:
    """Return the similarity below which new texts stay unclustered, from a fitted sample.

    It is the quantile of the sample's best centroid similarities at the sample's
    unclustered share, so new texts from the same distribution end up unclustered in
    about the same share. None when no sample text is unclustered.
    """
    doc_topics = np.asarray(doc_topics)
    share = float(np.mean(doc_topics == S.UNCLUSTERED)) if doc_topics.size else 0.0
    if share == 0.0 or topic_ids.size == 0:
        return None
    _, best = nearest_centroid(doc_embeddings, centroids)
    return float(np.quantile(best, share))


def renumber_by_size(doc_topics: np.ndarray, topic_info: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Recount ``docs`` per topic over all texts and renumber topics by size.

    Topic ids follow the size, largest first as :func:`~painpoints.topics.fit_topics`
    numbers them; ties keep the earlier id. ``UNCLUSTERED`` stays -1.

    Returns
    -------
    doc_topics : numpy.ndarray
        With the new ids.
    topic_info : pandas.DataFrame
        Ordered by the new ids, with ``docs`` counted over ``doc_topics``.
    """
    doc_topics = np.asarray(doc_topics, dtype=np.int64)
    info = topic_info.copy()
    old_ids = info[S.TOPIC_ID].to_numpy(dtype=np.int64)
    counts = pd.Series(doc_topics[doc_topics >= 0]).value_counts()
    sizes = np.array([int(counts.get(topic, 0)) for topic in old_ids], dtype=np.int64)
    ranked = old_ids[np.lexsort((old_ids, -sizes))]
    renumber = {int(old): new for new, old in enumerate(ranked)}
    info["docs"] = sizes
    info[S.TOPIC_ID] = [renumber[int(old)] for old in old_ids]
    info = info.sort_values(S.TOPIC_ID, kind="stable").reset_index(drop=True)

    lookup = np.full(int(old_ids.max(initial=-1)) + 2, S.UNCLUSTERED, dtype=np.int64)
    for old, new in renumber.items():
        lookup[old] = new
    # Negative ids (UNCLUSTERED) index the last slot of lookup, which stays -1.
    return lookup[doc_topics], info


def _assign_in_batches(doc_embeddings: np.ndarray, batch_size: int, on_batch: BatchCallback | None) -> AssignFunction:
    """Return the local :data:`AssignFunction`: nearest centroids, ``batch_size`` texts at a time."""

    def assign(positions: np.ndarray, topic_ids: np.ndarray, centroids: np.ndarray,
               min_similarity: float | None) -> np.ndarray:
        topics = np.empty(positions.size, dtype=np.int64)
        for start in range(0, positions.size, batch_size):
            batch = positions[start:start + batch_size]
            topics[start:start + batch.size] = assign_to_centroids(doc_embeddings[batch], topic_ids, centroids,
                                                                   min_similarity)
            if on_batch:
                on_batch(start + batch.size, positions.size)
        return topics

    return assign


def fit_topics_sampled(
    texts: Sequence[str],
    doc_embeddings: np.ndarray,
    settings: TopicSettings,
    sample_size: int,
    text_hashes: Sequence[str],
    on_stage: StageCallback | None = None,
    on_batch: BatchCallback | None = None,
    batch_size: int = ASSIGN_BATCH_SIZE,
    assign: AssignFunction | None = None,
) -> TopicResult:
    """Fit topics on a sample of the texts and assign the others to the nearest topic.

    Parameters
    ----------
    texts : sequence of str, length n_docs
        Distinct cleaned texts.
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit-length vectors of ``texts``.
    settings : TopicSettings
        ``settings.seed`` also seeds the sample.
    sample_size : int
        Texts to fit the model on; with ``n_docs <= sample_size`` this is ``fit_topics``.
    text_hashes : sequence of str, length n_docs
        Hash of each text, which decides the sample.
    on_stage : callable, optional
        Passed to ``fit_topics``.
    on_batch : callable, optional
        Called with ``(done, total)`` texts outside the sample after each batch.
    batch_size : int
        Texts assigned per batch.
    assign : callable, optional
        Assigns the texts outside the sample instead of the local batches (an
        :data:`AssignFunction`; ``on_batch`` and ``batch_size`` are then its own concern).

    Returns
    -------
    SampledTopicResult
        ``doc_topics`` covers all texts. ``topic_info`` keeps the keywords, labels and
        examples of the sample and counts ``docs`` over all texts, and topics are
        numbered by their size over all texts. ``outlier_share_before`` is HDBSCAN's share on
        the sample, ``outlier_share_after`` the share over all texts.
    """
    n_docs = len(texts)
    if len(text_hashes) != n_docs or len(doc_embeddings) != n_docs:
        raise ValueError("texts, doc_embeddings and text_hashes must have the same length")
    chosen = sample_indices(text_hashes, sample_size, settings.seed)
    sample_texts = [texts[index] for index in chosen]
    fitted = fit_topics(sample_texts, np.asarray(doc_embeddings)[chosen], settings, on_stage=on_stage)

    doc_topics = np.full(n_docs, S.UNCLUSTERED, dtype=np.int64)
    doc_topics[chosen] = fitted.doc_topics
    rest = np.setdiff1d(np.arange(n_docs, dtype=np.int64), chosen, assume_unique=True)
    threshold = None
    if len(fitted.topic_info):
        sample_embeddings = np.asarray(doc_embeddings[chosen], dtype=np.float32)
        topic_ids, centroids = topic_centroids(sample_embeddings, fitted.doc_topics)
        threshold = outlier_similarity_threshold(sample_embeddings, fitted.doc_topics, topic_ids, centroids)
        if rest.size:
            assign_rest = assign or _assign_in_batches(doc_embeddings, batch_size, on_batch)
            doc_topics[rest] = assign_rest(rest, topic_ids, centroids, threshold)
        doc_topics, topic_info = renumber_by_size(doc_topics, fitted.topic_info)
    else:
        topic_info = fitted.topic_info
    outlier_after = float(np.mean(doc_topics == S.UNCLUSTERED)) if n_docs else 0.0
    logger.info("fitted topics on %d of %d texts (seed %d); assigned %d; unclustered %.1f%%",
                chosen.size, n_docs, settings.seed, rest.size, 100 * outlier_after)
    return SampledTopicResult(
        doc_topics=doc_topics, topic_info=topic_info, outlier_share_before=fitted.outlier_share_before,
        outlier_share_after=outlier_after, min_topic_size=fitted.min_topic_size, note=fitted.note,
        model=fitted.model, sample_size=int(chosen.size), sample_seed=settings.seed, min_similarity=threshold,
    )
