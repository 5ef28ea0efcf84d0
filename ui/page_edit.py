"""Edit topics page: rename, merge, split and move rows; the edit history; the codebook;
what changed since an earlier run. Streamlit calls only; the logic is in ``_edit.py``.
"""

from __future__ import annotations

from pathlib import Path

import _edit
import _view
import streamlit as st
from page_upload import language_key

from painpoints import schema as S
from painpoints.errors import PainpointsError, StoreError
from painpoints.i18n import UI_LANGUAGES, tr
from painpoints.store import StoredRun, list_runs, load_codebook

_DONE_KEY = "edit_done"
# Rows listed in the move select; in a larger topic, search narrows the list.
_MOVE_CHOICES = 500


# Inputs emptied after a saved edit: they may name topics or rows that changed.
_CLEARED_AFTER_EDIT = ("edit_rename_label", "edit_merge_label", "edit_move_rows", "edit_move_search",
                       *(f"{name}_{language}" for name in ("edit_merge_topics",) for language in UI_LANGUAGES))


def _after_edit(message: str) -> None:
    st.cache_data.clear()
    st.session_state[_DONE_KEY] = message
    st.rerun()


def _rename(store: Path, run, topics: dict[int, str], language: str) -> None:
    topic = st.selectbox(tr("ui.choose_topic", language), options=list(topics), format_func=topics.get,
                         key=language_key("edit_rename_topic", language))
    label = st.text_input(tr("ui.new_label", language), key="edit_rename_label")
    if st.button(tr("ui.edit_rename", language), key="edit_rename", disabled=not label.strip()):
        count = _edit.rename(store, run, topic, label, language)
        _after_edit(tr("ui.edit_saved", language, count=count))


def _merge(store: Path, run, topics: dict[int, str], language: str) -> None:
    chosen = st.multiselect(tr("ui.merge_topics", language), options=list(topics), format_func=topics.get,
                            placeholder=tr("ui.choose_options", language),
                            key=language_key("edit_merge_topics", language), help=tr("ui.merge_help", language))
    label = st.text_input(tr("ui.merged_label", language), key="edit_merge_label")
    if st.button(tr("ui.edit_merge", language), key="edit_merge", disabled=len(chosen) < 2):
        count = _edit.merge(store, run, chosen, label.strip() or None, language)
        _after_edit(tr("ui.edit_saved", language, count=count))


def _split(store: Path, run, topics: dict[int, str], language: str) -> None:
    topic = st.selectbox(tr("ui.choose_topic", language), options=list(topics), format_func=topics.get,
                         key=language_key("edit_split_topic", language))
    parts = st.number_input(tr("ui.split_parts", language), min_value=2, max_value=10, value=2, step=1,
                            key="edit_split_parts")
    st.caption(tr("ui.split_help", language))
    if st.button(tr("ui.edit_split", language), key="edit_split"):
        with st.spinner(tr("ui.split_running", language)):
            count = _edit.split(store, run, topic, int(parts), language)
        _after_edit(tr("ui.edit_saved", language, count=count))


def _move(store: Path, run, topics: dict[int, str], language: str) -> None:
    sources = {S.UNCLUSTERED: f"{S.UNCLUSTERED}: {tr('topics.unclustered_label', language)}", **topics}
    source = st.selectbox(tr("ui.move_from", language), options=list(sources), format_func=sources.get,
                          key=language_key("edit_move_from", language))
    query = st.text_input(tr("ui.search", language), key="edit_move_search")
    choices = _edit.row_choices(run.documents, source, query, _MOVE_CHOICES)
    picked = st.multiselect(tr("ui.move_rows", language), options=list(choices), format_func=choices.get,
                            placeholder=tr("ui.choose_options", language),
                            key="edit_move_rows", help=tr("ui.move_help", language))
    target = st.selectbox(tr("ui.move_to", language), options=[key for key in sources if key != source],
                          format_func=sources.get, key=language_key("edit_move_to", language))
    if st.button(tr("ui.edit_move", language), key="edit_move", disabled=not picked):
        count = _edit.move(store, run, picked, target, language)
        _after_edit(tr("ui.edit_saved", language, count=count))


