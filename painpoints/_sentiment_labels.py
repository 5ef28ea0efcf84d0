"""Reading a user's sentiment label column: 满意/不满意, 好评/差评, 1/0 or a 1–5 rating.

:func:`fit_on_labels` fits a classifier on such a column at run time.
:mod:`painpoints.sentiment` re-exports :func:`label_values`,
:func:`label_column_candidates` and :func:`fit_on_labels`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from painpoints._sentiment_trained import NGRAM_RANGE

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

CV_FOLDS: Final = 5

# Spellings of a user's label column (lower-cased, stripped), read by label_values.
# Neutral spellings and blanks are rows without a label.
POSITIVE_SPELLINGS: Final = frozenset({
    "1", "positive", "pos", "good", "yes", "true", "satisfied", "like",
    "满意", "非常满意", "好评", "正面", "积极", "好", "是", "推荐",
})
NEGATIVE_SPELLINGS: Final = frozenset({
    "0", "negative", "neg", "bad", "no", "false", "dissatisfied", "unsatisfied", "dislike",
    "不满意", "非常不满意", "差评", "负面", "消极", "差", "否", "不推荐",
})
NEUTRAL_SPELLINGS: Final = frozenset({"", "neutral", "neu", "mixed", "中评", "一般", "中立", "中性", "还行"})
# A 1–5 rating: 1–2 is negative, 4–5 positive and 3 has no label.
RATING_NEGATIVE: Final = (1, 2)
RATING_POSITIVE: Final = (4, 5)
# Header words of a column that may contain sentiment labels (lower-cased substrings).
LABEL_COLUMN_HINTS: Final = (
    "满意", "评分", "评价", "好评", "差评", "星级", "情感", "情绪",
    "rating", "satisf", "csat", "sentiment", "stars", "label",
)


def label_values(values: Sequence[object]) -> list[int | None]:
    """Map a user's label column to 1 (positive), 0 (negative) or None (no label).

    A column whose numbers are all 0 or 1 is read as 1 = positive, 0 = negative. A
    column of whole numbers from 1 to 5 is a rating: 1–2 negative, 4–5 positive and 3
    without a label. Text is matched, ignoring case, against ``POSITIVE_SPELLINGS``
    (满意, 好评, positive …), ``NEGATIVE_SPELLINGS`` (不满意, 差评, negative …) and
    ``NEUTRAL_SPELLINGS``. Blank and missing cells have no label.

    >>> label_values(["满意", "不满意", "", None])
    [1, 0, None, None]
    >>> label_values([5, 4, 3, 2, 1])
    [1, 1, None, 0, 0]

    Raises
    ------
    ValueError
        When a cell matches none of these spellings, or the numbers are neither 0/1 nor 1–5.
    """
    cells = pd.Series(list(values), dtype=object)
    present = cells.notna() & (cells.astype(str).str.strip() != "")
    numbers = pd.to_numeric(cells[present], errors="coerce")
    if present.any() and numbers.notna().all():
        whole = bool((numbers == numbers.round()).all())
        if whole and numbers.isin([0, 1]).all():
            return [int(numbers[index]) if present[index] else None for index in cells.index]
        if whole and numbers.between(1, 5).all():
            return [_rating_label(numbers[index]) if present[index] else None for index in cells.index]
        raise ValueError(
            f"the label column has numbers from {numbers.min():g} to {numbers.max():g}: "
            f"use 1 and 0, or a 1–5 rating"
        )

    labels: list[int | None] = []
    unknown: list[str] = []
    for cell in cells:
        text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell).strip().lower()
        if text in POSITIVE_SPELLINGS:
            labels.append(1)
        elif text in NEGATIVE_SPELLINGS:
            labels.append(0)
        else:
            labels.append(None)
            if text not in NEUTRAL_SPELLINGS:
                unknown.append(str(cell))
    if unknown:
        examples = ", ".join(repr(value) for value in list(dict.fromkeys(unknown))[:5])
        raise ValueError(
            f"the label column has {len(unknown)} cell(s) that are not a sentiment label, such as "
            f"{examples}: use 满意/不满意, 好评/差评, positive/negative, 1/0 or a 1–5 rating"
        )
    return labels


def _rating_label(rating: float) -> int | None:
    if rating in RATING_NEGATIVE:
        return 0
    if rating in RATING_POSITIVE:
        return 1
    return None


def label_column_candidates(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Return the columns of ``frame`` that look like sentiment labels, to offer as ``--sentiment-label-col``.

    A candidate's header contains a word of ``LABEL_COLUMN_HINTS`` (满意度, 评分,
    rating …), and :func:`label_values` reads its cells with both classes present.
    Columns in ``exclude`` (the text, id and outcome columns) are skipped.
    """
    candidates = []
    for column in frame.columns:
        name = str(column).lower()
        if column in exclude or not any(hint in name for hint in LABEL_COLUMN_HINTS):
            continue
        try:
            labels = label_values(frame[column].tolist())
        except ValueError:
            continue
        if 0 in labels and 1 in labels:
            candidates.append(str(column))
    return candidates


