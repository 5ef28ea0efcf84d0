"""Guided topics: seed topics named by the user, then discovered topics for the rest.

A seed file is UTF-8 text with one topic per line: the topic name, a colon (``:`` or
the full-width ``：``), then keywords or example sentences separated by commas
(``,``, ``，`` or ``、``). Blank lines and lines starting with ``#`` are skipped::

    # painpoints seed topics
    物流配送: 快递, 配送, 送达, 延误
    退款: 退款, 到账, 退货, 钱还没退回来
    Login problems: login, password, verification code, cannot sign in

An example sentence that contains a comma is split into its clauses. Every term is
embedded on its own and the terms are averaged, so the split changes the centroid
only a little.

Usage::

    seeds = read_seed_topics("seeds.txt")
    result = fit_guided_topics(texts, embedder.encode(texts), seeds, embedder, TopicSettings())
    # result.topic_info["source"] is "guided" for seed topics, "discovered" for the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.embed import Embedder, unit_rows, unit_vector
from painpoints.errors import InputDataError
from painpoints.keywords import KeywordTokenizer, drop_cut_words
from painpoints.topics import (
    StageCallback,
    TopicResult,
    TopicSettings,
    fit_topics,
    typical_examples,
)

logger = logging.getLogger(__name__)

# A text joins a seed topic when its similarity to that seed's centroid, as a z-score
# over all texts' similarities to the same seed, is at least SEED_MIN_Z, and exceeds
# its z-score for every other seed by at least SEED_MIN_Z_MARGIN.
# NOTE: both values were chosen on the 40 themed test texts with the hashing embedder
# and have not been checked against the sentence-embedding models.
SEED_MIN_Z: Final = 1.0
SEED_MIN_Z_MARGIN: Final = 0.5
# Texts matching a seed's terms needed before their mean replaces the terms' centroid.
MIN_LEXICAL_MEMBERS: Final = 3
GUIDED_SOURCE: Final = "guided"
DISCOVERED_SOURCE: Final = "discovered"
TOPIC_INFO_COLUMNS: Final = (S.TOPIC_ID, "label", "keywords", "examples", "docs", "source")

_CJK = re.compile(r"[\u3400-\u9fff]")
_NAME_SEPARATOR = re.compile(r"[:：]")
_TERM_SEPARATOR = re.compile(r"[,，、]")


@dataclass(frozen=True)
class SeedTopic:
    """One seed topic from a seed file.

    Attributes
    ----------
    name : str
        Label the topic keeps in every output.
    terms : tuple of str
        Keywords and example sentences, in file order.
    line : int
        1-based line of the seed file, 0 for seeds built in code.
    """

    name: str
    terms: tuple[str, ...]
    line: int = 0


def parse_seed_line(text: str, line: int, path: str | Path) -> SeedTopic | None:
    """Parse one line of a seed file; return None for a blank or ``#`` comment line.

    Raises
    ------
    InputDataError
        ``topics.seed_line_no_colon``, ``topics.seed_line_no_name`` or
        ``topics.seed_line_no_terms``, naming `line` and `path`.
    """
    stripped = text.strip().lstrip("\ufeff")
    if not stripped or stripped.startswith("#"):
        return None
    parts = _NAME_SEPARATOR.split(stripped, maxsplit=1)
    if len(parts) < 2:
        raise InputDataError("topics.seed_line_no_colon", path=path, line=line, text=stripped)
    name = parts[0].strip()
    if not name:
        raise InputDataError("topics.seed_line_no_name", path=path, line=line, text=stripped)
    terms = tuple(term.strip() for term in _TERM_SEPARATOR.split(parts[1]) if term.strip())
    if not terms:
        raise InputDataError("topics.seed_line_no_terms", path=path, line=line, name=name)
    return SeedTopic(name, terms, line)


def read_seed_topics(path: str | Path) -> tuple[SeedTopic, ...]:
    """Read a seed file (format in the module docstring).

    Returns
    -------
    tuple of SeedTopic
        In file order; seed topic ``i`` gets topic id ``i``.

    Raises
    ------
    InputDataError
        When the file is missing (``topics.seed_file_not_found``), not UTF-8
        (``topics.seed_file_not_utf8``), has no topic (``topics.seed_file_empty``),
        names a topic twice (``topics.seed_duplicate_name``) or has an invalid line
        (see ``parse_seed_line``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError("topics.seed_file_not_found", path=path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputDataError("topics.seed_file_not_utf8", path=path) from error

    seeds: list[SeedTopic] = []
    first_line: dict[str, int] = {}
    for number, text in enumerate(content.splitlines(), start=1):
        seed = parse_seed_line(text, number, path)
        if seed is None:
            continue
        if seed.name in first_line:
            raise InputDataError("topics.seed_duplicate_name", path=path, line=number, name=seed.name,
                                 first_line=first_line[seed.name])
        first_line[seed.name] = number
        seeds.append(seed)
    if not seeds:
        raise InputDataError("topics.seed_file_empty", path=path)
    return tuple(seeds)


def seed_centroids(seeds: Sequence[SeedTopic], embedder: Embedder) -> np.ndarray:
    """Embed every seed's terms and return the unit mean per seed, shape (n_seeds, dim)."""
    centroids = []
    for seed in seeds:
        vectors = np.asarray(embedder.encode(list(seed.terms)), dtype=np.float32)
        centroids.append(unit_vector(vectors.mean(axis=0)))
    return np.vstack(centroids).astype(np.float32)


def assign_to_seeds(
    doc_embeddings: np.ndarray,
    centroids: np.ndarray,
    min_z: float = SEED_MIN_Z,
    min_z_margin: float = SEED_MIN_Z_MARGIN,
) -> np.ndarray:
    """Assign each text to at most one seed by standardised cosine similarity.

    For every seed, the cosine similarities of all texts to its centroid become
    z-scores (minus their mean, over their standard deviation). Standardising per seed
    makes seeds comparable although an embedding model places some seed centroids
    closer to every text than others. A text joins the seed with its highest z-score
    when that z-score is at least `min_z` and, with two or more seeds, at least
    `min_z_margin` above its second highest.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
    centroids : numpy.ndarray, shape (n_seeds, dim)
        Unit-length seed centroids.
    min_z, min_z_margin : float

    Returns
    -------
    numpy.ndarray, shape (n_docs,), int
        Seed index per text, ``UNCLUSTERED`` (-1) for texts that join no seed.

    Notes
    -----
    The rule is relative to the input. A seed that matches nearly every text gets
    small z-scores for all of them, so it takes few or none of them.
    """
    n_docs = doc_embeddings.shape[0]
    assigned = np.full(n_docs, S.UNCLUSTERED, dtype=int)
    if n_docs < 2:
        return assigned
    similarity = unit_rows(doc_embeddings) @ centroids.T
    spread = similarity.std(axis=0)
    # A seed whose similarity is the same for every text cannot single any text out.
    z_scores = np.full_like(similarity, -np.inf)
    varies = spread > 0
    z_scores[:, varies] = (similarity[:, varies] - similarity[:, varies].mean(axis=0)) / spread[varies]

    ranked = np.sort(z_scores, axis=1)
    best = ranked[:, -1]
    joins = best >= min_z
    if centroids.shape[0] > 1:
        joins &= best - ranked[:, -2] >= min_z_margin
    assigned[joins] = z_scores[joins].argmax(axis=1)
    return assigned


def match_seed_terms(texts: Sequence[str], seeds: Sequence[SeedTopic]) -> np.ndarray:
    """Return, per text, the seed whose terms it contains most often, else -1.

    A Chinese term matches as a substring (Chinese has no spaces between words); an
    English term matches as whole words, ignoring case. A text containing terms of two
    seeds equally often joins neither here and is left to the similarity rule.

    >>> seeds = [SeedTopic("物流", ("快递", "配送"), 1), SeedTopic("Refund", ("refund",), 2)]
    >>> match_seed_terms(["快递三天没到", "refund is late", "refunds", "快递退款 refund"], seeds).tolist()
    [0, 1, -1, -1]
    """
    counts = np.zeros((len(texts), len(seeds)), dtype=int)
    lowered = [text.lower() for text in texts]
    for column, seed in enumerate(seeds):
        for term in seed.terms:
            term = term.strip().lower()
            if not term:
                continue
            pattern = re.escape(term) if _CJK.search(term) else r"(?<!\w)" + re.escape(term) + r"(?!\w)"
            compiled = re.compile(pattern)
            counts[:, column] += [1 if compiled.search(text) else 0 for text in lowered]
    matched = np.full(len(texts), S.UNCLUSTERED, dtype=int)
    if not len(texts):
        return matched
    ranked = np.sort(counts, axis=1)
    best = ranked[:, -1]
    second = ranked[:, -2] if len(seeds) > 1 else np.zeros(len(texts), dtype=int)
    clear = (best > 0) & (best > second)
    matched[clear] = counts[clear].argmax(axis=1)
    return matched


def fit_guided_topics(
    texts: Sequence[str],
    doc_embeddings: np.ndarray,
    seeds: Sequence[SeedTopic],
    embedder: Embedder,
    settings: TopicSettings = TopicSettings(),
    on_stage: StageCallback | None = None,
) -> TopicResult:
    """Assign texts to seed topics, then discover topics among the texts left over.

    Seed topic ``i`` gets topic id ``i`` and the seed's name as its label, so the
    same seed file gives the same ids in every run. Its keywords are the top c-TF-IDF
    words of its texts (classes: every final topic and the unclustered texts),
    tokenised by ``KeywordTokenizer``. ``fit_topics`` then runs on the texts that
    joined no seed, and its topics get ids from ``len(seeds)`` on, in its order.
    When fewer than ``MIN_TEXTS_FOR_TOPICS`` texts are left, no topic is discovered,
    and the result carries ``fit_topics``' note only if no text joined a seed.

    Parameters
    ----------
    texts : sequence of str, length n_docs
        Distinct cleaned texts.
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit vectors of `texts` from `embedder`.
    seeds : sequence of SeedTopic
    embedder : Embedder
        The model that embedded `texts`; it embeds the seeds' terms.
    settings : TopicSettings
        For keywords, examples and the discovery step.
    on_stage : callable, optional
        Passed to ``fit_topics``.

    Returns
    -------
    TopicResult
        ``topic_info`` has one row per topic with texts, ordered by id, with the
        extra column ``source`` (``"guided"`` or ``"discovered"``). Seed topics that
        no text joined are absent. ``outlier_share_before`` is the share of texts
        that neither joined a seed nor a discovered topic straight from HDBSCAN.

    Raises
    ------
    ValueError
        When `seeds` is empty, or `texts`, `doc_embeddings` and the seed vectors
        differ in length or dimension.
    """
    if not seeds:
        raise ValueError("seeds is empty; pass at least one SeedTopic or call fit_topics")
    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    if doc_embeddings.ndim != 2 or len(texts) != doc_embeddings.shape[0]:
        raise ValueError(f"{len(texts)} texts but doc_embeddings of shape {doc_embeddings.shape}; "
                         "pass one vector per text")
    centroids = seed_centroids(seeds, embedder)
    if centroids.shape[1] != doc_embeddings.shape[1]:
        raise ValueError(f"seed vectors have dimension {centroids.shape[1]} but doc_embeddings "
                         f"{doc_embeddings.shape[1]}; embed texts and seeds with the same embedder")

    text_array = np.asarray(texts, dtype=object)
    n_docs = len(text_array)
    # Texts that contain a seed's terms join it, and their mean becomes its centroid.
    # A few keywords embedded alone land far from whole sentences: with e5 and term
    # centroids only, 物流配送 took 6 of the sample's 221 logistics customers.
    lexical = match_seed_terms(list(text_array), seeds)
    for index in range(len(seeds)):
        members = lexical == index
        if members.sum() >= MIN_LEXICAL_MEMBERS:
            centroids[index] = unit_vector(doc_embeddings[members].mean(axis=0))
    doc_topics = np.where(lexical != S.UNCLUSTERED, lexical, assign_to_seeds(doc_embeddings, centroids))
    empty_seeds = tuple(seed.name for index, seed in enumerate(seeds) if not np.any(doc_topics == index))
    if empty_seeds:
        logger.warning("no text joined the seed topics %s", ", ".join(empty_seeds))

    leftover = np.flatnonzero(doc_topics == S.UNCLUSTERED)
    discovered = fit_topics(list(text_array[leftover]), doc_embeddings[leftover], settings, on_stage)
    found = np.asarray(discovered.doc_topics, dtype=int)
    doc_topics[leftover[found != S.UNCLUSTERED]] = found[found != S.UNCLUSTERED] + len(seeds)

    keyword_texts = np.asarray(drop_cut_words(text_array.tolist()), dtype=object)
    keywords = _ctfidf_keywords(keyword_texts, doc_topics, KeywordTokenizer(settings.extra_stop_words),
                                settings.n_keywords)
    rows = []
    for index, seed in enumerate(seeds):
        members = np.flatnonzero(doc_topics == index)
        if members.size:
            rows.append({S.TOPIC_ID: index, "label": seed.name, "keywords": keywords.get(index, []),
                         "examples": typical_examples(text_array, doc_embeddings, members, settings.n_examples),
                         "docs": int(members.size), "source": GUIDED_SOURCE})
    for _, topic in discovered.topic_info.iterrows():
        rows.append({S.TOPIC_ID: int(topic[S.TOPIC_ID]) + len(seeds), "label": topic["label"],
                     "keywords": list(topic["keywords"]), "examples": list(topic["examples"]),
                     "docs": int(topic["docs"]), "source": DISCOVERED_SOURCE})

    topic_info = pd.DataFrame(rows, columns=list(TOPIC_INFO_COLUMNS))
    # The messages of fit_topics' notes state that every text is unclustered. That is
    # false once a seed topic has texts, so the note is kept only when none has.
    note = discovered.note if topic_info.empty else ""
    share_before = discovered.outlier_share_before * leftover.size / max(n_docs, 1)
    share_after = float(np.mean(doc_topics == S.UNCLUSTERED)) if n_docs else 0.0
    logger.info("seed topics took %d of %d texts; discovery found %d topics in the other %d",
                n_docs - leftover.size, n_docs, len(discovered.topic_info), leftover.size)
    return TopicResult(doc_topics, topic_info, share_before, share_after, discovered.min_topic_size,
                       note, discovered.model, empty_seeds)


def _ctfidf_keywords(
    texts: np.ndarray, doc_topics: np.ndarray, tokenizer: KeywordTokenizer, n_keywords: int,
) -> dict[int, list[str]]:
    """Return the top c-TF-IDF words per topic id, with each topic (and -1) as one class."""
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    topic_ids = sorted(set(doc_topics.tolist()))
    class_documents = ["\n".join(texts[doc_topics == topic]) for topic in topic_ids]
    vectorizer = CountVectorizer(tokenizer=tokenizer, lowercase=False, token_pattern=None)
    try:
        counts = vectorizer.fit_transform(class_documents)
    except ValueError:
        # CountVectorizer raises on an empty vocabulary: every word was a stop word.
        return {}
    scores = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts).toarray()
    words = vectorizer.get_feature_names_out()
    keywords = {}
    for row, topic in enumerate(topic_ids):
        order = np.argsort(-scores[row], kind="stable")[:n_keywords]
        keywords[topic] = [str(words[column]) for column in order if scores[row, column] > 0]
    return keywords
