"""Sentiment in a run: per-row scores, per-topic numbers, the label column, settings and the viewer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from painpoints import schema as S
from painpoints.clean import normalise_text
from painpoints.cli import app as cli_app
from painpoints.errors import InputDataError, SettingsError
from painpoints.outcomes import topic_outcomes
from painpoints.pipeline import run_analysis
from painpoints.report import write_outputs
from painpoints.sample import THEME_SENTIMENT, generate_sample
from painpoints.sentiment import label_column_candidates, label_values, score_sentiment
from painpoints.settings import AnalysisSettings
from painpoints.store import load_run, save_run
from tests.test_ui import run_page
from ui import _view

PRAISE_ZH = [
    "快递很快，非常满意", "物流速度很快，包装也好，满意", "客服态度很好，问题很快解决了，点赞",
    "发货速度很快，继续保持", "东西很好，非常喜欢，好评", "服务很好，很满意，谢谢",
    "退款很快就到账了，满意", "物流很给力，第二天就到了，好评", "体验很好，非常满意",
    "包装很好，快递员态度也很好，满意",
]


@pytest.fixture
def mixed_frame(themed_frame) -> pd.DataFrame:
    """The themed tickets, ten praise rows, a repeated text and a no-content row, with a 满意/不满意 column."""
    praise = pd.DataFrame({
        "工单编号": [f"P{index:03d}" for index in range(len(PRAISE_ZH))],
        "客户ID": [f"P{index:05d}" for index in range(len(PRAISE_ZH))],
        "反馈内容": PRAISE_ZH,
        "是否流失": ["否" if index % 4 else "是" for index in range(len(PRAISE_ZH))],
        "theme": "praise",
    })
    extra = pd.DataFrame({
        "工单编号": ["X001", "X002"],
        "客户ID": ["C00001", "X00002"],
        "反馈内容": [themed_frame["反馈内容"].iat[0], "666"],
        "是否流失": ["是", "否"],
        "theme": ["courier", ""],
    })
    frame = pd.concat([themed_frame, praise, extra], ignore_index=True)
    # Every fourth row has no label, so the fit also gets unlabelled rows to skip.
    labels = np.where(frame["theme"] == "praise", "满意", "不满意")
    frame["评价"] = np.where(np.arange(len(frame)) % 4 == 3, "", labels)
    return frame


@pytest.fixture
def mixed_csv(tmp_path, mixed_frame) -> Path:
    path = tmp_path / "mixed.csv"
    mixed_frame.drop(columns="theme").to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture
def mixed_result(mixed_csv, settings, embedder):
    return run_analysis(mixed_csv, settings, embedder=embedder)


def test_content_rows_get_sentiment(mixed_result):
    documents = mixed_result.documents
    content = documents[S.STATUS].isin(["topic", "unclustered", "duplicate"])
    empty = documents[S.STATUS].isin(["no_content", "rejected"])

    assert list(documents.columns) == list(S.DOCUMENT_COLUMNS)
    assert content.sum() == len(documents) - 1
    assert documents.loc[content, S.SENTIMENT].between(-1, 1).all()
    assert documents.loc[content, S.SENTIMENT_LABEL].isin(S.SENTIMENT_LABELS).all()
    assert empty.sum() == 1
    assert documents.loc[empty, S.SENTIMENT].isna().all()
    assert (documents.loc[empty, S.SENTIMENT_LABEL] == "").all()


def test_sentiment_equals_module_scores(mixed_result, embedder, settings):
    documents = mixed_result.documents
    embedded = documents[documents[S.STATUS].isin(["topic", "unclustered"])]
    vectors = embedder.encode(embedded[S.TEXT].tolist())
    expected = score_sentiment(embedded[S.TEXT].tolist(), embedded[S.LANGUAGE].tolist(), method="self-trained",
                               doc_embeddings=vectors, embedder=embedder, random_state=settings.seed)

    np.testing.assert_allclose(embedded[S.SENTIMENT].to_numpy(), expected[S.SENTIMENT].to_numpy(), atol=1e-6)
    assert embedded[S.SENTIMENT_LABEL].tolist() == expected[S.SENTIMENT_LABEL].tolist()
    assert mixed_result.info["sentiment"]["method"] == "self-trained"
    assert sum(mixed_result.info["sentiment"]["rows_by_label"].values()) == len(documents) - 1


def test_duplicate_copies_sentiment(mixed_result):
    documents = mixed_result.documents.set_index(S.ROW_NUMBER)
    duplicate = documents[documents[S.STATUS] == "duplicate"]

    assert len(duplicate) == 1
    original = documents.loc[1]
    assert duplicate[S.SENTIMENT].iat[0] == original[S.SENTIMENT]
    assert duplicate[S.SENTIMENT_LABEL].iat[0] == original[S.SENTIMENT_LABEL]


def test_praise_scores_above_complaints(mixed_result, mixed_frame):
    documents = mixed_result.documents
    is_praise = (mixed_frame["theme"] == "praise").to_numpy()
    praise = documents.loc[is_praise, S.SENTIMENT]
    complaints = documents.loc[~is_praise & documents[S.SENTIMENT].notna(), S.SENTIMENT]

    assert praise.mean() > 0
    assert complaints.mean() < 0


def test_topics_table_sentiment_by_hand(mixed_result):
    documents = mixed_result.documents
    topics = mixed_result.topics.set_index(S.TOPIC_ID)

    assert list(mixed_result.topics.columns) == list(S.TOPIC_COLUMNS)
    for topic_id, rows in documents[documents[S.TOPIC_ID].notna()].groupby(S.TOPIC_ID):
        assert topics.at[topic_id, "mean_sentiment"] == pytest.approx(rows[S.SENTIMENT].mean())
        assert topics.at[topic_id, "share_negative"] == pytest.approx((rows[S.SENTIMENT_LABEL] == "negative").mean())


def test_outcome_sentiment_by_hand(mixed_result):
    documents = mixed_result.documents
    table = mixed_result.outcomes.to_frame().set_index(S.TOPIC_ID)
    checked = 0

    assert list(mixed_result.outcomes.table.columns) == list(S.OUTCOME_COLUMNS)
    for topic_id, rows in documents[documents[S.TOPIC_ID].notna()].groupby(S.TOPIC_ID):
        negative = rows[S.SENTIMENT_LABEL] == "negative"
        assert table.at[topic_id, "mean_sentiment"] == pytest.approx(rows[S.SENTIMENT].mean())
        assert table.at[topic_id, "share_negative"] == pytest.approx(negative.mean())

        by_customer = rows.assign(negative=negative).groupby(S.CUSTOMER_ID).agg(
            negative=("negative", "max"), churned=(S.CHURNED, "max"))
        for column, group in (("churn_rate_negative", by_customer[by_customer["negative"]]),
                              ("churn_rate_non_negative", by_customer[~by_customer["negative"]])):
            if group.empty:
                assert np.isnan(table.at[topic_id, column])
            else:
                assert table.at[topic_id, column] == pytest.approx(group["churned"].astype(float).mean())
                checked += 1

    no_content = table.loc[S.NO_CONTENT_TOPIC]
    assert no_content[["mean_sentiment", "share_negative", "churn_rate_negative",
                       "churn_rate_non_negative"]].isna().all()
    assert checked > len(table) - 1


def test_outcome_sentiment_small_table():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3, 4, 5, 6],
        S.CUSTOMER_ID: ["a", "a", "b", "c", "d", "e"],
        S.STATUS: ["topic", "topic", "topic", "topic", "unclustered", "no_content"],
        S.TOPIC_ID: pd.array([0, 0, 0, 0, -1, pd.NA], dtype="Int64"),
        S.CHURNED: [True, True, False, True, False, False],
        S.SENTIMENT: [-0.6, 0.4, 0.2, -0.2, 0.0, np.nan],
        S.SENTIMENT_LABEL: ["negative", "positive", "positive", "negative", "neutral", ""],
    })
    table = topic_outcomes(documents, {0: "topic"}).to_frame().set_index(S.TOPIC_ID)

    assert table.at[0, "mean_sentiment"] == pytest.approx(-0.05)
    assert table.at[0, "share_negative"] == pytest.approx(0.5)
    # Customers a and c have a negative row and both churned; b has none and stayed.
    assert table.at[0, "churn_rate_negative"] == pytest.approx(1.0)
    assert table.at[0, "churn_rate_non_negative"] == pytest.approx(0.0)
    assert table.at[-1, "share_negative"] == 0.0
    assert np.isnan(table.at[-1, "churn_rate_negative"])
    assert table.at[-1, "churn_rate_non_negative"] == 0.0
    assert np.isnan(table.at[-2, "mean_sentiment"])


def test_outcome_sentiment_follows_memberships():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3],
        S.CUSTOMER_ID: ["a", "b", "c"],
        S.STATUS: ["topic", "topic", "topic"],
        S.TOPIC_ID: pd.array([0, 0, 1], dtype="Int64"),
        S.CHURNED: [True, False, False],
        S.SENTIMENT: [-0.8, 0.6, 0.2],
        S.SENTIMENT_LABEL: ["negative", "positive", "positive"],
    })
    memberships = pd.DataFrame({S.ROW_NUMBER: [1, 1], S.TOPIC_ID: [0, 1]})
    table = topic_outcomes(documents, {0: "zero", 1: "one"}, memberships=memberships).to_frame()
    table = table.set_index(S.TOPIC_ID)

    assert table.at[1, "mean_sentiment"] == pytest.approx(-0.3)
    assert table.at[1, "churn_rate_negative"] == pytest.approx(1.0)
    assert table.at[1, "churn_rate_non_negative"] == pytest.approx(0.0)


def test_outcomes_without_sentiment_columns():
    documents = pd.DataFrame({
        S.CUSTOMER_ID: ["a", "b", "c"],
        S.STATUS: ["topic", "topic", "unclustered"],
        S.TOPIC_ID: pd.array([0, 0, -1], dtype="Int64"),
        S.CHURNED: [True, False, False],
    })
    table = topic_outcomes(documents, {0: "zero"}).to_frame()

    assert list(table.columns) == list(S.OUTCOME_COLUMNS)
    assert table[["mean_sentiment", "share_negative", "churn_rate_negative",
                  "churn_rate_non_negative"]].isna().all().all()


def test_outputs_and_store_keep_sentiment(mixed_result, tmp_path):
    written = write_outputs(mixed_result, tmp_path / "out")
    store = tmp_path / "runs.duckdb"
    save_run(mixed_result, store)
    stored = load_run(store)

    documents_csv = pd.read_csv(tmp_path / "out" / "documents.csv")
    assert documents_csv[S.SENTIMENT].notna().sum() == len(documents_csv) - 1
    assert {"mean_sentiment", "share_negative"} <= set(pd.read_csv(tmp_path / "out" / "topics.csv").columns)
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["sentiment"]["method"] == "self-trained"
    assert written
    assert stored.documents[S.SENTIMENT].notna().sum() == len(stored.documents) - 1
    assert "churn_rate_negative" in stored.topic_outcomes.columns


def test_label_column_fits_classifier(mixed_csv, mixed_frame, settings, embedder):
    labelled = AnalysisSettings(**{**vars(settings), "sentiment_label_col": "评价"})
    result = run_analysis(mixed_csv, labelled, embedder=embedder)
    info = result.info["sentiment"]
    documents = result.documents

    assert info["method"] == "fitted-on-labels"
    assert info["label_column"] == "评价"
    assert 0.0 <= info["cv_balanced_accuracy"] <= 1.0
    assert info["folds"] == 5
    embedded = documents[S.STATUS].isin(["topic", "unclustered"])
    assert info["labelled_rows"] == (mixed_frame.loc[embedded.to_numpy(), "评价"] != "").sum()
    assert documents.loc[documents[S.STATUS] != "no_content", S.SENTIMENT].notna().all()
    is_praise = (mixed_frame["theme"] == "praise").to_numpy()
    assert documents.loc[is_praise, S.SENTIMENT].mean() > documents.loc[~is_praise, S.SENTIMENT].mean()


def test_label_column_missing_raises(mixed_csv, settings, embedder):
    with pytest.raises(InputDataError) as raised:
        run_analysis(mixed_csv, AnalysisSettings(**{**vars(settings), "sentiment_label_col": "评分"}),
                     embedder=embedder)
    assert raised.value.key == "sentiment.label_column_not_found"


def test_label_column_invalid_raises(tmp_path, mixed_frame, settings, embedder):
    path = tmp_path / "bad_labels.csv"
    mixed_frame.drop(columns="theme").assign(评价="也许").to_csv(path, index=False)
    with pytest.raises(InputDataError) as raised:
        run_analysis(path, AnalysisSettings(**{**vars(settings), "sentiment_label_col": "评价"}), embedder=embedder)
    assert raised.value.key == "sentiment.invalid_labels"
    assert "也许" in raised.value.message("en")


def test_sample_planted_sentiment_per_theme():
    export, truth = generate_sample()
    rows = export.merge(truth, on="工单编号", validate="one_to_one")
    themes = rows["themes"].fillna("")
    single = rows[themes.ne("") & ~themes.str.contains(";")]
    # 30 rows of each theme keep the test short; the default scorer runs without embeddings here.
    single = single.groupby("themes").sample(n=30, random_state=0)
    scores = score_sentiment([normalise_text(text) for text in single["反馈内容"]])
    single = single.assign(score=scores[S.SENTIMENT].to_numpy(), label=scores[S.SENTIMENT_LABEL].to_numpy())
    by_theme = single.groupby("themes").agg(mean=("score", "mean"),
                                            share_negative=("label", lambda labels: (labels == "negative").mean()))

    for theme, planted in THEME_SENTIMENT.items():
        if planted == "positive":
            assert by_theme.loc[theme, "mean"] > 0.2, theme
            assert by_theme.loc[theme, "share_negative"] < 0.2, theme
        elif planted == "negative":
            assert by_theme.loc[theme, "mean"] < -0.2, theme
            assert by_theme.loc[theme, "share_negative"] > 0.5, theme


@pytest.mark.parametrize(("values", "expected"), [
    (["满意", "不满意", "", None], [1, 0, None, None]),
    (["好评", "差评", "中评"], [1, 0, None]),
    (["Positive", " negative ", "neutral"], [1, 0, None]),
    ([5, 4, 3, 2, 1], [1, 1, None, 0, 0]),
    (["5", "1", ""], [1, 0, None]),
    ([1, 0, np.nan], [1, 0, None]),
    ([1.0, 0.0], [1, 0]),
])
def test_label_values(values, expected):
    assert label_values(values) == expected


@pytest.mark.parametrize("values", [["满意", "maybe"], [1, 7], [0.5, 1]])
def test_label_values_invalid(values):
    with pytest.raises(ValueError):
        label_values(values)


def test_label_column_candidates():
    frame = pd.DataFrame({
        "满意度": ["5", "1", "", "3"],
        "评价": ["好评", "差评", "好评", "好评"],
        "rating_note": ["fast", "slow", "", ""],
        "label": ["1", "1", "1", ""],
        "在网月数": ["1", "5", "2", "4"],
        "是否流失": ["是", "否", "是", "否"],
    })

    assert label_column_candidates(frame) == ["满意度", "评价"]
    assert label_column_candidates(frame, exclude=["评价"]) == ["满意度"]


def test_run_offers_label_column(mixed_result):
    assert mixed_result.info["sentiment"]["label_column_candidates"] == ["评价"]


def test_settings_reject_unknown_method():
    with pytest.raises(SettingsError) as raised:
        AnalysisSettings(sentiment="stars")
    assert raised.value.key == "settings.invalid_choice"
    assert raised.value.params["option"] == "--sentiment"
    assert AnalysisSettings(sentiment="vader").to_dict()["sentiment"] == "vader"


def test_cli_rejects_unknown_method(mixed_csv, tmp_path):
    result = CliRunner().invoke(cli_app, ["analyze", str(mixed_csv), "--sentiment", "stars",
                                          "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "--sentiment" in result.output


def test_cli_label_column(mixed_csv, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli_app, [
        "analyze", str(mixed_csv), "--embedding", "hashing", "--min-topic-size", "5",
        "--sentiment-label-col", "评价", "--out", str(out), "--store", str(tmp_path / "runs.duckdb")])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["settings"]["sentiment_label_col"] == "评价"
    assert info["sentiment"]["method"] == "fitted-on-labels"
    assert "balanced accuracy" in result.output


def test_view_filter_by_sentiment():
    rows = pd.DataFrame({S.TEXT: ["a", "b", "c", "d"],
                         S.SENTIMENT_LABEL: ["negative", "positive", "neutral", "negative"]})

    assert _view.filter_by_sentiment(rows, "negative")[S.TEXT].tolist() == ["a", "d"]
    assert _view.filter_by_sentiment(rows, "neutral")[S.TEXT].tolist() == ["c"]
    assert len(_view.filter_by_sentiment(rows, _view.ALL_SENTIMENTS)) == 4
    with pytest.raises(ValueError):
        _view.filter_by_sentiment(rows, "angry")
    assert list(_view.sentiment_choices("zh").values()) == ["全部", "负面", "中性", "正面"]


def test_view_sentiment_columns_and_caption(mixed_result):
    table = _view.outcome_table_frame(mixed_result.outcomes.to_frame(), "en")
    formats = _view.outcome_table_formats("en")

    assert {"Mean sentiment", "Negative share"} <= set(table.columns)
    assert formats["Mean sentiment"](-0.5) == "-0.50"
    assert formats["Negative share"](0.25) == "25.0%"
    old_run = mixed_result.outcomes.to_frame().drop(columns=["mean_sentiment", "share_negative"])
    assert _view.outcome_table_frame(old_run, "en")["Mean sentiment"].isna().all()
    assert _view.rows_caption(10, 3, "", "en", "negative") == "3 of the 10 rows in this topic are negative"
    assert _view.rows_caption(10, 2, "到账", "zh", "positive") == "该话题共 10 行，其中 2 行为正面且包含“到账”"


def test_app_filters_verbatims_by_sentiment(tmp_path, mixed_result, mixed_frame):
    store = tmp_path / "runs.duckdb"
    save_run(mixed_result, store)
    documents = mixed_result.documents
    topic_id = int(documents.loc[(mixed_frame["theme"] == "praise").to_numpy(), S.TOPIC_ID].mode()[0])
    in_topic = documents[documents[S.TOPIC_ID] == topic_id]
    label = in_topic[S.SENTIMENT_LABEL].mode()[0]
    expected = in_topic.loc[in_topic[S.SENTIMENT_LABEL] == label, S.TEXT].tolist()

    app = run_page("page_verbatims", store, language="en", run_id=mixed_result.run_id)
    app.selectbox(key="topic").set_value(topic_id).run()
    app.radio(key="sentiment").set_value(label).run()
    displayed = app.dataframe[0].value

    assert not app.exception
    assert sorted(displayed["Feedback"]) == sorted(expected)
    assert set(displayed["Sentiment class"]) == {_view.sentiment_choices("en")[label]}
    churn = run_page("page_churn", store, language="en", run_id=mixed_result.run_id)
    assert "Mean sentiment" in churn.dataframe[0].value.columns
