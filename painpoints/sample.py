"""Generate the synthetic feedback export shipped as ``painpoints/data/sample_feedback.csv``.

The sample imitates a feedback export that a Chinese CX team pulls from its helpdesk
and survey tool for an online shop. It has Chinese headers and about 75 % Chinese and
25 % English texts. Each row is one ticket or survey comment, and the customer
attributes repeat on every row of a customer. All data is invented.

Churn is drawn per customer from a logistic model whose log-odds effects per theme are
in ``PLANTED_EFFECTS``, so that an analysis of the sample can be checked against known
effects. docs/sample.md lists the columns, the planted effects and the churn rates.

Regenerate the committed file with::

    python -m painpoints.sample [--out PATH] [--seed N] [--truth PATH]
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pandas as pd

from painpoints._sample_phrases import (
    CONTENT_FREE_TEXTS,
    EMAIL_NAMES,
    PII_TEMPLATES,
    SHORT_TEXTS,
    THEME_PAIRS,
    compose_text,
)

DEFAULT_SEED = 20261204
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "sample_feedback.csv"

EXPORT_COLUMNS: tuple[str, ...] = (
    "工单编号", "客户ID", "渠道", "创建时间", "反馈内容",
    "是否流失", "月消费", "在网月数", "地区", "满意度",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "工单编号", "themes", "language", "content_free", "duplicate_of", "pii",
)
THEMES: tuple[str, ...] = (
    "logistics_delay", "refund_delay", "delivery_praise", "app_login",
    "product_quality", "customer_service", "invoice",
)

# Log-odds change of a customer's churn when any of the customer's rows has the theme.
PLANTED_EFFECTS: dict[str, float] = {
    "logistics_delay": 1.4,
    "refund_delay": 1.2,
    "delivery_praise": -1.2,
    "app_login": 0.0,
    "product_quality": 0.6,
    "customer_service": 0.8,
    "invoice": 0.0,
}
RAISING_THEMES: tuple[str, ...] = (
    "logistics_delay", "refund_delay", "customer_service", "product_quality",
)
NEUTRAL_THEMES: tuple[str, ...] = ("app_login", "invoice")
LOWERING_THEMES: tuple[str, ...] = ("delivery_praise",)

# Churn probability of a customer with only neutral themes and the reference tenure.
BASELINE_CHURN = 0.15
TENURE_REFERENCE_MONTHS = 24
# Log-odds change per month of tenure above the reference, so newer customers churn more.
TENURE_EFFECT_PER_MONTH = -0.012

CUSTOMER_COUNT = 600
FIRST_DATE = date(2025, 1, 1)
LAST_DATE = date(2025, 12, 31)

# Relative share of rows per theme. app_login is the largest theme on purpose.
THEME_WEIGHTS: dict[str, float] = {
    "app_login": 0.25,
    "logistics_delay": 0.18,
    "delivery_praise": 0.14,
    "refund_delay": 0.12,
    "product_quality": 0.13,
    "customer_service": 0.11,
    "invoice": 0.07,
}
ROWS_PER_CUSTOMER_WEIGHTS = (0.17, 0.22, 0.22, 0.18, 0.12, 0.09)  # for 1 to 6 rows
REPEAT_THEME_CHANCE = 0.45  # a customer's next row is about an earlier theme again
CONTENT_FREE_SHARE = 0.03
TWO_THEME_SHARE = 0.05
# Share of rows whose text copies a row of another customer, accidental copies of short
# texts included. At least MIN_DUPLICATE_GROUPS groups are planted on purpose.
DUPLICATE_SHARE = 0.02
MIN_DUPLICATE_GROUPS = 6
PII_SHARE = 0.01
ZH_CUSTOMER_SHARE = 0.79
LANGUAGE_SWITCH_CHANCE = 0.05  # a row written in the customer's other language

REGION_WEIGHTS: dict[str, float] = {"华东": 0.35, "华南": 0.25, "华北": 0.20, "西南": 0.12, "其他": 0.08}
SURVEY_CHANCE: dict[str, float] = {
    "logistics_delay": 0.35,
    "refund_delay": 0.25,
    "delivery_praise": 0.75,
    "app_login": 0.12,
    "product_quality": 0.35,
    "customer_service": 0.40,
    "invoice": 0.05,
}
CONTENT_FREE_SURVEY_CHANCE = 0.85
THEME_SENTIMENT: dict[str, str] = {
    "logistics_delay": "negative",
    "refund_delay": "negative",
    "delivery_praise": "positive",
    "app_login": "neutral",
    "product_quality": "negative",
    "customer_service": "negative",
    "invoice": "neutral",
}
# Weights of the CSAT scores 1 to 5 per sentiment of the row.
CSAT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "negative": (0.42, 0.33, 0.17, 0.06, 0.02),
    "positive": (0.01, 0.02, 0.07, 0.30, 0.60),
    "neutral": (0.06, 0.14, 0.35, 0.30, 0.15),
    "none": (0.03, 0.05, 0.22, 0.35, 0.35),
}
TICKET = "工单"
SURVEY = "问卷"

T = TypeVar("T")


class _Draws:
    """Random draws derived only from ``random.Random.random()``.

    Python guarantees that ``random()`` returns the same sequence for the same seed
    across versions, but not ``choice`` or ``shuffle`` (Python documentation of the
    random module, "Notes on Reproducibility"). Building every draw on ``random()``
    keeps the committed sample reproducible.
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def uniform(self) -> float:
        return self._random.random()

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability

    def integer(self, low: int, high: int) -> int:
        """Draw an integer from ``low`` to ``high``, both inclusive."""
        return low + int(self._random.random() * (high - low + 1))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self._random.random() * len(items))]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        threshold = self._random.random() * sum(weights)
        cumulative = 0.0
        for item, weight in zip(items, weights):
            cumulative += weight
            if threshold < cumulative:
                return item
        return items[-1]

    def distinct(self, items: Sequence[T], count: int) -> list[T]:
        """Draw ``count`` different items, in draw order."""
        pool = list(items)
        chosen = []
        for _ in range(min(count, len(pool))):
            chosen.append(pool.pop(int(self._random.random() * len(pool))))
        return chosen


