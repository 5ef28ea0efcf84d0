"""Topic vs churn page: outcome table, forest plot, Kaplan–Meier curves and key findings."""

from __future__ import annotations

from pathlib import Path

import _charts
import _view
import _view_churn
import streamlit as st

from painpoints.i18n import tr
from painpoints.store import StoredRun


def render(store: Path, language: str, run: StoredRun | None) -> None:
    """Draw the page for ``run``, or the no-runs message when ``run`` is None."""
    st.title(tr("ui.page_churn", language))
    if run is None:
        st.info(_view.no_runs_message(store, language))
        return
    st.markdown(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))

    if run.topic_outcomes.empty:
        st.info(tr("ui.no_outcome", language))
        return
    notice = _view.row_unit_notice(run.info, language)
    if notice:
        st.info(_view.escape_markdown(notice))

    st.subheader(tr("ui.findings", language))
    findings = _view.churn_findings(run.topic_outcomes, language)
    for sentence in findings:
        st.markdown("- " + _view.escape_markdown(sentence))
    if not findings:
        st.caption(tr("ui.no_findings", language))

    sorts = _view_churn.sort_choices(language)
    estimates = _view_churn.estimate_choices(run.topic_outcomes, run.info, language)
    left, right = st.columns(2)
    sort = left.selectbox(tr("ui.sort_by", language), options=list(sorts), format_func=sorts.get, key="churn_sort")
    estimate = right.radio(tr("ui.estimate", language), options=list(estimates), format_func=estimates.get,
                           key="churn_estimate", horizontal=True)
    ordered = _view_churn.sort_outcomes(run.topic_outcomes, sort)

    st.subheader(tr("ui.outcome_table_heading", language))
    table = _view.outcome_table_frame(ordered, language, sort=False)
    if estimate == "adjusted":
        table = _view_churn.with_adjusted_column(table, ordered, language)
    st.dataframe(table.style.format(_view.outcome_table_formats(language)), hide_index=True)
    several = _view.rows_with_several_topics(run.memberships)
    if several:
        st.caption(tr("ui.memberships_caption", language, rows=_view.format_count(several)))

    notes = _view.outcome_notes(run.info, language)
    if notes:
        with st.expander(tr("ui.outcome_notes", language, count=len(notes)), expanded=False):
            for note in notes:
                st.markdown("- " + _view.escape_markdown(note))

    st.subheader(tr("ui.forest_heading", language))
    st.caption(tr("ui.forest_caption", language))
    forest = _view_churn.forest_rows(ordered, language, estimate)
    st.altair_chart(_charts.forest_chart(forest, language, estimates[estimate], estimate), width="stretch")
    if len(forest) < len(ordered):
        st.caption(tr("ui.forest_left_out", language, count=len(ordered) - len(forest)))

    st.subheader(tr("ui.km_heading", language))
    edited = _view.edited_analyses_notice(store, run.run_id, language)
    if edited:
        st.warning(edited)
    curves = run.analyses.get("survival_curves")
    choices = _view_churn.survival_topics(curves, ordered, language)
    if not choices:
        st.info(tr("ui.no_survival", language))
        return
    topic_id = st.selectbox(tr("ui.km_choose_topic", language), options=list(choices), format_func=choices.get,
                            key="km_topic")
    curve = _view_churn.km_curve(curves, topic_id, language)
    st.altair_chart(_charts.km_chart(curve, language, _view_churn.km_time_title(run.info, language)),
                    width="stretch")
