"""Helpers of the viewer page tests: the themed feedback file as bytes, a store with
runs built from it, and the script that runs one page's ``render`` in AppTest.

``ui/app.py`` wraps each page's ``render`` in ``st.Page(callable)``, and AppTest can
switch only to file pages, so the tests run ``render`` alone through
``AppTest.from_function(ui_page_script, args=...)``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from painpoints.embed import HashingEmbedder
from painpoints.pipeline import run_analysis
from painpoints.settings import AnalysisSettings
from painpoints.store import save_run
from tests.conftest import CHURN_BY_THEME, THEMES_ZH

UI_DIR = Path(__file__).resolve().parents[1] / "ui"


def themed_csv_bytes(extra_texts: tuple[str, ...] = ()) -> bytes:
    """The 40 themed tickets of ``conftest.themed_frame`` (plus `extra_texts`) as UTF-8 CSV."""
    rows = []
    for theme, texts in THEMES_ZH.items():
        for index, text in enumerate(texts):
            churned = index < round(CHURN_BY_THEME[theme] * len(texts))
            rows.append({"反馈内容": text, "是否流失": "是" if churned else "否"})
    rows += [{"反馈内容": text, "是否流失": "否"} for text in extra_texts]
    frame = pd.DataFrame(rows)
    frame.insert(0, "客户ID", [f"C{number:05d}" for number in range(1, len(frame) + 1)])
    frame.insert(0, "工单编号", [f"T{number:04d}" for number in range(1, len(frame) + 1)])
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False, encoding="utf-8")
    return buffer.getvalue()


def build_store(folder: Path, runs: int = 2, extra_texts: tuple[str, ...] = ()) -> tuple[Path, list[str]]:
    """Save `runs` analyses of the themed file (hashing embedder) to a store; return it and the ids, oldest first."""
    path = folder / "tickets.csv"
    path.write_bytes(themed_csv_bytes(extra_texts))
    settings = AnalysisSettings(embedding="hashing", cache_dir=folder / "cache", min_topic_size=5)
    store = folder / "runs.duckdb"
    run_ids = [save_run(run_analysis(path, settings, embedder=HashingEmbedder()), store) for _ in range(runs)]
    return store, run_ids


def ui_page_script(ui_dir: str, page: str, store: str, language: str, run_id: str | None) -> None:
    """AppTest script: load the run from the store and draw one page, as ``ui/app.py`` does.

    A test switches the language as the sidebar does, through ``session_state["language"]``.
    """
    import importlib
    import sys
    from pathlib import Path

    import streamlit as st

    from painpoints.store import load_run

    language = st.session_state.get("language", language)

    if ui_dir not in sys.path:
        sys.path.insert(0, ui_dir)
    run = load_run(store, run_id) if run_id else None
    importlib.import_module(page).render(Path(store), language, run)


def copied_store(base_store: tuple[Path, list[str]], folder: Path) -> tuple[Path, str, str]:
    """Copy a two-run store of :func:`build_store` into ``folder``; return (path, earlier run id, later run id)."""
    path, (earlier, later) = base_store
    copy = folder / "runs.duckdb"
    shutil.copy(path, copy)
    return copy, earlier, later


def page_app(store: Path, page: str, run_id: str | None, language: str = "en") -> AppTest:
    """Return an AppTest, not yet run, of ``ui/<page>.py``'s ``render`` with a run of ``store``."""
    return AppTest.from_function(ui_page_script, args=(str(UI_DIR), page, str(store), language, run_id),
                                 default_timeout=60)