@dataclass
class _Customer:
    customer_id: str
    language: str
    region: str
    tenure_months: int
    monthly_revenue: int
    churned: bool = False


@dataclass
class _Row:
    customer: _Customer
    themes: tuple[str, ...]
    language: str
    channel: str
    created: date
    text: str
    csat: int | None
    ticket_id: str = ""
    pii: list[str] = field(default_factory=list)


def generate_sample(seed: int = DEFAULT_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the synthetic export and its ground truth from ``seed``.

    Returns ``(export, truth)``. ``export`` has the columns ``EXPORT_COLUMNS`` in that
    order, one row per ticket or survey comment, sorted by ticket id. ``truth`` has
    one row per export row, in the same order, with the columns ``TRUTH_COLUMNS``.
    In ``truth``, ``themes`` joins the row's themes with ";" and is empty for
    content-free rows. ``duplicate_of`` is the ticket id of the first earlier row of
    another customer with the same text, and is never set on content-free rows.
    ``pii`` joins the invented phone numbers and e-mail addresses in the text.
    """
    draws = _Draws(seed)
    customers = _draw_customers(draws)
    rows: list[_Row] = []
    for customer in customers:
        customer_rows = _draw_rows(customer, draws)
        customer.churned = _draw_churn(customer, customer_rows, draws)
        rows.extend(customer_rows)

    rows.sort(key=lambda row: (row.created, row.customer.customer_id))
    _assign_ticket_ids(rows, draws)
    _plant_duplicates(rows, draws)
    _plant_pii(rows, draws)
    return _export_frame(rows), _truth_frame(rows)


def churn_probability(themes: set[str] | frozenset[str], tenure_months: int) -> float:
    """Compute the planted churn probability of a customer from its themes and tenure."""
    log_odds = math.log(BASELINE_CHURN / (1 - BASELINE_CHURN))
    log_odds += sum(PLANTED_EFFECTS[theme] for theme in themes)
    log_odds += TENURE_EFFECT_PER_MONTH * (tenure_months - TENURE_REFERENCE_MONTHS)
    return 1 / (1 + math.exp(-log_odds))


def export_csv_text(export: pd.DataFrame) -> str:
    """Render the export as the CSV text that ``write_sample`` stores (UTF-8, LF line ends)."""
    return export.to_csv(index=False, lineterminator="\n")


def write_sample(path: Path = SAMPLE_PATH, seed: int = DEFAULT_SEED, truth_path: Path | None = None) -> Path:
    """Generate the sample, write it as UTF-8 CSV without BOM and return ``path``.

    When ``truth_path`` is given, the ground truth is written there as well.
    """
    export, truth = generate_sample(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_csv_text(export).encode("utf-8"))
    if truth_path is not None:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.write_bytes(truth.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return path


def _draw_customers(draws: _Draws) -> list[_Customer]:
    # Ids are a sparse subset of a larger customer base, so most keep leading zeros.
    numbers = sorted(draws.distinct(range(1, 20000), CUSTOMER_COUNT))
    regions = list(REGION_WEIGHTS)
    customers = []
    for number in numbers:
        language = "zh" if draws.chance(ZH_CUSTOMER_SHARE) else "en"
        # Tenure is skewed towards short tenures, so new customers are the most common.
        tenure = 1 + int(71 * draws.uniform() ** 1.6)
        revenue = round(math.exp(math.log(29) + draws.uniform() * (math.log(399) - math.log(29))))
        customers.append(
            _Customer(
                customer_id=f"C{number:05d}",
                language=language,
                region=draws.weighted(regions, list(REGION_WEIGHTS.values())),
                tenure_months=tenure,
                monthly_revenue=revenue,
            )
        )
    return customers


def _draw_rows(customer: _Customer, draws: _Draws) -> list[_Row]:
    row_count = draws.weighted(range(1, 7), ROWS_PER_CUSTOMER_WEIGHTS)
    days_in_range = (LAST_DATE - FIRST_DATE).days
    rows = []
    earlier_themes: list[str] = []
    for _ in range(row_count):
        language = customer.language
        if draws.chance(LANGUAGE_SWITCH_CHANCE):
            language = "en" if language == "zh" else "zh"
        created = FIRST_DATE + timedelta(days=draws.integer(0, days_in_range))

        if draws.chance(CONTENT_FREE_SHARE):
            text, text_language = draws.pick(CONTENT_FREE_TEXTS)
            channel = SURVEY if draws.chance(CONTENT_FREE_SURVEY_CHANCE) else TICKET
            csat = _draw_csat("none", draws) if channel == SURVEY else None
            rows.append(_Row(customer, (), text_language or language, channel, created, text, csat))
            continue

        if draws.chance(TWO_THEME_SHARE):
            pairs = [pair for pair, _ in THEME_PAIRS]
            themes: tuple[str, ...] = draws.weighted(pairs, [weight for _, weight in THEME_PAIRS])
        elif earlier_themes and draws.chance(REPEAT_THEME_CHANCE):
            themes = (draws.pick(earlier_themes),)
        else:
            themes = (draws.weighted(list(THEME_WEIGHTS), list(THEME_WEIGHTS.values())),)
        earlier_themes.extend(themes)

        channel = SURVEY if draws.chance(SURVEY_CHANCE[themes[0]]) else TICKET
        sentiments = {THEME_SENTIMENT[theme] for theme in themes}
        sentiment = "negative" if "negative" in sentiments else sentiments.pop()
        csat = _draw_csat(sentiment, draws) if channel == SURVEY else None
        text = compose_text(themes, language, channel == SURVEY, created, draws)
        rows.append(_Row(customer, themes, language, channel, created, text, csat))
    return rows


def _draw_csat(sentiment: str, draws: _Draws) -> int:
    return draws.weighted(range(1, 6), CSAT_WEIGHTS[sentiment])


def _draw_churn(customer: _Customer, rows: list[_Row], draws: _Draws) -> bool:
    themes = {theme for row in rows for theme in row.themes}
    return draws.chance(churn_probability(themes, customer.tenure_months))


def _assign_ticket_ids(rows: list[_Row], draws: _Draws) -> None:
    # Gaps between ids stand for tickets of the helpdesk that the export filtered out.
    number = draws.integer(100, 400)
    for row in rows:
        row.ticket_id = f"T{number:06d}"
        number += draws.integer(1, 3)


def _plant_duplicates(rows: list[_Row], draws: _Draws) -> None:
    """Give groups of two or three rows from different customers the same short text.

    Only rows with a single theme get a short text of that theme in their language, so
    the themes in the truth stay right and the churn draw is unaffected.
    """
    target = round(DUPLICATE_SHARE * len(rows))
    used_rows: set[int] = set()
    used_texts: set[str] = set()
    for _ in range(1000):  # bounded, in case the candidate rows run out
        copies = sum(1 for source in _duplicate_sources(rows) if source)
        if len(used_texts) >= MIN_DUPLICATE_GROUPS and copies >= target:
            break
        theme = draws.weighted(list(THEME_WEIGHTS), list(THEME_WEIGHTS.values()))
        language = "zh" if draws.chance(0.75) else "en"
        group_size = draws.integer(2, 3)
        texts = [text for text in SHORT_TEXTS[theme][language] if text not in used_texts]
        if not texts:
            continue
        text = draws.pick(texts)
        candidates = [
            index for index, row in enumerate(rows)
            if row.themes == (theme,) and row.language == language and index not in used_rows
        ]
        group: list[int] = []
        for index in draws.distinct(candidates, len(candidates)):
            if all(rows[index].customer is not rows[member].customer for member in group):
                group.append(index)
            if len(group) == group_size:
                break
        if len(group) < 2:
            continue
        for index in group:
            rows[index].text = text
            used_rows.add(index)
        used_texts.add(text)


def _plant_pii(rows: list[_Row], draws: _Draws) -> None:
    """Add an invented phone number or e-mail address to about ``PII_SHARE`` of the rows."""
    text_counts: dict[str, int] = {}
    for row in rows:
        text_counts[row.text] = text_counts.get(row.text, 0) + 1
    candidates = [
        index for index, row in enumerate(rows)
        if row.themes and text_counts[row.text] == 1 and row.channel == TICKET
    ]
    for index in draws.distinct(candidates, round(PII_SHARE * len(rows))):
        row = rows[index]
        # Mobile numbers are 11 digits starting with 1[3-9]. The middle "0000" marks them fake.
        mobile = f"1{draws.integer(3, 9)}{draws.integer(0, 9)}0000{draws.integer(0, 9999):04d}"
        phone = draws.pick((
            mobile,
            f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
            f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
            f"+86 {mobile}",
        ))
        email = f"{draws.pick(EMAIL_NAMES)}@example.com"
        template = draws.pick(PII_TEMPLATES[row.language])
        sentence = template.format(phone=phone, email=email)
        row.pii = [value for name, value in (("{phone}", phone), ("{email}", email)) if name in template]
        if row.language == "zh":
            text = row.text.rstrip("。！~…")
            row.text = text + ("" if text.endswith("？") else "。") + sentence
        else:
            ending = "" if row.text.endswith((".", "?", "!")) else "."
            row.text = row.text + ending + " " + sentence


def _export_frame(rows: list[_Row]) -> pd.DataFrame:
    export = pd.DataFrame(
        {
            "工单编号": [row.ticket_id for row in rows],
            "客户ID": [row.customer.customer_id for row in rows],
            "渠道": [row.channel for row in rows],
            "创建时间": [row.created.isoformat() for row in rows],
            "反馈内容": [row.text for row in rows],
            "是否流失": ["是" if row.customer.churned else "否" for row in rows],
            "月消费": [row.customer.monthly_revenue for row in rows],
            "在网月数": [row.customer.tenure_months for row in rows],
            "地区": [row.customer.region for row in rows],
            "满意度": pd.array([row.csat for row in rows], dtype="Int64"),
        }
    )
    return export[list(EXPORT_COLUMNS)]


def _duplicate_sources(rows: list[_Row]) -> list[str]:
    """Return, per row, the ticket id of the first earlier row of another customer with the same text.

    The id is empty when there is no such row and for content-free rows.
    """
    rows_by_text: dict[str, list[_Row]] = {}
    sources = []
    for row in rows:
        earlier = rows_by_text.setdefault(row.text, []) if row.themes else []
        source = next((other for other in earlier if other.customer is not row.customer), None)
        sources.append(source.ticket_id if source else "")
        if row.themes:
            earlier.append(row)
    return sources


def _truth_frame(rows: list[_Row]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "工单编号": [row.ticket_id for row in rows],
            "themes": [";".join(row.themes) for row in rows],
            "language": [row.language for row in rows],
            "content_free": [not row.themes for row in rows],
            "duplicate_of": _duplicate_sources(rows),
            "pii": [";".join(row.pii) for row in rows],
        }
    )[list(TRUTH_COLUMNS)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m painpoints.sample",
        description="Write the synthetic feedback export (UTF-8 CSV with Chinese headers).",
    )
    parser.add_argument(
        "--out", type=Path, default=SAMPLE_PATH, help=f"output CSV path (default: {SAMPLE_PATH})"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--truth", type=Path, default=None, help="also write the per-row ground truth to this CSV path"
    )
    args = parser.parse_args(argv)
    path = write_sample(args.out, args.seed, args.truth)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
