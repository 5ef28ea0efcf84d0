"""Topics stage: BERTopic (UMAP + HDBSCAN + c-TF-IDF) on precomputed embeddings.

Results do not depend on row order: texts are sorted by their hash before fitting,
and one seed reaches UMAP. UMAP gets the vectors centred on their mean. Unless the
input is small (``max_topic_size``), HDBSCAN forms no topic of half the texts or
more. Outliers (topic -1) are reassigned to the nearest topic centroid until at most
``max_outlier_share`` of the texts stay unclustered.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.clean import text_hash
from painpoints.keywords import KeywordTokenizer, drop_cut_words
from painpoints.knn import EXACT_KNN_MAX_POINTS, exact_cosine_knn
from painpoints.settings import (
    DEFAULT_MAX_OUTLIER_SHARE,
    DEFAULT_SEED,
    MIN_TEXTS_FOR_TOPICS,
)

logger = logging.getLogger(__name__)

# Outliers whose similarity to the nearest centroid reaches this percentile of the
# members' own similarities look like members, so they join that topic.
MEMBER_SIMILARITY_PERCENTILE: Final = 5.0
LABEL_KEYWORDS: Final = 3
# umap-learn finds exact neighbours itself for fewer points than this.
UMAP_EXACT_BELOW: Final = 4096
# Layout epochs from UMAP_EXACT_BELOW texts on. umap-learn uses 500 below 10,000 points
# and 200 above. On 9,995 English and 9,999 Chinese texts, 200 epochs gave the same
# NMI against the intents and the same agreement between seeds as 500, in about half
# the fit time (docs/benchmarks.md).
UMAP_EPOCHS_LARGE: Final = 200
# Member texts tokenised per topic to rank label words by how many texts use them.
LABEL_SAMPLE: Final = 300

StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class TopicSettings:
    """Settings of the topic model; ``min_topic_size=None`` sizes it from the data."""

    seed: int = DEFAULT_SEED
    min_topic_size: int | None = None
    max_outlier_share: float = DEFAULT_MAX_OUTLIER_SHARE
    n_keywords: int = 8
    n_examples: int = 3
    extra_stop_words: tuple[str, ...] = ()


@dataclass
class TopicResult:
    """A fitted topic model.

    Attributes
    ----------
    doc_topics : numpy.ndarray, shape (n_docs,), int
        Topic of each input text in input order; ``UNCLUSTERED`` (-1) for outliers.
    topic_info : pandas.DataFrame
        One row per topic >= 0, ordered by size: ``topic_id``, ``label``,
        ``keywords`` (list of str), ``examples`` (list of str, most typical first),
        ``docs`` (distinct texts).
    outlier_share_before, outlier_share_after : float
        Share of texts in topic -1 straight from HDBSCAN and after reassignment.
    min_topic_size : int
    note : str
        Catalogue key explaining why no model was fitted, else "".
    empty_seed_topics : tuple of str
        Names of the ``--seed-topics`` topics that no text joined; they have no row in
        ``topic_info``.
    """

    doc_topics: np.ndarray
    topic_info: pd.DataFrame
    outlier_share_before: float = 0.0
    outlier_share_after: float = 0.0
    min_topic_size: int = 0
    note: str = ""
    model: object | None = field(default=None, repr=False)
    empty_seed_topics: tuple[str, ...] = ()


def auto_min_topic_size(n_docs: int) -> int:
    """Return the minimum topic size used when none is given: n/150, kept within 5 … 100."""
    return int(min(100, max(5, round(n_docs / 150))))


def max_topic_size(n_docs: int, min_topic_size: int) -> int:
    """Return HDBSCAN's ``max_cluster_size``, the largest size below half the texts.

    The result is 0, which HDBSCAN reads as no limit, when that size is not more than
    twice ``min_topic_size``. Without the limit, HDBSCAN kept 3 large topics for the
    five categories of shop5 (2,500 Chinese product reviews) with one of five UMAP
    seeds, even on centred vectors. A topic of half the texts is too broad to act on.
    """
    limit = (n_docs - 1) // 2
    return limit if limit > 2 * min_topic_size else 0


def centre_rows(vectors: np.ndarray) -> np.ndarray:
    """Subtract the mean vector and scale each row back to unit length.

    Sentence embeddings such as e5 share a common direction, so almost every pair of
    texts has a cosine similarity above 0.75. Once it is removed, UMAP's cosine
    neighbours follow the topics of the texts more closely. On shop5, NMI against the
    product category rose from 0.41–0.46 to 0.54–0.56 with UMAP seeds 42 and 7
    (docs/benchmarks.md). A row equal to the mean keeps its original vector.
    """
    centred = vectors - vectors.mean(axis=0, dtype=np.float64)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    flat = norms[:, 0] < 1e-6
    centred[flat] = vectors[flat]
    norms[flat] = np.linalg.norm(vectors[flat], axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (centred / norms).astype(np.float32)


def _empty_info() -> pd.DataFrame:
    return pd.DataFrame({S.TOPIC_ID: pd.Series(dtype="int64"), "label": [], "keywords": [], "examples": [], "docs": []})


def _centroids(doc_embeddings: np.ndarray, doc_topics: np.ndarray, topic_ids: np.ndarray) -> np.ndarray:
    centroids = np.vstack([doc_embeddings[doc_topics == topic].mean(axis=0) for topic in topic_ids])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return centroids / norms


def reduce_outliers(doc_embeddings: np.ndarray, doc_topics: np.ndarray, max_share: float) -> np.ndarray:
    """Reassign outliers to the most similar topic centroid.

    An outlier joins its nearest topic when its cosine similarity to that centroid is
    at least the 5th percentile of the members' similarities to their own centroids.
    If more than ``max_share`` of the texts are still outliers, the most similar of
    them join too, until the share is reached.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit-length vectors.
    doc_topics : numpy.ndarray, shape (n_docs,)
    max_share : float

    Returns
    -------
    numpy.ndarray, shape (n_docs,)
        New topic per text.
    """
    topics = doc_topics.copy()
    topic_ids = np.unique(topics[topics != S.UNCLUSTERED])
    outliers = np.flatnonzero(topics == S.UNCLUSTERED)
    if topic_ids.size == 0 or outliers.size == 0:
        return topics
    centroids = _centroids(doc_embeddings, topics, topic_ids)
    members = np.flatnonzero(topics != S.UNCLUSTERED)
    own = np.searchsorted(topic_ids, topics[members])
    member_similarity = np.einsum("ij,ij->i", doc_embeddings[members], centroids[own])
    threshold = np.percentile(member_similarity, MEMBER_SIMILARITY_PERCENTILE)

    similarity = doc_embeddings[outliers] @ centroids.T
    nearest = similarity.argmax(axis=1)
    best = similarity[np.arange(outliers.size), nearest]
    join = best >= threshold
    allowed = int(np.floor(max_share * len(topics)))
    still_out = int((~join).sum())
    if still_out > allowed:
        remaining = np.flatnonzero(~join)
        ranked = remaining[np.argsort(-best[remaining], kind="stable")]
        join[ranked[: still_out - allowed]] = True
    topics[outliers[join]] = topic_ids[nearest[join]]
    return topics


def typical_examples(texts: np.ndarray, doc_embeddings: np.ndarray, members: np.ndarray, count: int) -> list[str]:
    """Return up to ``count`` distinct member texts, the most similar to the members' mean first."""
    centroid = doc_embeddings[members].mean(axis=0)
    similarity = doc_embeddings[members] @ centroid
    chosen: list[str] = []
    for index in members[np.argsort(-similarity, kind="stable")]:
        if texts[index] not in chosen:
            chosen.append(str(texts[index]))
        if len(chosen) == count:
            break
    return chosen