@dataclass(frozen=True)
class FittedSentiment:
    """A logistic regression fitted on the user's labelled rows.

    Attributes
    ----------
    model : sklearn.linear_model.LogisticRegression
        Fitted on all labelled rows; class 1 is positive.
    cv_balanced_accuracy : float
        Mean balanced accuracy over stratified ``folds``-fold cross-validation.
    folds : int
        Number of cross-validation folds (fewer than 5 when a class is that small).
    labelled_rows : int
        Rows with a label, out of all rows given.
    vectorizer : sklearn.feature_extraction.text.TfidfVectorizer or None
        Character n-gram weights placed beside the embeddings, when texts were given
        and these features scored higher than the embeddings alone.
    """

    model: LogisticRegression
    cv_balanced_accuracy: float
    folds: int
    labelled_rows: int
    vectorizer: TfidfVectorizer | None = None

    def score(self, doc_embeddings: np.ndarray, texts: Sequence[str] | None = None) -> pd.DataFrame:
        """Score documents as ``2 * P(positive) - 1``, in the frame of :func:`score_sentiment`.

        ``texts`` are required when the model was fitted with texts.
        """
        probability = self.model.predict_proba(_label_features(doc_embeddings, texts, self.vectorizer))[:, 1]
        from painpoints.sentiment import _to_frame

        return _to_frame(2.0 * probability - 1.0)


def _label_features(doc_embeddings: np.ndarray, texts: Sequence[str] | None, vectorizer):
    dense = np.asarray(doc_embeddings, dtype=np.float32)
    if vectorizer is None:
        return dense
    if texts is None or len(texts) != len(dense):
        raise ValueError("this model was fitted with texts: pass the texts of the embeddings to score them")
    from scipy.sparse import csr_matrix, hstack

    return hstack([vectorizer.transform(list(texts)), csr_matrix(dense)]).tocsr()


def fit_on_labels(
    doc_embeddings: np.ndarray, labels: Sequence[object], random_state: int = 0,
    texts: Sequence[str] | None = None,
) -> FittedSentiment:
    """Fit a sentiment classifier on the user's own labelled column, at run time.

    Parameters
    ----------
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
    labels : sequence, length n_docs
        1 / True for positive, 0 / False for negative, and None or NaN for rows
        without a label (skipped). Map ratings or 满意/不满意 to these first.
    random_state : int
        Seed of the cross-validation split.
    texts : sequence of str, optional
        The rows' texts. With them, a second feature set puts TF-IDF weights of
        character 1- to 3-grams (fitted on every row's text, without the labels) beside
        the embeddings, and the set with the higher cross-validated balanced accuracy
        is kept.

    Returns
    -------
    FittedSentiment

    Raises
    ------
    ValueError
        When the lengths differ, a label is not 0/1, or a class has fewer than two
        labelled rows.
    """
    # Imported here because scikit-learn takes about a second to import, and the
    # settings import this module for its method names.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    doc_embeddings = np.asarray(doc_embeddings, dtype=np.float32)
    if len(labels) != len(doc_embeddings):
        raise ValueError(f"got {len(doc_embeddings)} embeddings but {len(labels)} labels: pass one label per row")
    if texts is not None and len(texts) != len(doc_embeddings):
        raise ValueError(f"got {len(doc_embeddings)} embeddings but {len(texts)} texts: pass one text per row")
    values = pd.Series(list(labels), dtype=object)
    labelled = values.notna().to_numpy()
    invalid = sorted({repr(value) for value in values[labelled] if value not in (0, 1)})
    if invalid:
        raise ValueError(f"invalid sentiment labels {', '.join(invalid[:5])}: use 1 for positive, 0 for negative")
    y = values[labelled].astype(int).to_numpy()
    smallest = min(int((y == 0).sum()), int((y == 1).sum()))
    if smallest < 2:
        raise ValueError(
            f"need at least 2 labelled rows of each class, got {int((y == 0).sum())} negative "
            f"and {int((y == 1).sum())} positive"
        )
    candidates: list[TfidfVectorizer | None] = [None]
    if texts is not None:
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, min_df=2, sublinear_tf=True)
        try:
            candidates.append(vectorizer.fit([str(text) for text in texts]))
        except ValueError:  # no character n-gram occurs twice: the embeddings alone remain
            pass
    folds = min(CV_FOLDS, smallest)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    # With texts, keep the feature set with the higher cross-validated score: character
    # n-grams help on Chinese reviews and cost a little on English ones.
    best = None
    for vectorizer in candidates:
        x = _label_features(doc_embeddings, texts, vectorizer)[labelled]
        model = LogisticRegression(class_weight="balanced", max_iter=2000)
        score = float(cross_val_score(model, x, y, cv=splitter, scoring="balanced_accuracy").mean())
        if best is None or score > best[0]:
            best = (score, vectorizer, model, x)
    score, vectorizer, model, x = best
    model.fit(x, y)
    logger.info("fitted sentiment on %d labelled rows (%s): cross-validated balanced accuracy %.3f",
                len(y), "embeddings and character n-grams" if vectorizer else "embeddings", score)
    return FittedSentiment(model, score, folds, len(y), vectorizer)
