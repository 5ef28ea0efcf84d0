"""Upload & run page: check a file and its column mapping, choose the settings, run and save.

Streamlit calls only; the logic is in ``_upload.py``. A press of the Stop button
during a run makes Streamlit interrupt this script at its next call (the progress
bar update), before the run is saved, so the store keeps only the earlier runs.
"""

from __future__ import annotations

from pathlib import Path

import _upload
import _view
import streamlit as st

from painpoints.errors import PainpointsError
from painpoints.i18n import UI_LANGUAGES, tr
from painpoints.settings import LANGUAGE_OPTIONS, SCORE_KIND_OPTIONS, ColumnMapping

# Session keys: the uploaded file the mapping selects were filled for, and a run in progress.
_FILE_KEY = "upload_file_token"
_RUNNING_KEY = "upload_running"
_SAVED_KEY = "upload_saved"


# cache_resource, not cache_data: the result may contain a PainpointsError, which does
# not survive pickling (its constructor takes a catalogue key, not the message).
@st.cache_resource(show_spinner=False, max_entries=4)
def _inspect(data: bytes, filename: str, chosen: tuple, event_value: str, redact: bool) -> _upload.UploadCheck:
    return _upload.inspect_upload(data, filename, ColumnMapping(*chosen), event_value or None, redact)


def _open_run(run_id: str) -> None:
    """Show ``run_id`` on the other pages after the rerun.

    The sidebar's run select owns the session key ``"run"`` and is drawn before this
    page, so the run id goes to ``"open_run"``, which ``app.py`` moves to ``"run"``
    before it draws the select.
    """
    st.cache_data.clear()
    st.session_state["open_run"] = run_id


def language_key(name: str, language: str) -> str:
    """Return the key of a widget whose option labels are translated: one key per language.

    After a language switch, Streamlit's frontend (1.67) keeps showing the old label
    of the selected option, so each language gets its own widget. A new one starts
    from the value chosen in the other language.
    """
    key = f"{name}_{language}"
    if key not in st.session_state:
        for other in UI_LANGUAGES:
            previous = f"{name}_{other}"
            if previous != key and previous in st.session_state:
                st.session_state[key] = st.session_state[previous]
                break
    return key


def _forget(name: str) -> None:
    for other in UI_LANGUAGES:
        st.session_state.pop(f"{name}_{other}", None)


def _mapping_selects(check: _upload.UploadCheck, language: str) -> dict[str, str | None]:
    auto = tr("ui.column_auto", language)
    chosen: dict[str, str | None] = {}
    cells = st.columns(3)
    for index, role in enumerate(_upload.MAPPING_ROLES):
        options = check.columns if role == "text" else ["", *check.columns]
        detected = getattr(check.mapping, role) or ""
        key = language_key(f"upload_map_{role}", language)
        # A default index next to a value set through the session state makes Streamlit warn.
        default = {}
        if key not in st.session_state:
            default["index"] = options.index(detected) if detected in options else 0
        with cells[index % 3]:
            chosen[role] = st.selectbox(tr(f"ui.role_{role}", language), options=options,
                                        format_func=lambda column: column or auto, key=key, **default) or None
    return chosen


