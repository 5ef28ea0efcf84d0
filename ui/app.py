"""painpoints viewer: a multipage Streamlit app over the DuckDB run store.

Start it with ``painpoints ui`` or ``streamlit run ui/app.py -- --store PATH``.
The run store is ``--store PATH`` after ``--``, else the ``PAINPOINTS_STORE``
environment variable, else ``painpoints.settings.default_store_path()``.
Streamlit's AppTest runs the script with the test process's ``sys.argv``, so the
tests pass the store through ``PAINPOINTS_STORE``.

This script draws the sidebar (language switch, session key ``"language"``; run
select, session key ``"run"``), loads the chosen run and hands it to the page that
``st.navigation`` picks. Every page module exposes
``render(store: Path, language: str, run: StoredRun | None) -> None``, and its URL
path is fixed (``/upload``, ``/overview``, ``/churn``, ``/verbatims``, ``/trends``,
``/edit``, ``/runs``). The app root is a hidden start page that switches to
Overview when the store has runs and to Upload & run when it has none.

Everything except the Streamlit calls lives in ``_view*.py``, ``_charts.py`` and the
other ``_*.py`` modules.
"""

from __future__ import annotations

import functools
import os
import sys

import _view
import page_churn
import page_edit
import page_overview
import page_runs
import page_trends
import page_upload
import page_verbatims
import streamlit as st

from painpoints.errors import StoreError
from painpoints.i18n import tr
from painpoints.store import StoredRun, load_run

# (module, URL path, catalogue key of the title), in navigation order.
PAGES = (
    (page_upload, "upload", "ui.page_upload"),
    (page_overview, "overview", "ui.page_overview"),
    (page_churn, "churn", "ui.page_churn"),
    (page_verbatims, "verbatims", "ui.page_verbatims"),
    (page_trends, "trends", "ui.page_trends"),
    (page_edit, "edit", "ui.page_edit"),
    (page_runs, "runs", "ui.page_runs"),
)


# Runs are cached by store and run id. Pages that change the store (upload, edit,
# delete) clear this cache, so a cached run is never older than the store.
@st.cache_data(show_spinner=False, max_entries=4)
def _load_run(store: str, run_id: str) -> StoredRun:
    return load_run(store, run_id)


if "language" not in st.session_state:
    st.session_state["language"] = _view.initial_language(os.environ, st.context.locale)
language = st.session_state["language"]

st.set_page_config(page_title=tr("ui.title", language), layout="wide")

store = _view.resolve_store_path(sys.argv[1:], os.environ)

# The page links go on top of the sidebar, but st.page_link needs the pages that
# st.navigation registers at the end, so they are drawn into this container later.
page_links = st.sidebar.container()

with st.sidebar:
    language = st.radio(tr("ui.language", language), options=list(_view.LANGUAGE_NAMES),
                        format_func=_view.LANGUAGE_NAMES.get, key="language", horizontal=True)

run = None
run_ids: list[str] = []
try:
    runs = _view.read_run_list(store)
except StoreError as error:
    if error.key == "store.not_found":
        st.sidebar.info(_view.no_runs_message(store, language))
    else:
        st.sidebar.error(_view.store_error_message(error, language))
else:
    if runs.empty:
        st.sidebar.info(_view.no_runs_message(store, language))
    run_labels = _view.run_labels(runs)
    run_ids = list(run_labels)
    if run_ids:
        # A page cannot set "run" once the select exists, so pages that open a run
        # (a new upload, "Open run") leave its id in "open_run" for this point.
        pending = st.session_state.pop("open_run", None)
        if pending in run_labels:
            st.session_state["run"] = pending
        # "run" may name a run that was deleted since; fall back to the newest.
        if st.session_state.get("run") not in run_labels:
            st.session_state["run"] = run_ids[0]
        with st.sidebar:
            run_id = st.selectbox(tr("ui.run", language), options=run_ids, format_func=run_labels.get, key="run")
        try:
            run = _load_run(str(store), run_id)
        except StoreError as error:
            st.sidebar.error(_view.store_error_message(error, language))



def _open_start_page() -> None:
    # The app root: Overview when the store has runs, Upload & run when it has none.
    st.switch_page(pages[1] if run_ids else pages[0])


pages = [
    st.Page(functools.partial(module.render, store, language, run), title=tr(title_key, language), url_path=url_path)
    for module, url_path, title_key in PAGES
]
# Streamlit serves the default page at the root only, so /overview and the other
# paths would not open a default page. A hidden start page is the default instead,
# and the menu is drawn with page links.
start = st.Page(_open_start_page, title=tr("ui.title", language), url_path="start", default=True)
current = st.navigation([start, *pages], position="hidden")
with page_links:
    for page in pages:
        st.page_link(page)
current.run()
