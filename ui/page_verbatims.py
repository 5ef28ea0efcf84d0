"""Verbatims page: the feedback rows of one topic, with search, filters and highlighted keywords."""

from __future__ import annotations

from pathlib import Path

import _view
import _view_verbatims
import streamlit as st

from painpoints import schema as S
from painpoints.i18n import tr
from painpoints.store import StoredRun


def render(store: Path, language: str, run: StoredRun | None) -> None:
    """Draw the page for ``run``, or the no-runs message when ``run`` is None."""
    st.title(tr("ui.page_verbatims", language))
    if run is None:
        st.info(_view.no_runs_message(store, language))
        return
    st.markdown(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))

    choices = _view.topic_choices(run.topics, language)
    topic_id = st.selectbox(tr("ui.choose_topic", language), options=list(choices), format_func=choices.get,
                            key="topic")
    search_box, order_box = st.columns([3, 2])
    query = search_box.text_input(tr("ui.search", language), key="search")
    orders = _view_verbatims.order_choices(language, run.memberships, run.documents)
    order = order_box.selectbox(tr("ui.verbatim_order", language), options=list(orders), format_func=orders.get,
                                key="verbatim_order")
    sentiments = _view.sentiment_choices(language)
    churn_states = _view_verbatims.churned_choices(language)
    left, right = st.columns(2)
    sentiment = left.radio(tr("ui.sentiment_filter", language), options=list(sentiments), format_func=sentiments.get,
                           key="sentiment", horizontal=True)
    churned = "all"
    # Without an outcome column every row's churn is unknown, so the filter would only empty the list.
    if run.documents[S.CHURNED].notna().any():
        churned = right.radio(tr("ui.churned_filter", language), options=list(churn_states),
                              format_func=churn_states.get, key="churned", horizontal=True)

    segment_columns = _view_verbatims.segment_columns(run.documents, run.info)
    rows = _view_verbatims.topic_rows_with(run.documents, topic_id, segment_columns, order=order,
                                           memberships=run.memberships)
    bounds = _view_verbatims.date_bounds(run.documents)
    date_range = None
    if bounds is not None:
        chosen = st.date_input(tr("ui.date_range", language), value=bounds, min_value=bounds[0],
                               max_value=bounds[1], key=f"date_range_{run.run_id}")
        # While the user picks the second date, the widget returns only the first one.
        if isinstance(chosen, tuple) and len(chosen) == 2 and tuple(chosen) != bounds:
            date_range = (chosen[0], chosen[1])
    segments = {}
    if segment_columns:
        for column, box in zip(segment_columns, st.columns(len(segment_columns))):
            segments[column] = box.multiselect(tr("ui.segment_filter", language, column=column),
                                               options=_view_verbatims.segment_values(run.documents, column),
                                               placeholder=tr("ui.segment_all", language),
                                               key=f"segment_{run.run_id}_{column}")

    filtered = _view_verbatims.filter_rows(rows, date_range=date_range, segments=segments, churned=churned)
    matches = _view.search_rows(_view.filter_by_sentiment(filtered, sentiment), query)
    st.caption(_view.escape_markdown(_view.rows_caption(len(rows), len(matches), query, language, sentiment)))
    if len(filtered) < len(rows):
        st.caption(tr("ui.rows_after_filters", language, shown=_view.format_count(len(matches)),
                      count=_view.format_count(len(rows))))

    keywords = _view_verbatims.topic_keywords(run.topics, topic_id)
    st.caption(tr("ui.highlight_caption", language))
    if len(matches) > _view_verbatims.HIGHLIGHT_LIMIT:
        st.caption(tr("ui.highlight_limit", language, shown=_view.format_count(_view_verbatims.HIGHLIGHT_LIMIT),
                      count=_view.format_count(len(matches))))
    st.html(_view_verbatims.highlighted_table(matches, keywords, query, language))

    with st.expander(tr("ui.all_rows_table", language), expanded=False):
        headers = _view.verbatim_headers(language)
        displayed = matches.assign(**{S.SENTIMENT_LABEL: matches[S.SENTIMENT_LABEL].map(sentiments).fillna("")})
        st.dataframe(
            displayed.rename(columns=headers),
            hide_index=True,
            column_config={headers[S.DATE]: st.column_config.DateColumn(format="YYYY-MM-DD"),
                           headers[S.SENTIMENT]: st.column_config.NumberColumn(format="%+.2f")},
        )
