"""Clause vectors for the memberships stage: late-chunked, or each clause embedded alone.

The memberships stage (:mod:`painpoints.membership`) scores each clause of a
multi-clause text against the topic centroids. Embedding every clause on its own
(the fallback, :func:`embed_clauses`) costs about as much as embedding the texts again. A backend with an
``encode_with_clauses`` method (the torch e5 engine, and sentence-transformers models
that mean-pool, such as MiniLM) instead mean-pools each clause's
tokens from the forward pass of the whole text ("late chunking"), so the clause
vectors cost almost nothing more. :class:`LateClauseRecorder` caches them while the
embed stage runs, and :func:`late_clause_vectors` reads them back, computing only
those of texts embedded before.

Late-chunked vectors carry their text's context and lie closer to it (mean cosine
0.980 against 0.911 for clauses embedded alone, on the bundled sample), so they use
lower thresholds, ``LATE_RELATIVE_THRESHOLD`` and ``LATE_PRIMARY_MARGIN``. Over
three topic fits of the bundled sample, they find both themes for 0.54 to 0.57 of the
two-theme rows, against 0.59 to 0.61 with clauses embedded alone. They give a second
topic to 7.3 to 8.0 % of the single-theme rows, against 9.6 to 13.2 %
(docs/benchmarks.md). MiniLM's late-chunked vectors use 0.4 and 0.03 (the backend's
``late_thresholds``), measured on mixes of two banking77 intents.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.embed import Embedder, cache_key, embed_texts
from painpoints.membership import (
    MAX_TOPICS_PER_TEXT,
    PRIMARY_MARGIN,
    RELATIVE_THRESHOLD,
    clause_spans,
    split_clauses,
    text_memberships,
)
from painpoints.vector_cache import EmbeddingCache

if TYPE_CHECKING:
    from painpoints.engine_ray import RayEngine

# The memberships thresholds for late-chunked clause vectors.
# NOTE: only the sample's 100 two-theme rows and 7 hand-made mixed tickets back these values.
LATE_RELATIVE_THRESHOLD: Final = 0.3
LATE_PRIMARY_MARGIN: Final = 0.02
# Late-chunked clause vectors are cached under the backend's cache key plus this suffix.
LATE_CACHE_SUFFIX: Final = "/late-clauses"
# Texts embedded at once for late-chunked clause vectors.
LATE_BATCH: Final = 512
# Texts whose late-chunked clause vectors are read from the cache at once.
LATE_READ_TEXTS: Final = 5_000


def late_thresholds(embedder: Embedder) -> tuple[float, float]:
    """Return the relative threshold and primary margin for ``embedder``'s late-chunked clause vectors.

    A backend may set ``late_thresholds``; the others use ``LATE_RELATIVE_THRESHOLD``
    and ``LATE_PRIMARY_MARGIN``, chosen with the torch e5 engine.
    """
    return getattr(embedder, "late_thresholds", None) or (LATE_RELATIVE_THRESHOLD, LATE_PRIMARY_MARGIN)


def offers_late_clauses(embedder: Embedder) -> bool:
    """Return whether ``embedder`` can return late-chunked clause vectors."""
    return callable(getattr(embedder, "encode_with_clauses", None))


def _late_keys(text_hash: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """Return the cache keys of a text's late-chunked clause vectors: the text's hash and each clause's span."""
    return [f"{text_hash}@{start}:{end}" for start, end in spans]


