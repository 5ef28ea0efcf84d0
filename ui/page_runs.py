"""Runs & export page: list, open, delete and compare runs; download tables and charts.

Streamlit calls only; the logic is in ``_export.py`` and ``_edit.py``. The drift view
comes from ``page_edit.show_drift``, which the Edit topics page draws too.
"""

from __future__ import annotations

from pathlib import Path

import _export
import _view
import streamlit as st
from page_edit import show_drift

from painpoints.errors import StoreError
from painpoints.i18n import tr
from painpoints.store import delete_run, list_runs, load_run

_PENDING_DELETE = "runs_pending_delete"
_DONE_KEY = "runs_done"


def _open_run(run_id: str) -> None:
    """Show ``run_id`` on the other pages after the rerun (``app.py`` moves ``"open_run"`` to ``"run"``)."""
    st.cache_data.clear()
    st.session_state["open_run"] = run_id


@st.cache_data(show_spinner=False, max_entries=4)
def _load(store: str, run_id: str):
    return load_run(store, run_id)


def _delete_section(store: Path, run_ids: list[str], language: str) -> None:
    st.subheader(tr("ui.delete_run", language))
    pending = st.session_state.get(_PENDING_DELETE)
    if pending in run_ids:
        st.warning(tr("ui.delete_confirm", language, run_id=pending))
        confirm, cancel = st.columns(2)
        if confirm.button(tr("ui.delete_yes", language), type="primary", key="runs_delete_confirm"):
            delete_run(store, pending)
            st.session_state.pop(_PENDING_DELETE, None)
            st.session_state[_DONE_KEY] = tr("ui.run_deleted", language, run_id=pending)
            st.cache_data.clear()
            st.session_state.pop("open_run", None)
            st.rerun()
        if cancel.button(tr("ui.delete_cancel", language), key="runs_delete_cancel"):
            st.session_state.pop(_PENDING_DELETE, None)
            st.rerun()
        return
    target = st.selectbox(tr("ui.run", language), options=run_ids, key="runs_delete_select")
    if st.button(tr("ui.delete_run", language), key="runs_delete"):
        st.session_state[_PENDING_DELETE] = target
        st.rerun()


def _compare_section(store: Path, run_ids: list[str], language: str) -> None:
    st.subheader(tr("ui.compare_runs", language))
    if len(run_ids) < 2:
        st.caption(tr("ui.compare_needs_two", language))
        return
    left, right = st.columns(2)
    # The earlier run starts on the latest other run of the newest run's file.
    first_other = _view.comparable_runs(list_runs(store), run_ids[0])[0]
    earlier = left.selectbox(tr("ui.compare_earlier", language), options=run_ids, index=run_ids.index(first_other),
                             key="runs_compare_a")
    later = right.selectbox(tr("ui.compare_later", language), options=run_ids, index=0, key="runs_compare_b")
    if earlier == later:
        st.caption(tr("ui.compare_same", language))
        return
    later_run = _load(str(store), later)
    show_drift(store, later_run, earlier, language)
    st.markdown("**" + tr("ui.compare_outcomes", language) + "**")
    table = _export.compare_outcomes(_load(str(store), earlier), later_run, language)
    rates = [column for column in table.columns if column.startswith(tr("ui.col_churn_rate", language))]
    lifts = [column for column in table.columns if column.startswith(tr("ui.col_lift", language))]
    st.dataframe(table, hide_index=True, column_config={
        **{column: st.column_config.NumberColumn(format="percent") for column in rates},
        **{column: st.column_config.NumberColumn(format="%.2f") for column in lifts}})


def _download_section(run, language: str) -> None:
    st.subheader(tr("ui.downloads", language, run_id=run.run_id))
    st.caption(tr("ui.downloads_help", language))
    files = _export.table_downloads(run) + _export.chart_downloads(run, language)
    cells = st.columns(4)
    for index, download in enumerate(files):
        cells[index % 4].download_button(
            tr(f"ui.download_{download.kind}", language), data=download.make, file_name=download.filename,
            mime=download.mime, key=f"runs_download_{download.kind}", on_click="ignore")


def render(store: Path, language: str, run) -> None:
    """Draw the Runs & export page."""
    st.title(tr("ui.page_runs", language))
    done = st.session_state.pop(_DONE_KEY, None)
    if done:
        st.success(done)
    try:
        table = _export.run_list(store, language)
    except StoreError:
        st.info(_view.no_runs_message(store, language))
        return
    if table.empty:
        st.info(_view.no_runs_message(store, language))
        return
    st.dataframe(table, hide_index=True)
    run_ids = list(list_runs(store)["run_id"])

    st.subheader(tr("ui.open_run", language))
    chosen = st.selectbox(tr("ui.run", language), options=run_ids, key="runs_open_select",
                          index=run_ids.index(run.run_id) if run is not None and run.run_id in run_ids else 0)
    if st.button(tr("ui.open_run", language), key="runs_open"):
        _open_run(chosen)
        st.rerun()

    if run is not None:
        _download_section(run, language)
    _compare_section(store, run_ids, language)
    _delete_section(store, run_ids, language)
