"""Reading a user's sentiment label column: 满意/不满意, 好评/差评, 1/0 or a 1–5 rating.

:mod:`painpoints.sentiment` re-exports :func:`label_values` and
:func:`label_column_candidates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

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
