"""Viewer reading pages (Overview, Topic vs churn, Verbatims, Trends & segments) and their chart logic.

One run of a quarter of the bundled sample (every fourth row, with dates, an outcome, a
tenure column and two segment columns) is built once per module with the hashing
embedder, so the survival, trend and segment tables exist. The logic modules are
tested directly; each page's ``render`` is run through AppTest (see ``run_page`` in
tests/test_ui.py) in both languages.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.embed import HashingEmbedder
from painpoints.i18n import tr
from painpoints.pipeline import run_analysis
from painpoints.sample import SAMPLE_PATH
from painpoints.settings import AnalysisSettings
from painpoints.store import StoredRun, load_run, save_run
from tests.test_ui import run_page
from ui import _view

UI_DIR = Path(__file__).resolve().parents[1] / "ui"
if str(UI_DIR) not in sys.path:
    sys.path.insert(0, str(UI_DIR))

import _charts  # noqa: E402  (the ui modules import each other by bare name)
import _view_churn  # noqa: E402
import _view_overview  # noqa: E402
import _view_trends  # noqa: E402
import _view_verbatims  # noqa: E402

SEGMENTS = ("地区", "渠道")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample-run")
    frame = pd.read_csv(SAMPLE_PATH, dtype=str, keep_default_na=False)
    feedback = folder / "sample_quarter.csv"
    frame.iloc[::4].to_csv(feedback, index=False, encoding="utf-8")
    settings = AnalysisSettings(embedding="hashing", cache_dir=folder / "cache", min_topic_size=10,
                                covariates=("在网月数",), duration_col="在网月数", segment_cols=SEGMENTS,
                                period="month", sentiment="lexicon")
    store = folder / "runs.duckdb"
    save_run(run_analysis(feedback, settings, embedder=HashingEmbedder()), store)
    return store


@pytest.fixture(scope="module")
def sample_run(sample_store) -> StoredRun:
    return load_run(sample_store)


# --- topic map coordinates in the run ------------------------------------------------------


def test_run_stores_map_coordinates(sample_run):
    topics = sample_run.topics
    real = topics[topics[S.TOPIC_ID] >= 0]
    assert {"map_x", "map_y"} <= set(topics.columns)
    assert real[["map_x", "map_y"]].notna().all().all()
    assert topics.loc[topics[S.TOPIC_ID] == S.UNCLUSTERED, "map_x"].isna().all()


def test_run_stores_segment_columns(sample_run):
    documents = sample_run.documents
    assert list(documents.columns[:len(S.DOCUMENT_COLUMNS)]) == list(S.DOCUMENT_COLUMNS)
    assert list(documents.columns[len(S.DOCUMENT_COLUMNS):]) == list(SEGMENTS)
    assert documents["地区"].notna().all()


# --- Overview logic ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_status_counts_add_up_to_upload(sample_run, language):
    counts = _view_overview.status_counts(sample_run.documents, language)

    assert counts["status"].tolist() == list(S.STATUSES)
    assert counts["rows"].sum() == len(sample_run.documents)
    assert counts["rows"].sum() == sample_run.info["rows"]
    assert dict(zip(counts["status"], counts["rows"])) == sample_run.info["rows_by_status"]
    assert counts["share"].sum() == pytest.approx(1.0)
    assert counts["name"].tolist() == [tr(f"ui.status_{status}", language) for status in S.STATUSES]


def test_topic_sizes_skip_unclustered_and_sort(sample_run):
    sizes = _view_overview.topic_sizes(sample_run.topics, "en")
    assert S.UNCLUSTERED not in sizes[S.TOPIC_ID].tolist()
    assert len(sizes) == (sample_run.topics[S.TOPIC_ID] >= 0).sum()
    assert sizes["rows"].is_monotonic_decreasing


def test_topic_map_points(sample_run):
    points = _view_overview.topic_map_points(sample_run.topics, sample_run.topic_outcomes, "zh")
    lift = sample_run.topic_outcomes.set_index(S.TOPIC_ID)["lift"]

    assert points is not None
    assert sorted(points[S.TOPIC_ID]) == sorted(sample_run.topics.loc[sample_run.topics[S.TOPIC_ID] >= 0, S.TOPIC_ID])
    assert points["lift"].tolist() == pytest.approx([lift[topic] for topic in points[S.TOPIC_ID]])


def test_topic_map_of_old_run_is_none(sample_run):
    old_topics = sample_run.topics.drop(columns=["map_x", "map_y"])
    assert _view_overview.topic_map_points(old_topics, sample_run.topic_outcomes, "en") is None
    emptied = sample_run.topics.assign(map_x=np.nan, map_y=np.nan)
    assert _view_overview.topic_map_points(emptied, sample_run.topic_outcomes, "en") is None


def test_churn_baseline_sentence(sample_run):
    outcomes = sample_run.info["outcomes"]
    rate = f"{outcomes['overall_rate']:.1%}"
    english = _view_overview.churn_baseline(sample_run.info, "en")
    chinese = _view_overview.churn_baseline(sample_run.info, "zh")

    assert english.startswith(f"{outcomes['churned']:,} of {outcomes['customers']:,} customers churned")
    assert rate in english
    assert chinese.startswith(f"共 {outcomes['customers']:,} 位客户，其中流失 {outcomes['churned']:,}，")
    assert rate in chinese
    assert _view_overview.churn_baseline({"outcomes": None}, "en") is None


# --- Topic vs churn logic --------------------------------------------------------------------


@pytest.mark.parametrize("estimate", ["crude", "adjusted"])
def test_forest_rows_one_per_topic_with_ordered_bounds(sample_run, estimate):
    outcomes = sample_run.topic_outcomes
    value, low, high, _ = _view_churn.ESTIMATES[estimate]
    drawable = outcomes[(outcomes[[value, low, high]] > 0).all(axis=1) & np.isfinite(outcomes[[value, low, high]]).all(axis=1)]
    forest = _view_churn.forest_rows(outcomes, "en", estimate)

    assert len(forest) == len(drawable) > 0
    assert forest[S.TOPIC_ID].is_unique
    assert (forest["low"] <= forest["estimate"]).all()
    assert (forest["estimate"] <= forest["high"]).all()
    assert forest["order"].tolist() == list(range(len(forest)))
    if estimate == "crude":
        expected = (forest["q_value"] < 0.05) & ~forest["small_group"]
    else:
        expected = ((forest["low"] > 1) | (forest["high"] < 1)) & ~forest["small_group"]
    assert (forest["significant"] == expected).all()


def test_adjusted_estimate_offered_with_covariates(sample_run):
    choices = _view_churn.estimate_choices(sample_run.topic_outcomes, sample_run.info, "zh")
    assert list(choices) == ["crude", "adjusted"]
    assert choices["adjusted"] == "调整后优势比（协变量：在网月数）"
    without = sample_run.topic_outcomes.assign(adjusted_odds_ratio=np.nan)
    assert list(_view_churn.estimate_choices(without, sample_run.info, "en")) == ["crude"]


@pytest.mark.parametrize("choice, column", [("lift", "lift"), ("revenue", "revenue_at_risk"), ("size", "customers")])
def test_sort_outcomes(sample_run, choice, column):
    ordered = _view_churn.sort_outcomes(sample_run.topic_outcomes, choice)
    values = ordered[column].dropna()
    assert values.is_monotonic_decreasing
    assert ordered[column].isna().sum() == 0 or ordered[column].tail(ordered[column].isna().sum()).isna().all()
    assert sorted(ordered[S.TOPIC_ID]) == sorted(sample_run.topic_outcomes[S.TOPIC_ID])


def test_sort_orders_differ(sample_run):
    by_lift = _view_churn.sort_outcomes(sample_run.topic_outcomes, "lift")[S.TOPIC_ID].tolist()
    by_size = _view_churn.sort_outcomes(sample_run.topic_outcomes, "size")[S.TOPIC_ID].tolist()
    assert by_lift != by_size
    with pytest.raises(ValueError, match="invalid sort choice 'churn'"):
        _view_churn.sort_outcomes(sample_run.topic_outcomes, "churn")


def test_km_curves_start_at_one_and_fall(sample_run):
    curves = sample_run.analyses["survival_curves"]
    ordered = _view_churn.sort_outcomes(sample_run.topic_outcomes, "lift")
    choices = _view_churn.survival_topics(curves, ordered, "en")
    first_topic = next(iter(choices))

    assert first_topic == int(ordered.loc[ordered[S.TOPIC_ID] >= 0, S.TOPIC_ID].iloc[0])
    for topic_id in choices:
        curve = _view_churn.km_curve(curves, topic_id, "zh")
        assert set(curve["group_name"]) <= {"提到该话题的客户", "其他客户"}
        for _, group in curve.groupby("group"):
            assert group["survival"].iloc[0] == pytest.approx(1.0)
            assert (np.diff(group["survival"].to_numpy()) <= 1e-12).all(), topic_id
            assert (group["ci_low"] <= group["survival"] + 1e-12).all()


# --- Verbatims logic -------------------------------------------------------------------------


def _largest_topic(run: StoredRun) -> int:
    real = run.topics[run.topics[S.TOPIC_ID] >= 0]
    return int(real.sort_values("rows", ascending=False)[S.TOPIC_ID].iloc[0])


def test_segment_columns_of_run(sample_run):
    assert _view_verbatims.segment_columns(sample_run.documents, sample_run.info) == list(SEGMENTS)
    assert _view_verbatims.segment_columns(sample_run.documents, {"settings": {}}) == []


def test_filters_reduce_rows(sample_run):
    topic = _largest_topic(sample_run)
    rows = _view_verbatims.topic_rows_with(sample_run.documents, topic, list(SEGMENTS))
    dates = pd.to_datetime(rows[S.DATE])
    start, end = dt.date(2025, 3, 1), dt.date(2025, 6, 30)
    region = rows["地区"].mode()[0]

    in_range = _view_verbatims.filter_rows(rows, date_range=(start, end))
    assert len(in_range) == ((dates >= "2025-03-01") & (dates < "2025-07-01")).sum()
    assert 0 < len(in_range) < len(rows)

    in_region = _view_verbatims.filter_rows(rows, segments={"地区": [region], "渠道": []})
    assert len(in_region) == (rows["地区"] == region).sum()
    assert set(in_region["地区"]) == {region}

    churned = _view_verbatims.filter_rows(rows, churned="yes")
    stayed = _view_verbatims.filter_rows(rows, churned="no")
    assert churned[S.CHURNED].astype(bool).all()
    assert not stayed[S.CHURNED].astype(bool).any()
    assert len(churned) + len(stayed) == rows[S.CHURNED].notna().sum()

    combined = _view_verbatims.filter_rows(rows, date_range=(start, end), segments={"地区": [region]}, churned="yes")
    expected = ((dates >= "2025-03-01") & (dates < "2025-07-01") & (rows["地区"] == region)
                & rows[S.CHURNED].astype("boolean").fillna(False))
    assert len(combined) == expected.sum()
    with pytest.raises(ValueError, match="invalid churned filter 'maybe'"):
        _view_verbatims.filter_rows(rows, churned="maybe")


def test_highlight_escapes_and_marks():
    marked = _view_verbatims.highlight_html("<script>x</script> 快递太慢 call <PHONE> Refund", ["快递", "refund"], "慢")
    assert "<script>" not in marked
    assert "&lt;script&gt;x&lt;/script&gt;" in marked
    assert ">快递</mark>" in marked
    assert ">Refund</mark>" in marked
    assert ">慢</mark>" in marked
    assert ">&lt;PHONE&gt;</mark>" in marked
    assert _view_verbatims.highlight_html(None, ["x"]) == ""


def test_highlighted_table_limits_rows(sample_run):
    rows = _view_verbatims.topic_rows_with(sample_run.documents, _largest_topic(sample_run), [])
    table = _view_verbatims.highlighted_table(rows, ["物流"], "", "en", limit=5)
    assert table.count("<tr>") == 1 + min(5, len(rows))
    assert "<th" in table
    assert "Feedback" in table


# --- Trends & segments logic -----------------------------------------------------------------


def test_heatmap_cells_match_segments_table(sample_run):
    segments = sample_run.analyses["segments"]
    for measure, column in (("share", "share"), ("churn_rate", "churn_rate")):
        cells = _view_trends.heatmap_cells(segments, "地区", measure, "en")
        stored = segments[(segments["segment_col"] == "地区") & (segments[S.TOPIC_ID] != S.NO_CONTENT_TOPIC)]
        assert len(cells) == len(stored)
        lookup = stored.set_index([S.TOPIC_ID, "segment"])[column]
        for cell in cells.itertuples():
            assert cell.value == pytest.approx(lookup[(cell.topic_id, cell.segment)])


def test_trend_points_and_choices(sample_run):
    trends = sample_run.analyses["trends"]
    choices = _view_trends.trend_topic_choices(trends, "zh")
    chosen = _view_trends.default_trend_topics(choices)
    points = _view_trends.trend_points(trends, chosen, "month", "zh")

    assert len(chosen) == min(5, sum(topic >= 0 for topic in choices))
    assert set(points[S.TOPIC_ID]) == set(chosen)
    assert len(points) == trends[S.TOPIC_ID].isin(chosen).sum()
    assert points["period_name"].str.match(r"^\d{4}年\d{1,2}月$").all()


def test_emerging_table_lists_flagged_only(sample_run):
    emerging = sample_run.analyses["emerging_topics"]
    table = _view_trends.emerging_table(emerging, "en")
    assert len(table) == emerging["emerging"].astype(bool).sum()
    assert list(table.columns) == ["Topic", "Customers, latest period", "Share, latest period", "Share before", "Ratio"]


def test_format_period():
    assert _view_trends.format_period("2025-03-01", "month", "en") == "Mar 2025"
    assert _view_trends.format_period("2025-03-01", "month", "zh") == "2025年3月"
    assert _view_trends.format_period("2025-03-03", "week", "zh") == "2025年3月3日"


def test_missing_table_reasons():
    settings = {"period": "month", "segment_cols": []}
    with_outcome = {"outcomes": {"customers": 3}, "settings": settings}
    assert _view_trends.missing_trends_reason(with_outcome, "en") == tr("ui.no_trends_date", "en")
    assert _view_trends.missing_trends_reason({"outcomes": None, "settings": settings}, "zh") == tr(
        "ui.no_trends_outcome", "zh")
    assert _view_trends.missing_trends_reason({"outcomes": {"x": 1}, "settings": {"period": None}}, "en") == tr(
        "ui.no_trends_period", "en")
    assert _view_trends.missing_segments_reason(with_outcome, "zh") == tr("ui.no_segments_columns", "zh")


# --- PNG exports -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_png_exports(sample_run, language):
    curves = sample_run.analyses["survival_curves"]
    images = [
        _charts.forest_plot_png(sample_run.topic_outcomes, language),
        _charts.forest_plot_png(sample_run.topic_outcomes, language, estimate="adjusted", sort="size"),
        _charts.topic_sizes_png(sample_run.topics, language),
        _charts.km_plot_png(curves, int(curves[S.TOPIC_ID].iloc[0]), language),
        _charts.trend_png(sample_run.analyses["trends"], language),
    ]
    for image in images:
        assert image.startswith(PNG_MAGIC)
        assert len(image) > 5000


# --- the pages through AppTest -------------------------------------------------------------------


def _vega_charts(app) -> list[dict]:
    """Return the Vega-Lite spec of each Altair chart on the page."""
    charts = []
    for element in app.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        charts.append(spec)
    return charts


@pytest.mark.parametrize("language", ["en", "zh"])
def test_overview_page(sample_store, sample_run, language):
    app = run_page("page_overview", sample_store, language=language)
    status = app.dataframe[0].value
    rows_header = tr("ui.col_rows", language)

    assert not app.exception
    assert app.title[0].value == tr("ui.page_overview", language)
    assert [int(value.replace(",", "")) for value in status[rows_header]] == [
        sample_run.info["rows_by_status"][name] for name in S.STATUSES]
    assert sum(int(value.replace(",", "")) for value in status[rows_header]) == len(sample_run.documents)
    assert app.metric[0].value == f"{len(sample_run.documents):,}"
    assert app.metric[2].value == f"{sample_run.info['outcomes']['overall_rate']:.1%}"
    assert tr("ui.topic_map_caption", language) in [caption.value for caption in app.caption]
    assert len(_vega_charts(app)) == 2


def test_overview_old_run_shows_caption(tmp_path, sample_run):
    from painpoints.pipeline import RunResult

    old = RunResult(run_id="20240101-000000-aaaaaa", documents=sample_run.documents,
                    topics=sample_run.topics.drop(columns=["map_x", "map_y"]), outcomes=None,
                    info=dict(sample_run.info, run_id="20240101-000000-aaaaaa", created_at="2024-01-01T00:00:00+00:00"))
    store = tmp_path / "old.duckdb"
    save_run(old, store)
    app = run_page("page_overview", store, language="zh")

    assert not app.exception
    assert tr("ui.no_topic_map", "zh") in [caption.value for caption in app.caption]
    assert len(_vega_charts(app)) == 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_churn_page(sample_store, sample_run, language):
    app = run_page("page_churn", sample_store, language=language)
    headers = {"topic": tr("ui.col_topic_id", language), "customers": tr("ui.col_customers", language)}

    assert not app.exception
    assert app.title[0].value == tr("ui.page_churn", language)
    by_lift = _view_churn.sort_outcomes(sample_run.topic_outcomes, "lift")
    assert app.dataframe[0].value[headers["topic"]].tolist() == by_lift[S.TOPIC_ID].tolist()

    app.selectbox(key="churn_sort").set_value("size").run()
    table = app.dataframe[0].value
    assert table[headers["topic"]].tolist() == _view_churn.sort_outcomes(sample_run.topic_outcomes, "size")[
        S.TOPIC_ID].tolist()
    assert table[headers["customers"]].is_monotonic_decreasing

    app.radio(key="churn_estimate").set_value("adjusted").run()
    assert tr("ui.col_adjusted_odds_ratio", language) in app.dataframe[0].value.columns

    charts = _vega_charts(app)
    assert len(charts) == 2
    assert app.selectbox(key="km_topic").options
    findings = _view.churn_findings(sample_run.topic_outcomes, language)
    assert [element.value for element in app.markdown[1:1 + len(findings)]] == [
        "- " + _view.escape_markdown(sentence) for sentence in findings]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_verbatims_page_filters(sample_store, sample_run, language):
    topic = _largest_topic(sample_run)
    app = run_page("page_verbatims", sample_store, language=language)
    app.selectbox(key="topic").set_value(topic).run()
    in_topic = sample_run.documents[sample_run.documents[S.TOPIC_ID] == topic]

    assert not app.exception
    assert len(app.dataframe[0].value) == len(in_topic)

    app.radio(key="churned").set_value("yes").run()
    churned_rows = in_topic[in_topic[S.CHURNED].astype("boolean").fillna(False)]
    assert len(app.dataframe[0].value) == len(churned_rows) < len(in_topic)

    region = churned_rows["地区"].mode()[0]
    app.multiselect(key=f"segment_{sample_run.run_id}_地区").set_value([region]).run()
    assert len(app.dataframe[0].value) == (churned_rows["地区"] == region).sum()
    caption = tr("ui.rows_after_filters", language, shown=(churned_rows["地区"] == region).sum(), count=len(in_topic))
    assert caption in [element.value for element in app.caption]

    html = app.get("html")[0].proto.body
    assert html.count("<tr>") == 1 + min((churned_rows["地区"] == region).sum(), _view_verbatims.HIGHLIGHT_LIMIT)
    assert "<mark" in html


@pytest.mark.parametrize("language", ["en", "zh"])
def test_trends_page(sample_store, sample_run, language):
    app = run_page("page_trends", sample_store, language=language)
    charts = _vega_charts(app)

    assert not app.exception
    assert app.title[0].value == tr("ui.page_trends", language)
    assert len(charts) == 3
    emerging = sample_run.analyses["emerging_topics"]
    if emerging["emerging"].astype(bool).any():
        assert len(app.dataframe[0].value) == emerging["emerging"].astype(bool).sum()
    assert app.selectbox(key=f"heatmap_column_{sample_run.run_id}").options == list(SEGMENTS)


def test_pages_say_why_tables_are_missing(tmp_path, themed_csv, settings):
    store = tmp_path / "runs.duckdb"
    save_run(run_analysis(themed_csv, replace(settings, sentiment="lexicon"), embedder=HashingEmbedder()), store)
    trends = run_page("page_trends", store, language="zh")
    churn = run_page("page_churn", store, language="en")

    assert not trends.exception
    assert [element.value for element in trends.info] == [tr("ui.no_trends_date", "zh"),
                                                          tr("ui.no_segments_columns", "zh")]
    assert not churn.exception
    assert [element.value for element in churn.info] == [tr("ui.no_survival", "en")]
    assert len(_vega_charts(churn)) == 1

