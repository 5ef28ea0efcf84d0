"""painpoints viewer: one run's topic-vs-churn table, key findings and verbatims.

Start it with ``painpoints ui`` or ``streamlit run ui/app.py -- --store PATH``.
The run store is ``--store PATH`` after ``--``, else the ``PAINPOINTS_STORE``
environment variable, else ``painpoints.settings.default_store_path()``.
Streamlit's AppTest runs the script with the test process's ``sys.argv``, so the
tests pass the store through ``PAINPOINTS_STORE``.

Everything except the Streamlit calls lives in ``_view.py``.
"""

from __future__ import annotations

import os
import sys

import streamlit as st

import _upload
import _view
from painpoints import schema as S
from painpoints.errors import PainpointsError, StoreError
from painpoints.i18n import detect_language, tr
from painpoints.store import StoredRun, load_run


# A saved run never changes, so its tables are cached by store and run id.
@st.cache_data(show_spinner=False, max_entries=4)
def _load_run(store: str, run_id: str) -> StoredRun:
    return load_run(store, run_id)


if "language" not in st.session_state:
    st.session_state["language"] = detect_language()
language = st.session_state["language"]

st.set_page_config(page_title=tr("ui.title", language), layout="wide")

store = _view.resolve_store_path(sys.argv[1:], os.environ)

with st.sidebar:
    language = st.radio(tr("ui.language", language), options=list(_view.LANGUAGE_NAMES),
                        format_func=_view.LANGUAGE_NAMES.get, key="language", horizontal=True)

st.title(tr("ui.title", language))

with st.expander(tr("ui.new_analysis", language), expanded=False):
    st.caption(tr("ingest.upload_limit", language, limit=_upload.upload_limit_mb()))
    uploaded = st.file_uploader(tr("ui.upload_file", language), type=list(_upload.UPLOAD_TYPES), key="upload")
    outcome_column = st.text_input(tr("ui.outcome_column", language), key="upload_outcome")
    event_value = st.text_input(tr("ui.event_value", language), key="upload_event")
    embedding = st.selectbox(tr("ui.embedding", language), options=_upload.embedding_choices(), key="upload_model")
    if st.button(tr("ui.analyse", language), disabled=uploaded is None, key="upload_run"):
        bar = st.progress(0.0)

        def show_progress(stage: str, done: int, total: int) -> None:
            share = done / total if total else 0.0
            bar.progress(min(share, 1.0), text=tr(f"cli.stage_{stage}", language))

        try:
            new_run = _upload.analyse_upload(
                uploaded.getvalue(), uploaded.name, store, outcome_column=outcome_column,
                event_value=event_value, embedding=embedding, progress=show_progress,
            )
        except PainpointsError as error:
            st.error(error.message(language))
        else:
            st.session_state["run"] = new_run
            st.success(tr("ui.analysis_saved", language, run_id=new_run))
            st.rerun()

try:
    runs = _view.read_run_list(store)
except StoreError as error:
    if error.key == "store.not_found":
        st.info(_view.no_runs_message(store, language))
    else:
        st.error(_view.store_error_message(error, language))
    st.stop()
if runs.empty:
    st.info(_view.no_runs_message(store, language))
    st.stop()

run_labels = {row.run_id: f"{row.run_id} · {os.path.basename(row.input_path)}" for row in runs.itertuples()}
with st.sidebar:
    run_id = st.selectbox(tr("ui.run", language), options=list(run_labels), format_func=run_labels.get, key="run")

try:
    run = _load_run(str(store), run_id)
except StoreError as error:
    st.error(_view.store_error_message(error, language))
    st.stop()

st.markdown(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))
st.caption(_view.escape_markdown(_view.status_line(run.info, language)))

st.subheader(tr("ui.outcome_table", language))
if run.topic_outcomes.empty:
    st.info(tr("ui.no_outcome", language))
else:
    table = _view.outcome_table_frame(run.topic_outcomes, language)
    st.dataframe(table.style.format(_view.outcome_table_formats(language)), hide_index=True)

    notes = _view.outcome_notes(run.info, language)
    if notes:
        with st.expander(tr("ui.outcome_notes", language, count=len(notes)), expanded=False):
            for note in notes:
                st.markdown("- " + _view.escape_markdown(note))

    st.subheader(tr("ui.findings", language))
    findings = _view.churn_findings(run.topic_outcomes, language)
    for sentence in findings:
        st.markdown("- " + _view.escape_markdown(sentence))
    if not findings:
        st.caption(tr("ui.no_findings", language))

st.subheader(tr("ui.verbatims", language))
choices = _view.topic_choices(run.topics, language)
topic_id = st.selectbox(tr("ui.choose_topic", language), options=list(choices), format_func=choices.get, key="topic")
query = st.text_input(tr("ui.search", language), key="search")
sentiments = _view.sentiment_choices(language)
sentiment = st.radio(tr("ui.sentiment_filter", language), options=list(sentiments), format_func=sentiments.get,
                     key="sentiment", horizontal=True)

rows = _view.topic_rows(run.documents, topic_id)
matches = _view.search_rows(_view.filter_by_sentiment(rows, sentiment), query)
st.caption(_view.escape_markdown(_view.rows_caption(len(rows), len(matches), query, language, sentiment)))
headers = _view.verbatim_headers(language)
displayed = matches.assign(**{S.SENTIMENT_LABEL: matches[S.SENTIMENT_LABEL].map(sentiments).fillna("")})
st.dataframe(
    displayed.rename(columns=headers),
    hide_index=True,
    column_config={headers[S.DATE]: st.column_config.DateColumn(format="YYYY-MM-DD"),
                   headers[S.SENTIMENT]: st.column_config.NumberColumn(format="%+.2f")},
)
