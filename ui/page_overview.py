"""Overview page: row counts by status, topic sizes, the topic map and the churn baseline."""

from __future__ import annotations

from pathlib import Path

import _charts
import _view
import _view_overview
import streamlit as st

from painpoints.i18n import tr
from painpoints.store import StoredRun


def render(store: Path, language: str, run: StoredRun | None) -> None:
    """Draw the page for ``run``, or the no-runs message when ``run`` is None."""
    st.title(tr("ui.page_overview", language))
    if run is None:
        st.info(_view.no_runs_message(store, language))
        return
    st.markdown(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))
    st.caption(_view.escape_markdown(_view.status_line(run.info, language)))
    notice = _view.row_unit_notice(run.info, language)
    if notice:
        st.info(_view.escape_markdown(notice))

    counts = _view_overview.status_counts(run.documents, language)
    sizes = _view_overview.topic_sizes(run.topics, language)
    rows, topics, baseline = st.columns(3)
    rows.metric(tr("ui.metric_rows", language), _view.format_count(len(run.documents)))
    topics.metric(tr("ui.metric_topics", language), _view.format_count(len(sizes)))
    outcomes = run.info.get("outcomes") or {}
    baseline.metric(tr("ui.metric_baseline", language), _view.format_percent(outcomes.get("overall_rate")))

    sentence = _view_overview.churn_baseline(run.info, language)
    if sentence is None:
        st.info(tr("ui.no_outcome", language))
    else:
        st.markdown(_view.escape_markdown(sentence))

    st.subheader(tr("ui.status_heading", language))
    st.dataframe(_view_overview.status_table(counts, language), hide_index=True)
    st.caption(tr("ui.status_total", language, rows=_view.format_count(int(counts["rows"].sum()))))

    st.subheader(tr("ui.topic_sizes", language))
    if sizes.empty:
        st.info(tr("ui.no_topics", language))
    else:
        st.altair_chart(_charts.topic_sizes_chart(sizes, language), width="stretch")

    st.subheader(tr("ui.topic_map", language))
    points = _view_overview.topic_map_points(run.topics, run.topic_outcomes, language)
    if points is None:
        st.caption(tr("ui.no_topics", language) if sizes.empty else tr("ui.no_topic_map", language))
    else:
        st.caption(tr("ui.topic_map_caption", language))
        st.altair_chart(_charts.topic_map_chart(points, language), width="stretch")
