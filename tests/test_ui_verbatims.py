"""Row order of the Verbatims page: most typical, most negative, newest, or as in the file."""

import sys

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.i18n import tr
from painpoints.pipeline import run_analysis
from painpoints.store import load_run, save_run
from tests.test_ui import run_page
from tests.ui_pages import UI_DIR

# The page modules import each other by file name, as Streamlit runs them.
if str(UI_DIR) not in sys.path:
    sys.path.insert(0, str(UI_DIR))

import _view_verbatims  # noqa: E402


@pytest.fixture
def rows() -> pd.DataFrame:
    return pd.DataFrame({S.ROW_NUMBER: [3, 1, 2, 4], S.TOPIC_ID: [0, 0, 0, 0],
                         S.SENTIMENT: [0.5, -0.9, np.nan, -0.9],
                         S.DATE: ["2024-01-05", None, "2024-03-01", "2024-01-05"], S.TEXT: ["c", "a", "b", "d"]})


@pytest.fixture
def memberships() -> pd.DataFrame:
    # Row 2 is also in topic 5 with a higher score, which must not count for topic 0.
    return pd.DataFrame({S.ROW_NUMBER: [1, 2, 3, 4, 2], S.TOPIC_ID: [0, 0, 0, 0, 5],
                         S.MEMBERSHIP_SCORE: [0.1, 0.9, 0.5, np.nan, 0.99],
                         S.IS_PRIMARY: [True, True, True, True, False]})


@pytest.mark.parametrize(("order", "expected"), [
    ("typical", [2, 3, 1, 4]),
    ("negative", [1, 4, 3, 2]),
    ("newest", [2, 3, 4, 1]),
    ("file", [1, 2, 3, 4]),
])
def test_sort_rows_orders(rows, memberships, order, expected):
    assert _view_verbatims.sort_rows(rows, order, 0, memberships)[S.ROW_NUMBER].tolist() == expected


def test_typical_without_scores_keeps_file_order(rows):
    assert _view_verbatims.sort_rows(rows, "typical", 0, None)[S.ROW_NUMBER].tolist() == [1, 2, 3, 4]


def test_unknown_order_rejected(rows):
    with pytest.raises(ValueError, match="unknown verbatim order 'oldest'"):
        _view_verbatims.sort_rows(rows, "oldest", 0)


def test_choices_follow_available_data(rows, memberships):
    assert list(_view_verbatims.order_choices("en", memberships, rows)) == ["typical", "negative", "newest", "file"]
    undated = rows.drop(columns=S.DATE)
    assert list(_view_verbatims.order_choices("zh", pd.DataFrame(), undated)) == ["negative", "file"]


@pytest.fixture
def store(tmp_path, themed_csv, settings):
    path = tmp_path / "runs.duckdb"
    save_run(run_analysis(themed_csv, settings), path)
    return path


@pytest.mark.parametrize("language", ["en", "zh"])
def test_page_lists_typical_rows_first(store, language):
    run = load_run(store)
    topic = int(run.topics.loc[run.topics[S.TOPIC_ID] >= 0, S.TOPIC_ID].iloc[0])
    app = run_page("page_verbatims", store, language=language)
    app.selectbox(key="topic").set_value(topic).run()
    assert app.selectbox(key="verbatim_order").value == "typical"
    assert app.selectbox(key="verbatim_order").format_func("typical") == tr("ui.order_typical", language)
    listed_texts = app.dataframe[0].value.iloc[:, 2].tolist()
    scores = run.memberships[run.memberships[S.TOPIC_ID] == topic].set_index(S.ROW_NUMBER)[S.MEMBERSHIP_SCORE]
    by_text = dict(zip(run.documents[S.TEXT], run.documents[S.ROW_NUMBER]))
    listed_scores = [scores[by_text[text]] for text in listed_texts]
    assert listed_scores == sorted(listed_scores, reverse=True)

    app.selectbox(key="verbatim_order").set_value("negative").run()
    sentiments = app.dataframe[0].value.iloc[:, 3].tolist()
    assert sentiments == sorted(sentiments)