def rank_label_words(keywords: list[str], member_tokens: list[set[str]]) -> list[str]:
    """Order keywords by the share of the topic's texts that contain them.

    c-TF-IDF ranks words that are distinctive for a topic, and those can be rare
    ones (a city name, 好像). A label reads better from the distinctive words that
    most of the topic's texts use. Ties keep the c-TF-IDF order.
    """
    coverage = {word: sum(word in tokens for tokens in member_tokens) for word in keywords}
    return sorted(keywords, key=lambda word: -coverage[word])


def make_label(keywords: list[str], examples: list[str], topic_id: int) -> str:
    """Return the first keywords joined by " · ", else the start of an example, else ``#id``."""
    if keywords:
        return " · ".join(keywords[:LABEL_KEYWORDS])
    if examples:
        return examples[0][:30]
    return f"#{topic_id}"


def _skip_representative_docs(documents: pd.DataFrame) -> None:
    """Stand in for ``BERTopic._save_representative_docs``, whose result painpoints does not use."""


def fit_topics(
    texts: Sequence[str],
    doc_embeddings: np.ndarray,
    settings: TopicSettings = TopicSettings(),
    on_stage: StageCallback | None = None,
) -> TopicResult:
    """Cluster distinct texts into topics.

    Parameters
    ----------
    texts : sequence of str, length n_docs
        Distinct cleaned texts.
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit-length vectors of ``texts``.
    settings : TopicSettings
    on_stage : callable, optional
        Called with "reduce", "cluster", "outliers" and "keywords" as each step starts.

    Returns
    -------
    TopicResult
        With ``note="topics.too_few_texts"`` and every text unclustered when there are
        fewer than ``MIN_TEXTS_FOR_TOPICS`` texts.
    """
    n_docs = len(texts)
    if n_docs < MIN_TEXTS_FOR_TOPICS:
        logger.warning("only %d distinct texts; at least %d are needed for topics", n_docs, MIN_TEXTS_FOR_TOPICS)
        return TopicResult(np.full(n_docs, S.UNCLUSTERED), _empty_info(), 1.0, 1.0, 0, "topics.too_few_texts")

    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer
    from hdbscan import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    from painpoints.jit_cache import enable_numba_caching

    enable_numba_caching()
    # A fixed order (by text hash) makes UMAP and HDBSCAN independent of row order.
    order = np.argsort(np.array([text_hash(text) for text in texts]), kind="stable")
    sorted_texts = np.asarray(texts, dtype=object)[order]
    sorted_embeddings = np.asarray(doc_embeddings, dtype=np.float32)[order]
    min_topic_size = settings.min_topic_size or auto_min_topic_size(n_docs)

    if on_stage:
        on_stage("reduce")
    centred = centre_rows(sorted_embeddings)
    n_neighbors = min(15, n_docs - 1)
    # UMAP computes exact neighbours itself below UMAP_EXACT_BELOW points, and uses
    # pynndescent above, whose compilation painpoints.knn avoids up to its limit.
    knn = (exact_cosine_knn(centred, n_neighbors) if UMAP_EXACT_BELOW <= n_docs <= EXACT_KNN_MAX_POINTS
           else (None, None, None))
    umap_model = UMAP(
        n_neighbors=n_neighbors, n_components=5, min_dist=0.0, metric="cosine",
        random_state=settings.seed, precomputed_knn=knn,
        n_epochs=UMAP_EPOCHS_LARGE if n_docs >= UMAP_EXACT_BELOW else None,
    )
    hdbscan_model = HDBSCAN(min_cluster_size=min_topic_size, metric="euclidean", cluster_selection_method="eom",
                            max_cluster_size=max_topic_size(n_docs, min_topic_size))
    vectorizer = CountVectorizer(tokenizer=KeywordTokenizer(settings.extra_stop_words), lowercase=False,
                                 token_pattern=None)
    with warnings.catch_warnings():
        # UMAP warns that a fixed random_state disables parallelism: that is the intent.
        warnings.filterwarnings("ignore", message=".*random_state.*", category=UserWarning)
        # UMAP gets the centred vectors. Outlier reassignment and examples use the original ones.
        raw_topics = np.asarray(hdbscan_model.fit(umap_model.fit_transform(centred)).labels_)
    if on_stage:
        on_stage("cluster")
    outlier_before = float(np.mean(raw_topics == S.UNCLUSTERED))
    if np.all(raw_topics == S.UNCLUSTERED):
        logger.info("HDBSCAN found no topic among %d texts", n_docs)
        return TopicResult(np.full(n_docs, S.UNCLUSTERED), _empty_info(), 1.0, 1.0, min_topic_size,
                           "topics.no_topics_found")

    if on_stage:
        on_stage("outliers")
    reduced = reduce_outliers(sorted_embeddings, raw_topics, settings.max_outlier_share)
    if on_stage:
        on_stage("keywords")
    # BERTopic's manual mode takes the final assignments as they are, so its c-TF-IDF
    # runs once, on the topics after outlier reassignment.
    model = BERTopic(
        # With language="english" (the default) BERTopic deletes every character
        # outside [A-Za-z0-9 ] before c-TF-IDF, which removes all Chinese text.
        language="multilingual",
        embedding_model=None,
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=BaseCluster(),
        vectorizer_model=vectorizer,
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        top_n_words=settings.n_keywords,
        calculate_probabilities=False,
    )
    # c-TF-IDF tokenises each topic's texts joined in order; the tokenizer then reuses
    # the tokens of each text, which the labels below need too.
    # Keywords come from the texts without a last word cut off by the export.
    keyword_texts = np.asarray(drop_cut_words(sorted_texts.tolist()), dtype=object)
    for topic in np.unique(reduced):
        vectorizer.tokenizer.remember_joined(list(keyword_texts[reduced == topic]))
    # painpoints picks its own examples (typical_examples). BERTopic's representative
    # documents would cost another c-TF-IDF pass over a sample of every topic, 1.4 s of a
    # 20 s fit on 10,000 English texts. A module-level function keeps the model picklable.
    model._save_representative_docs = _skip_representative_docs
    # BERTopic numbers the topics by its own order: map each of ours to its number.
    bertopic_ids = np.asarray(model.fit_transform(list(keyword_texts), embeddings=sorted_embeddings, y=reduced)[0])
    bertopic_id = dict(zip(reduced.tolist(), bertopic_ids.tolist()))

    # Number topics by size, largest first; ties by their first text's hash order.
    sizes = pd.Series(reduced[reduced != S.UNCLUSTERED]).value_counts(sort=False)
    first_seen = {topic: int(np.argmax(reduced == topic)) for topic in sizes.index}
    ranked = sorted(sizes.index, key=lambda topic: (-sizes[topic], first_seen[topic]))
    renumber = {old: new for new, old in enumerate(ranked)}
    renumber[S.UNCLUSTERED] = S.UNCLUSTERED
    final_sorted = np.array([renumber[topic] for topic in reduced])

    rows = []
    tokenizer = vectorizer.tokenizer
    for old in ranked:
        members = np.flatnonzero(reduced == old)
        keywords = [word for word, _ in (model.get_topic(bertopic_id[old]) or []) if str(word).strip()]
        examples = typical_examples(sorted_texts, sorted_embeddings, members, settings.n_examples)
        # A fixed subset (every k-th member) bounds the tokenising cost on large topics.
        sampled = members[:: max(1, members.size // LABEL_SAMPLE)]
        ranked_words = rank_label_words(keywords, [set(tokenizer(keyword_texts[index])) for index in sampled])
        new = renumber[old]
        rows.append({S.TOPIC_ID: new, "label": make_label(ranked_words, examples, new), "keywords": keywords,
                     "examples": examples, "docs": int(members.size)})
    doc_topics = np.empty(n_docs, dtype=int)
    doc_topics[order] = final_sorted
    outlier_after = float(np.mean(doc_topics == S.UNCLUSTERED))
    logger.info(
        "found %d topics in %d texts (min size %d); unclustered %.1f%% before and %.1f%% after reassignment",
        len(rows), n_docs, min_topic_size, 100 * outlier_before, 100 * outlier_after,
    )
    return TopicResult(doc_topics, pd.DataFrame(rows), outlier_before, outlier_after, min_topic_size, "", model)
