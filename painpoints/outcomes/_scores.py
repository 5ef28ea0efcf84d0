"""Impact of each topic line on an NPS or CSAT score."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, get_args

import pandas as pd
from scipy import stats

from painpoints import schema as S
from painpoints.outcomes._adjusted import line_order
from painpoints.outcomes._messages import OutcomeMessage

ScoreKind = Literal["nps", "csat"]
SCORE_KINDS: Final[tuple[str, ...]] = get_args(ScoreKind)
# Valid score range of each kind: NPS answers are 0–10, CSAT answers 1–5.
SCORE_RANGES: Final = {"nps": (0.0, 10.0), "csat": (1.0, 5.0)}
# NPS: promoters answer 9–10 and detractors 0–6. CSAT: satisfied customers answer 4–5.
NPS_PROMOTER_MIN: Final = 9.0
NPS_DETRACTOR_MAX: Final = 6.0
CSAT_SATISFIED_MIN: Final = 4.0

SCORE_COLUMNS: Final = (
    S.TOPIC_ID,
    "label",
    "respondents",
    "mean_score",
    "baseline_mean_score",
    "mean_diff_p_value",
    "topic_score",
    "baseline_score",
    "impact",
)


@dataclass(frozen=True)
class ScoreImpact:
    """NPS or CSAT of each topic line's respondents and the line's impact on the total.

    Attributes
    ----------
    table : pandas.DataFrame
        ``SCORE_COLUMNS``, one row per line, sorted by impact descending:

        - respondents: customers with the line and a score.
        - mean_score, baseline_mean_score: mean raw answer with and without the line;
          mean_diff_p_value is Welch's t-test of the two means.
        - topic_score, baseline_score: the score (NPS or CSAT %) of respondents with
          and without the line.
        - impact: baseline_score - overall_score, the change of the overall score if
          the line's respondents were removed. Positive means the line pulls the
          overall score down.
    kind : {"nps", "csat"}
        NPS = 100 × (share of 9–10 − share of 0–6); CSAT = 100 × share of 4–5.
    score_col : str
        Column the answers came from.
    overall_score : float
        Score of every respondent.
    respondents : int
        Customers with a score.
    messages : tuple of OutcomeMessage
    """

    table: pd.DataFrame
    kind: ScoreKind
    score_col: str
    overall_score: float
    respondents: int
    messages: tuple[OutcomeMessage, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of `table`."""
        return self.table.copy()


def summary_score(answers: pd.Series, kind: ScoreKind) -> float:
    """Return the NPS or CSAT % of the answers, NaN when there are none.

    >>> summary_score(pd.Series([10, 9, 7, 3]), "nps")
    25.0
    """
    if answers.empty:
        return math.nan
    if kind == "nps":
        promoters = (answers >= NPS_PROMOTER_MIN).mean()
        detractors = (answers <= NPS_DETRACTOR_MAX).mean()
        return float(100.0 * (promoters - detractors))
    return float(100.0 * (answers >= CSAT_SATISFIED_MIN).mean())


def score_impact(
    lines: pd.DataFrame,
    population: pd.DataFrame,
    score_col: str,
    labels: dict[int, str],
    kind: ScoreKind = "nps",
) -> ScoreImpact:
    """Compute each line's score with and without it and its impact on the overall score.

    Parameters
    ----------
    lines : pandas.DataFrame
        Unique (customer_id, topic_id) pairs of customers in `population`.
    population : pandas.DataFrame
        One row per customer with customer_id and `score_col` (missing when the
        customer gave no score; those customers are left out).
    score_col : str
    labels : dict
    kind : {"nps", "csat"}

    Raises
    ------
    ValueError
        If `kind` is unknown, a score is not a number, or a score is outside the range
        of its kind (0–10 for NPS, 1–5 for CSAT).
    """
    if kind not in SCORE_KINDS:
        raise ValueError(f"score kind must be one of {SCORE_KINDS}, got {kind!r}")
    raw = population[score_col]
    answers = pd.to_numeric(raw, errors="coerce")
    invalid = raw[answers.isna() & raw.notna()]
    if len(invalid):
        raise ValueError(
            f"score column {score_col!r} must be numeric; found invalid value(s) "
            f"{invalid.unique()[:5].tolist()}"
        )
    low, high = SCORE_RANGES[kind]
    outside = answers[(answers < low) | (answers > high)]
    if len(outside):
        raise ValueError(
            f"score column {score_col!r} has value(s) {outside.unique()[:5].tolist()} outside "
            f"{low:g}–{high:g}, the range of {kind.upper()}; pick the other score kind or fix "
            f"the column"
        )

    messages: list[OutcomeMessage] = []
    known = answers.notna()
    if not known.all():
        messages.append(OutcomeMessage.of("scores_missing", count=int((~known).sum())))
    scored = pd.Series(answers[known].to_numpy(dtype="float64"), index=population.loc[known, S.CUSTOMER_ID])
    overall = summary_score(scored, kind)

    rows = []
    for topic in line_order(lines[S.TOPIC_ID].astype("int64").unique().tolist()):
        members = lines.loc[lines[S.TOPIC_ID] == topic, S.CUSTOMER_ID]
        has_topic = scored.index.isin(members)
        with_topic = scored[has_topic]
        without_topic = scored[~has_topic]
        p_value = math.nan
        if len(with_topic) >= 2 and len(without_topic) >= 2:
            p_value = float(stats.ttest_ind(with_topic, without_topic, equal_var=False).pvalue)
        baseline_score = summary_score(without_topic, kind)
        rows.append(
            {
                S.TOPIC_ID: topic,
                "label": labels.get(topic, ""),
                "respondents": int(len(with_topic)),
                "mean_score": float(with_topic.mean()) if len(with_topic) else math.nan,
                "baseline_mean_score": float(without_topic.mean()) if len(without_topic) else math.nan,
                "mean_diff_p_value": p_value,
                "topic_score": summary_score(with_topic, kind),
                "baseline_score": baseline_score,
                "impact": baseline_score - overall,
            }
        )
    table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    table = table.sort_values("impact", ascending=False, na_position="last", kind="mergesort")
    table = table.reset_index(drop=True)
    table[S.TOPIC_ID] = table[S.TOPIC_ID].astype("Int64")
    table["respondents"] = table["respondents"].astype("int64")
    return ScoreImpact(
        table=table,
        kind=kind,
        score_col=score_col,
        overall_score=overall,
        respondents=int(known.sum()),
        messages=tuple(messages),
    )