class LateClauseRecorder:
    """Embedder wrapper whose ``encode`` also caches the late-chunked clause vectors of the texts it embeds.

    Passed to ``painpoints.embed.embed_texts`` in place of a backend with
    ``encode_with_clauses``, it returns the same text vectors and stores the clause
    vectors of every text with two or more clauses, so that
    :func:`late_clause_vectors` later finds them without a forward pass.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.embedder, self.cache = embedder, cache
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.cache_key = cache_key(embedder)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        spans = [clause_spans(str(text)) for text in texts]
        clauses = [[str(text)[start:end] for start, end in text_spans] for text, text_spans in zip(texts, spans)]
        vectors, clause_vectors = self.embedder.encode_with_clauses([str(text) for text in texts], clauses)
        keys: list[str] = []
        blocks: list[np.ndarray] = []
        for text, text_spans, block in zip(texts, spans, clause_vectors):
            if len(text_spans) >= 2:
                keys.extend(_late_keys(text_hash(str(text)), text_spans))
                blocks.append(block)
        if keys:
            self.cache.put(self.cache_key + LATE_CACHE_SUFFIX, keys, np.concatenate(blocks))
        return vectors


def late_clause_vectors(texts: Sequence[str], hashes: Sequence[str], doc_topics: np.ndarray, embedder: Embedder,
                        cache: EmbeddingCache | None = None) -> list[np.ndarray | None]:
    """Return late-chunked clause vectors of the clustered texts with two or more clauses, through the cache.

    Parameters
    ----------
    texts : sequence of str
    hashes : sequence of str
        ``painpoints.clean.text_hash`` of each text.
    doc_topics : numpy.ndarray, shape (n_docs,)
        Primary topic per text; unclustered texts (-1) get None.
    embedder : Embedder
        A backend with ``encode_with_clauses(texts, clauses_per_text)`` returning
        ``(text_vectors, clause_vectors)``, such as ``painpoints._e5.TorchE5Embedder``.
    cache : EmbeddingCache, optional

    Returns
    -------
    list
        Per text, an array of shape (n_clauses, dim) in the order of
        :func:`split_clauses`, or None for a text that is unclustered or has fewer
        than two clauses. Pass it to :func:`text_memberships` as ``clause_vectors``.

    Notes
    -----
    A late-chunked vector depends on the whole text, so it is cached under the text's
    hash and the clause's character span, with the model key ``cache_key(embedder)``
    plus ``LATE_CACHE_SUFFIX``, never under the clause's own hash. Texts embedded
    through :class:`LateClauseRecorder` already have theirs in the cache.
    """
    result: list[np.ndarray | None] = [None] * len(texts)
    keys: dict[int, list[str]] = {}
    for index in np.flatnonzero(np.asarray(doc_topics) != S.UNCLUSTERED):
        spans = clause_spans(str(texts[index]))
        if len(spans) >= 2:
            keys[int(index)] = _late_keys(hashes[index], spans)
    model_key = cache_key(embedder) + LATE_CACHE_SUFFIX
    missing = []
    # The cache is read for LATE_READ_TEXTS texts at a time, so that only their rows
    # coexist with the stacked arrays (100,000 English rows have about 200,000 clauses).
    indices = list(keys)
    for start in range(0, len(indices), LATE_READ_TEXTS):
        chunk = indices[start:start + LATE_READ_TEXTS]
        known = cache.get(model_key, [key for index in chunk for key in keys[index]]) if cache else {}
        for index in chunk:
            if all(key in known for key in keys[index]):
                result[index] = np.stack([known[key] for key in keys[index]])
            else:
                missing.append(index)
    for start in range(0, len(missing), LATE_BATCH):
        batch = missing[start:start + LATE_BATCH]
        _, vectors = embedder.encode_with_clauses([str(texts[index]) for index in batch],
                                                  [split_clauses(str(texts[index])) for index in batch])
        for index, clause_vectors in zip(batch, vectors):
            result[index] = np.asarray(clause_vectors, dtype=np.float32)
        if cache:
            cache.put(model_key, [key for index in batch for key in keys[index]], np.concatenate(vectors))
    return result


def membership_stage(texts: Sequence[str], hashes: Sequence[str], doc_embeddings: np.ndarray, doc_topics: np.ndarray,
                     embedder: Embedder, cache_dir: Path, late: bool, engine: RayEngine | None = None,
                     embedder_source: str | Embedder | None = None) -> tuple[pd.DataFrame, dict]:
    """Run :func:`painpoints.membership.text_memberships` with late-chunked or separate clause vectors.

    With ``late`` False, the clauses are embedded alone through the cache in
    ``cache_dir``, on ``engine`` when given (see :func:`embed_clauses`).

    Returns
    -------
    by_text : pandas.DataFrame
        As :func:`painpoints.membership.text_memberships` returns it.
    info : dict
        For run.json: ``clause_vectors`` ("late" or "separate") and the thresholds used.
    """
    if late:
        cache = EmbeddingCache(cache_dir)
        try:
            clause_vectors = late_clause_vectors(texts, hashes, doc_topics, embedder, cache)
        finally:
            cache.close()
        relative_threshold, primary_margin = late_thresholds(embedder)
        by_text = text_memberships(texts, doc_embeddings, doc_topics, None, relative_threshold=relative_threshold,
                                   primary_margin=primary_margin, clause_vectors=clause_vectors)
    else:
        relative_threshold, primary_margin = RELATIVE_THRESHOLD, PRIMARY_MARGIN
        by_text = text_memberships(texts, doc_embeddings, doc_topics,
                                   lambda clauses: embed_clauses(clauses, embedder, cache_dir, engine, embedder_source))
    info = {"clause_vectors": "late" if late else "separate",
            "relative_threshold": relative_threshold, "primary_margin": primary_margin,
            "max_topics_per_row": MAX_TOPICS_PER_TEXT}
    return by_text, info


def embed_clauses(clauses: list[str], embedder: Embedder, cache_dir: Path, engine: RayEngine | None = None,
                  embedder_source: str | Embedder | None = None) -> np.ndarray:
    """Embed each clause on its own, through the embedding cache, on Ray when ``engine`` is given.

    NOTE: the Ray engine and backends without late-chunked clause vectors (user
    models that do not mean-pool) embed about as many characters again as the texts
    with two or more clauses. On a cold run this takes about as long as the embed stage.
    """
    cache = EmbeddingCache(cache_dir)
    hashes = [text_hash(clause) for clause in clauses]
    try:
        if engine is not None:
            return engine.embed(clauses, hashes, embedder, embedder_source or embedder, cache)[0]
        return embed_texts(clauses, hashes, embedder, cache)[0]
    finally:
        cache.close()