# A radio rather than st.tabs: tabs go back to the first one when a rerun changes the elements above them.
_ACTIONS = {"rename": _rename, "merge": _merge, "split": _split, "move": _move}


def _edit_actions(store: Path, run, language: str) -> None:
    topics = _edit.editable_topics(run.topics, language)
    if not topics:
        st.info(tr("ui.edit_no_topics", language))
        return
    action = st.radio(tr("ui.edit_action", language), options=list(_ACTIONS),
                      format_func=lambda name: tr(f"ui.edit_{name}", language),
                      key=language_key("edit_action", language), horizontal=True)
    try:
        _ACTIONS[action](store, run, topics, language)
    except (ValueError, PainpointsError) as error:
        detail = error.message(language) if isinstance(error, PainpointsError) else str(error)
        st.error(tr("ui.edit_failed", language, detail=detail))


def render(store: Path, language: str, run) -> None:
    """Draw the Edit topics page."""
    st.title(tr("ui.page_edit", language))
    if run is None:
        st.info(_view.no_runs_message(store, language))
        return
    done = st.session_state.pop(_DONE_KEY, None)
    if done:
        st.success(done)
        for key in _CLEARED_AFTER_EDIT:
            st.session_state.pop(key, None)
    st.caption(_view.escape_markdown(_view.run_summary(run.run_id, run.info, language)))

    table = run.topics[[S.TOPIC_ID, "label", "rows", "share", "keywords"]].rename(columns={
        S.TOPIC_ID: tr("ui.col_topic_id", language), "label": tr("ui.col_label", language),
        "rows": tr("ui.col_rows", language), "share": tr("ui.col_share", language),
        "keywords": tr("ui.col_keywords", language)})
    st.dataframe(table, hide_index=True,
                 column_config={tr("ui.col_share", language): st.column_config.NumberColumn(format="percent")})
    _edit_actions(store, run, language)

    st.subheader(tr("ui.edit_history", language))
    history = _edit.edit_history(store, run.run_id, language)
    if history.empty:
        st.caption(tr("ui.no_edits", language))
    else:
        st.dataframe(history, hide_index=True)

    st.subheader(tr("ui.codebook", language))
    st.markdown(tr("ui.codebook_help", language))
    try:
        book = load_codebook(store, run.run_id)
    except StoreError:
        st.caption(tr("ui.codebook_none", language))
    else:
        st.caption(tr("ui.codebook_saved", language, topics=len(book.topics), model=book.model_id))
    if st.button(tr("ui.save_codebook", language), key="edit_save_codebook"):
        try:
            with st.spinner(tr("ui.codebook_building", language)):
                book = _edit.save_run_codebook(store, run)
        except (ValueError, PainpointsError) as error:
            detail = error.message(language) if isinstance(error, PainpointsError) else str(error)
            st.error(tr("ui.edit_failed", language, detail=detail))
        else:
            _after_edit(tr("ui.codebook_saved", language, topics=len(book.topics), model=book.model_id))

    st.subheader(tr("ui.what_changed", language))
    runs = list_runs(store)
    others = _view.comparable_runs(runs, run.run_id)
    if not others:
        st.caption(tr("ui.no_earlier_run", language))
        return
    labels = _view.run_labels(runs)
    earlier = st.selectbox(tr("ui.earlier_run", language), options=others, format_func=labels.get,
                           key="edit_compare_run")
    show_drift(store, run, earlier, language)


def show_drift(store: Path, run: StoredRun, earlier_run_id: str, language: str) -> None:
    """Draw what changed from the run ``earlier_run_id`` to `run`: counts by change, then the topic table."""
    st.caption(tr("ui.drift_help", language))
    report = _edit.drift_report(store, run, earlier_run_id)
    counts = _edit.change_counts(report)
    for cell, change in zip(st.columns(len(counts)), counts):
        cell.metric(tr(f"ui.change_{change}", language), _view.format_count(counts[change]))
    share_columns = [tr("ui.col_share_before", language), tr("ui.col_share_after", language)]
    st.dataframe(_edit.drift_table(report, language), hide_index=True,
                 column_config={column: st.column_config.NumberColumn(format="percent") for column in share_columns})
