"""Tests of the synthetic sample generator and of the committed sample CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from painpoints import sample
from painpoints._sample_phrases import CONTENT_FREE_TEXTS
from painpoints.sample import (
    DEFAULT_SEED,
    EXPORT_COLUMNS,
    LOWERING_THEMES,
    NEUTRAL_THEMES,
    PLANTED_EFFECTS,
    RAISING_THEMES,
    SAMPLE_PATH,
    THEMES,
    churn_probability,
    generate_sample,
    write_sample,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
DOCS = [Path(__file__).resolve().parents[1] / "docs" / name for name in ("sample.md", "sample.zh-CN.md")]


def read_export(path) -> pd.DataFrame:
    # keep_default_na=False keeps texts such as "N/A" and empty comments as written.
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_sample()


@pytest.fixture(scope="module")
def export(generated) -> pd.DataFrame:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated) -> pd.DataFrame:
    return generated[1]


@pytest.fixture(scope="module")
def customers(export, truth) -> pd.DataFrame:
    """Churn flag and set of themes over all rows, one row per customer."""
    rows = export.merge(truth, on="工单编号", validate="one_to_one")
    rows["theme_list"] = rows["themes"].str.split(";").map(lambda names: {name for name in names if name})
    return rows.groupby("客户ID").agg(
        churned=("是否流失", lambda values: (values == "是").mean()),
        themes=("theme_list", lambda sets: set().union(*sets)),
    )


def churn_rate_with(customers: pd.DataFrame, theme: str) -> float:
    return customers.loc[customers["themes"].map(lambda themes: theme in themes), "churned"].mean()


def rows_with(truth: pd.DataFrame, theme: str) -> pd.Series:
    return truth["themes"].str.split(";").map(lambda names: theme in names)


# Committed file


def test_committed_csv_matches_generator(tmp_path):
    regenerated = write_sample(tmp_path / "sample.csv")

    assert SAMPLE_PATH.exists(), f"{SAMPLE_PATH} is missing; run python -m painpoints.sample"
    assert regenerated.read_bytes() == SAMPLE_PATH.read_bytes()
    pd.testing.assert_frame_equal(read_export(regenerated), read_export(SAMPLE_PATH))


def test_committed_csv_is_utf8_without_bom():
    raw = SAMPLE_PATH.read_bytes()

    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").splitlines()[0] == ",".join(EXPORT_COLUMNS)


def test_committed_csv_keeps_text_and_ids(export):
    committed = read_export(SAMPLE_PATH)

    assert list(committed.columns) == list(EXPORT_COLUMNS)
    assert committed["客户ID"].tolist() == export["客户ID"].tolist()
    assert committed["反馈内容"].tolist() == export["反馈内容"].tolist()


def test_cli_writes_requested_seed(tmp_path):
    out = tmp_path / "nested" / "seed7.csv"
    truth_out = tmp_path / "truth7.csv"

    sample.main(["--out", str(out), "--seed", "7", "--truth", str(truth_out)])

    export, truth = generate_sample(7)
    assert out.read_text(encoding="utf-8") == sample.export_csv_text(export)
    assert read_export(truth_out)["工单编号"].tolist() == truth["工单编号"].tolist()


# Shape and columns


def test_export_columns_in_order(export, truth):
    assert list(export.columns) == list(EXPORT_COLUMNS)
    assert list(truth.columns) == list(sample.TRUTH_COLUMNS)
    assert truth["工单编号"].tolist() == export["工单编号"].tolist()


def test_sample_size(export):
    assert len(export) >= 1500
    assert export["客户ID"].nunique() >= 400


def test_rows_per_customer_between_one_and_six(export):
    counts = export["客户ID"].value_counts()

    assert counts.min() >= 1
    assert counts.max() <= 6


def test_ticket_ids_unique_and_sorted(export):
    ids = export["工单编号"]

    assert ids.is_unique
    assert ids.str.fullmatch(r"T\d{6}").all()
    assert ids.is_monotonic_increasing


def test_customer_ids_keep_leading_zeros(export):
    ids = read_export(SAMPLE_PATH)["客户ID"]

    assert ids.str.fullmatch(r"C\d{5}").all()
    assert ids.str.startswith("C0").sum() > 0
    assert ids.tolist() == export["客户ID"].tolist()


def test_both_channels_present(export):
    assert set(export["渠道"]) == {"工单", "问卷"}
    assert (export["渠道"] == "问卷").mean() > 0.15


def test_csat_only_on_survey_rows(export):
    survey = export["渠道"] == "问卷"

    assert export.loc[~survey, "满意度"].isna().all()
    assert export.loc[survey, "满意度"].notna().all()
    assert export.loc[survey, "满意度"].between(1, 5).all()


def test_dates_within_range(export):
    dates = pd.to_datetime(export["创建时间"], format="%Y-%m-%d")

    assert dates.min() >= pd.Timestamp(sample.FIRST_DATE)
    assert dates.max() <= pd.Timestamp(sample.LAST_DATE)
    assert dates.dt.to_period("M").nunique() == 12
    assert export["创建时间"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_customer_attributes_constant_per_customer(export):
    per_customer = export.groupby("客户ID")[["是否流失", "月消费", "在网月数", "地区"]].nunique()

    assert (per_customer["是否流失"] == 1).all()
    assert (per_customer["月消费"] == 1).all()
    assert (per_customer["在网月数"] == 1).all()
    assert (per_customer["地区"] == 1).all()


def test_customer_attribute_values(export):
    assert set(export["是否流失"]) == {"是", "否"}
    assert export["月消费"].between(29, 399).all()
    assert export["在网月数"].between(1, 72).all()
    assert set(export["地区"]) == {"华东", "华南", "华北", "西南", "其他"}


# Texts


def test_language_split_near_75_25(truth):
    zh_share = (truth["language"] == "zh").mean()

    assert set(truth["language"]) == {"zh", "en"}
    assert 0.70 <= zh_share <= 0.80


def test_text_language_matches_truth(export, truth):
    rows = export.merge(truth, on="工单编号")
    content = rows[~rows["content_free"]]
    has_cjk = content["反馈内容"].map(lambda text: bool(CJK.search(text)))

    assert has_cjk[content["language"] == "zh"].all()
    assert not has_cjk[content["language"] == "en"].any()


def test_chinese_texts_have_no_spaces_between_hanzi(export, truth):
    zh_texts = export.loc[truth["language"] == "zh", "反馈内容"]
    # Spaces may only sit between Latin letters or digits, as in "iPhone 15".
    spaced = zh_texts[zh_texts.str.contains(r"[\u4e00-\u9fff，。！？] | [\u4e00-\u9fff，。！？]")]

    assert spaced.empty, spaced.tolist()[:5]


def test_every_theme_present_with_valid_names(truth):
    names = {name for themes in truth["themes"] for name in themes.split(";") if name}

    assert names == set(THEMES)


def test_texts_vary_within_theme(export, truth):
    for theme in THEMES:
        texts = export.loc[rows_with(truth, theme), "反馈内容"]
        distinct_share = texts.nunique() / len(texts)
        assert distinct_share > 0.75, f"{theme}: only {texts.nunique()} distinct texts in {len(texts)} rows"


def test_two_theme_rows_near_five_percent(truth):
    two_themes = truth["themes"].str.count(";") == 1

    assert 0.02 <= two_themes.mean() <= 0.08
    assert (truth["themes"].str.count(";") <= 1).all()


def test_content_free_rows_present(export, truth):
    content_free = truth["content_free"]
    allowed = {text for text, _ in CONTENT_FREE_TEXTS}

    assert 0.015 <= content_free.mean() <= 0.05
    assert (truth.loc[content_free, "themes"] == "").all()
    assert (truth.loc[~content_free, "themes"] != "").all()
    assert set(export.loc[content_free, "反馈内容"]) <= allowed


def test_duplicate_texts_across_customers(export, truth):
    copies = truth["duplicate_of"] != ""
    text_by_ticket = export.set_index("工单编号")["反馈内容"]
    customer_by_ticket = export.set_index("工单编号")["客户ID"]

    assert 0.01 <= copies.mean() <= 0.04
    for ticket, source in zip(truth.loc[copies, "工单编号"], truth.loc[copies, "duplicate_of"]):
        assert text_by_ticket[ticket] == text_by_ticket[source]
        assert customer_by_ticket[ticket] != customer_by_ticket[source]
        assert source < ticket


def test_pii_rows_contain_fake_contacts(export, truth):
    pii_rows = truth["pii"] != ""
    text_by_ticket = export.set_index("工单编号")["反馈内容"]

    assert 0.005 <= pii_rows.mean() <= 0.02
    for ticket, values in zip(truth.loc[pii_rows, "工单编号"], truth.loc[pii_rows, "pii"]):
        for value in values.split(";"):
            assert value in text_by_ticket[ticket]
            if "@" in value:
                assert value.endswith("@example.com")
            else:
                digits = re.sub(r"^\+86 |[ -]", "", value)
                assert re.fullmatch(r"1[3-9]\d{9}", digits), value


def test_no_pii_outside_planted_rows(export, truth):
    phone = re.compile(r"(?<!\d)1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
    clean_texts = export.loc[truth["pii"] == "", "反馈内容"]

    assert not clean_texts.str.contains(phone).any()
    assert not clean_texts.str.contains("@").any()


def test_csat_follows_theme_sentiment(export, truth):
    survey = export["渠道"] == "问卷"
    scores = export["满意度"].astype(float)

    def mean_score(theme: str) -> float:
        return scores[survey & (truth["themes"] == theme)].mean()

    assert mean_score("delivery_praise") > 4.0
    assert mean_score("logistics_delay") < 2.5
    assert mean_score("delivery_praise") > mean_score("app_login") > mean_score("refund_delay")


# Planted churn effects


def test_planted_effect_constants():
    assert set(PLANTED_EFFECTS) == set(THEMES)
    assert set(RAISING_THEMES) | set(NEUTRAL_THEMES) | set(LOWERING_THEMES) == set(THEMES)
    assert all(PLANTED_EFFECTS[theme] > 0 for theme in RAISING_THEMES)
    assert all(PLANTED_EFFECTS[theme] == 0 for theme in NEUTRAL_THEMES)
    assert all(PLANTED_EFFECTS[theme] < 0 for theme in LOWERING_THEMES)


def test_churn_probability_model():
    reference = sample.TENURE_REFERENCE_MONTHS

    assert churn_probability({"app_login", "invoice"}, reference) == pytest.approx(0.15)
    assert churn_probability(set(), reference) == pytest.approx(0.15)
    assert churn_probability({"logistics_delay"}, reference) > 0.35
    assert churn_probability({"delivery_praise"}, reference) < 0.06
    assert churn_probability(set(), 1) > churn_probability(set(), 72)


def test_delay_themes_churn_more_than_login(customers):
    login_rate = churn_rate_with(customers, "app_login")

    assert churn_rate_with(customers, "logistics_delay") >= login_rate + 0.10
    assert churn_rate_with(customers, "refund_delay") >= login_rate + 0.10


def test_every_raising_theme_above_login(customers):
    login_rate = churn_rate_with(customers, "app_login")

    for theme in RAISING_THEMES:
        assert churn_rate_with(customers, theme) > login_rate, theme


def test_praise_customers_churn_less(customers):
    overall = customers["churned"].mean()

    assert churn_rate_with(customers, "delivery_praise") < overall - 0.05


def test_login_among_two_most_frequent(truth):
    row_counts = {theme: int(rows_with(truth, theme).sum()) for theme in THEMES}
    top_two = sorted(row_counts, key=row_counts.get, reverse=True)[:2]

    assert "app_login" in top_two, row_counts


# Seeds


def test_same_seed_same_output(generated):
    export_again, truth_again = generate_sample(DEFAULT_SEED)

    pd.testing.assert_frame_equal(generated[0], export_again)
    pd.testing.assert_frame_equal(generated[1], truth_again)


def test_different_seed_different_output(export):
    other, _ = generate_sample(DEFAULT_SEED + 1)

    assert not other.equals(export)
    assert other["反馈内容"].tolist() != export["反馈内容"].tolist()


# Documentation


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_docs_state_current_numbers(doc, export, truth, customers):
    text = doc.read_text(encoding="utf-8")
    # Rows of the themes table: "| `theme` | label | text | rows | customers | effect | churn rate |".
    theme_lines = {
        line.split("`")[1]: line
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 8
    }

    assert f"{len(export):,}" in text
    assert f"{len(customers)}" in text
    assert "20261204" in text
    for theme in THEMES:
        cells = [cell.strip() for cell in theme_lines[theme].split("|")]
        assert cells[4] == str(int(rows_with(truth, theme).sum())), (doc.name, theme)
        theme_customers = customers["themes"].map(lambda themes: theme in themes).sum()
        assert cells[5] == str(int(theme_customers)), (doc.name, theme)
        assert float(cells[6].replace("−", "-")) == PLANTED_EFFECTS[theme], (doc.name, theme)
        assert cells[7] == f"{churn_rate_with(customers, theme):.1%}", (doc.name, theme)