def render(store: Path, language: str, run) -> None:
    """Draw the Upload & run page."""
    st.title(tr("ui.page_upload", language))
    if st.session_state.pop(_RUNNING_KEY, False):
        st.warning(tr("ui.run_stopped", language))
    saved = st.session_state.pop(_SAVED_KEY, None)
    if saved:
        st.toast(tr("ui.analysis_saved", language, run_id=saved))

    st.caption(tr("ingest.upload_limit", language, limit=_upload.upload_limit_mb()))
    uploaded = st.file_uploader(tr("ui.upload_file", language), type=list(_upload.UPLOAD_TYPES), key="upload")
    customers_file = st.file_uploader(tr("ui.upload_customers", language), type=list(_upload.UPLOAD_TYPES),
                                      key="upload_customers", help=tr("ui.upload_customers_help", language))
    if uploaded is None:
        st.info(tr("ui.upload_first", language))
        return

    data = uploaded.getvalue()
    token = f"{uploaded.name}:{len(data)}:{hash(data)}"
    if st.session_state.get(_FILE_KEY) != token:
        # A new file: let the mapping selects start from what painpoints detects in it.
        for role in _upload.MAPPING_ROLES:
            _forget(f"upload_map_{role}")
        _forget("upload_event")
        st.session_state[_FILE_KEY] = token

    redact = st.session_state.get("upload_redact", True)
    chosen_now = tuple(st.session_state.get(language_key(f"upload_map_{role}", language)) or None
                       for role in _upload.MAPPING_ROLES)
    event_now = st.session_state.get(language_key("upload_event", language)) or ""
    try:
        check = _inspect(data, uploaded.name, chosen_now, event_now, redact)
    except PainpointsError as error:
        st.error(error.message(language))
        return

    st.subheader(tr("ui.preview", language))
    st.caption(tr("ui.file_facts", language, rows=_view.format_count(check.rows), columns=len(check.columns),
                  format=check.file_format.upper(), encoding=check.encoding or "–"))
    st.dataframe(check.preview, hide_index=True)

    st.subheader(tr("ui.mapping", language))
    st.caption(tr("ui.mapping_help", language))
    mapping = _mapping_selects(check, language)
    if mapping["outcome"]:
        if check.outcome_values:
            auto = tr("ui.event_auto", language)
            event_value = st.selectbox(tr("ui.event_value", language), options=["", *check.outcome_values],
                                       format_func=lambda value: value or auto, key=language_key("upload_event", language),
                                       help=tr("ui.event_value_help", language))
        else:
            event_value = st.text_input(tr("ui.event_value", language), key=language_key("upload_event", language),
                                        help=tr("ui.event_value_help", language))
    else:
        event_value = None

    customer_columns: list[str] = []
    customers = None
    if customers_file is not None:
        customers = (customers_file.getvalue(), customers_file.name)
        try:
            customer_columns, customer_mapping, customer_rows = _upload.inspect_customers(*customers, event_value)
        except PainpointsError as error:
            st.error(error.message(language))
            return
        st.caption(tr("ui.customers_found", language, rows=_view.format_count(customer_rows),
                      customer_id=customer_mapping.customer_id, outcome=customer_mapping.outcome or "–",
                      value=customer_mapping.value or "–"))

    st.subheader(tr("ui.problems", language))
    if check.error is not None:
        st.error(check.error.message(language))
    if check.unknown_values:
        listed = ", ".join(f"{value} ({count})" for value, count in list(check.unknown_values.items())[:10])
        st.warning(tr("ui.unknown_outcome_values", language, values=listed, column=mapping["outcome"]))
    if check.repaired_quotes:
        rows = ", ".join(map(str, check.repaired_quotes[:10])) + (", …" if len(check.repaired_quotes) > 10 else "")
        st.warning(tr("ui.repaired_quotes", language, rows=rows))
    if len(check.problems):
        st.caption(tr("ui.problem_rows", language, count=_view.format_count(len(check.problems))))
        st.dataframe(_upload.problem_table(check.problems, language), hide_index=True)
    elif check.error is None:
        st.caption(tr("ui.no_problems", language))

    st.subheader(tr("ui.run_settings", language))
    languages = {option: tr(f"ui.text_language_{option}", language) for option in LANGUAGE_OPTIONS}
    left, right = st.columns(2)
    with left:
        text_language = st.radio(tr("ui.text_language", language), options=list(languages),
                                 format_func=languages.get, key=language_key("upload_language", language),
                                 horizontal=True)
        embedding = st.selectbox(tr("ui.embedding", language), options=_upload.embedding_choices(),
                                 key="upload_model", help=tr("ui.embedding_help", language))
        min_topic_size = st.number_input(tr("ui.min_topic_size", language), min_value=0, value=0, step=1,
                                         key="upload_min_topic_size", help=tr("ui.min_topic_size_help", language))
    with right:
        redact = st.toggle(tr("ui.redact_pii", language), value=True, key="upload_redact",
                           help=tr("ui.redact_pii_help", language))
        mapped = {column for column in mapping.values() if column}
        extra = [column for column in dict.fromkeys([*check.columns, *customer_columns]) if column not in mapped]
        covariates = st.multiselect(tr("ui.covariates", language), options=extra, key="upload_covariates",
                                    placeholder=tr("ui.choose_options", language),
                                    help=tr("ui.covariates_help", language))
    books = _upload.codebook_runs(store)
    codebook_run = None
    if books:
        none = tr("ui.use_codebook_none", language)
        codebook_run = st.selectbox(tr("ui.use_codebook", language), options=["", *books],
                                    format_func=lambda run_id: run_id or none,
                                    key=language_key("upload_codebook", language),
                                    help=tr("ui.use_codebook_help", language)) or None
    with st.expander(tr("ui.more_analyses", language)):
        segments = st.multiselect(tr("ui.segments", language), options=extra, key="upload_segments",
                                  placeholder=tr("ui.choose_options", language))
        score_col = st.selectbox(tr("ui.score_column", language), options=["", *extra],
                                 key=language_key("upload_score", language),
                                 format_func=lambda column: column or tr("ui.not_in_file", language))
        kinds = {kind: tr(f"ui.score_kind_{kind}", language) for kind in SCORE_KIND_OPTIONS}
        score_kind = st.radio(tr("ui.score_kind", language), options=list(kinds), format_func=kinds.get,
                              key=language_key("upload_score_kind", language), horizontal=True)
        duration_col = st.selectbox(tr("ui.duration_column", language), options=["", *extra],
                                    key=language_key("upload_duration", language),
                                    format_func=lambda column: column or tr("ui.not_in_file", language))

    try:
        settings = _upload.build_settings(
            mapping, event_value=event_value, language=text_language, embedding=embedding,
            min_topic_size=int(min_topic_size) or None, redact_pii=redact, covariates=covariates,
            segments=segments, score_col=score_col, score_kind=score_kind, duration_col=duration_col)
    except PainpointsError as error:
        st.error(error.message(language))
        return

    if not st.button(tr("ui.analyse", language), type="primary", key="upload_run",
                     disabled=check.error is not None):
        if saved:
            st.success(tr("ui.analysis_saved", language, run_id=saved))
        return
    st.button(tr("ui.stop", language), key="upload_stop", help=tr("ui.stop_help", language))
    bar = st.progress(0.0, text=tr("ui.progress_starting", language))
    tracker = _upload.ProgressTracker()

    def show_progress(stage: str, done: int, total: int) -> None:
        progress = tracker.update(stage, done, total)
        bar.progress(_upload.overall_fraction(progress), text=_upload.progress_text(progress, language))

    st.session_state[_RUNNING_KEY] = True
    try:
        new_run = _upload.analyse_upload(data, uploaded.name, store, settings=settings, customers=customers,
                                         codebook_run=codebook_run, progress=show_progress)
    except PainpointsError as error:
        st.session_state.pop(_RUNNING_KEY, None)
        st.error(error.message(language))
        return
    st.session_state.pop(_RUNNING_KEY, None)
    st.session_state[_SAVED_KEY] = new_run
    _open_run(new_run)
    st.rerun()
