"""Trends & segments page: topic share and churn per period, emerging topics, topic-by-segment heatmap."""

from __future__ import annotations

from pathlib import Path

import _charts
import _view
import _view_trends
import streamlit as st

from painpoints.i18n import tr
from painpoints.store import StoredRun


def render(store: Path, language: str, run: StoredRun | None) -> None:
    """Draw the page for ``run``, or the no-runs message when ``run`` is None."""
    st.title(tr("ui.page_trends", language))
    if run is None:
        st.info(_view.no_runs_message(store, language))
        return
    st.markdown(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))
    edited = _view.edited_analyses_notice(store, run.run_id, language)
    if edited:
        st.warning(edited)
    _trends(run, language)
    _segments(run, language)


def _trends(run: StoredRun, language: str) -> None:
    st.subheader(tr("ui.trends_heading", language))
    trends = run.analyses.get("trends")
    if trends is None or trends.empty:
        st.info(_view_trends.missing_trends_reason(run.info, language))
        return
    period = (run.info.get("settings") or {}).get("period") or "month"
    choices = _view_trends.trend_topic_choices(trends, language)
    chosen = st.multiselect(tr("ui.trend_topics", language), options=list(choices), format_func=choices.get,
                            default=_view_trends.default_trend_topics(choices), key=f"trend_topics_{run.run_id}",
                            placeholder=tr("ui.choose_options", language))
    points = _view_trends.trend_points(trends, chosen, period, language)
    st.altair_chart(_charts.trend_chart(points, "share", language, period), width="stretch")
    st.subheader(tr("ui.churn_by_period", language))
    st.altair_chart(_charts.trend_chart(points, "churn_rate", language, period), width="stretch")

    st.subheader(tr("ui.emerging_heading", language))
    latest = _view_trends.format_period(trends["period"].max(), period, language)
    emerging = run.analyses.get("emerging_topics")
    table = _view_trends.emerging_table(emerging, language) if emerging is not None else None
    if table is None or table.empty:
        st.caption(tr("ui.no_emerging", language, period=latest))
    else:
        st.caption(tr("ui.emerging_caption", language, period=latest))
        st.dataframe(table, hide_index=True)


def _segments(run: StoredRun, language: str) -> None:
    st.subheader(tr("ui.heatmap_heading", language))
    segments = run.analyses.get("segments")
    columns = _view_trends.segment_column_choices(segments)
    if not columns:
        st.info(_view_trends.missing_segments_reason(run.info, language))
        return
    measures = _view_trends.heatmap_measures(language)
    left, right = st.columns(2)
    column = left.selectbox(tr("ui.heatmap_column", language), options=columns, key=f"heatmap_column_{run.run_id}")
    measure = right.radio(tr("ui.heatmap_measure", language), options=list(measures), format_func=measures.get,
                          key="heatmap_measure", horizontal=True)
    st.caption(tr("ui.heatmap_caption", language))
    cells = _view_trends.heatmap_cells(segments, column, measure, language)
    st.altair_chart(_charts.heatmap_chart(cells, language, measures[measure]), width="stretch")
