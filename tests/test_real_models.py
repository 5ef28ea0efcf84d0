"""End-to-end runs with the real offline models (slower; part of the CI run)."""

import re

import pandas as pd
import pytest
from sklearn.metrics import v_measure_score

from painpoints import schema as S
from painpoints.pipeline import run_analysis
from painpoints.sample import (
    LOWERING_THEMES,
    NEUTRAL_THEMES,
    SAMPLE_PATH,
    generate_sample,
)
from painpoints.settings import AnalysisSettings

pytestmark = pytest.mark.real_model


def _topic_themes(documents: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Return each topic's most common planted theme (the first theme of each row)."""
    themes = truth["themes"].fillna("").astype(str).str.split(";").str[0].to_numpy()
    clustered = documents.assign(theme=themes)
    clustered = clustered[clustered[S.TOPIC_ID].fillna(S.UNCLUSTERED) >= 0]
    return clustered.groupby(S.TOPIC_ID)["theme"].agg(lambda values: values.value_counts().index[0]).to_frame()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return run_analysis(SAMPLE_PATH, AnalysisSettings(embedding="e5-multilingual", cache_dir=cache))


def test_sample_raising_topics_rank_above_neutral(sample_run):
    _, truth = generate_sample()
    table = sample_run.outcomes.to_frame().set_index(S.TOPIC_ID)
    topics = _topic_themes(sample_run.documents, truth).join(table[["lift", "small_group"]])
    stable = topics[~topics["small_group"].astype(bool)]
    raising = stable[stable["theme"].isin(["logistics_delay", "refund_delay"])]["lift"]
    neutral = stable[stable["theme"].isin(NEUTRAL_THEMES)]["lift"]
    lowering = stable[stable["theme"].isin(LOWERING_THEMES)]["lift"]
    assert len(raising)
    assert len(neutral)
    assert len(lowering)
    assert raising.min() > neutral[stable["theme"] == "app_login"].max()
    assert (lowering < 1).all()


def test_sample_chinese_keywords_are_words(sample_run):
    topics = sample_run.topics[sample_run.topics[S.TOPIC_ID] >= 0]
    chinese_keywords = [word.strip() for cell in topics["keywords"] for word in cell.split(",")
                        if re.search(r"[\u4e00-\u9fff]", word)]
    assert len(chinese_keywords) > 50
    assert all(0 < len(word) <= 4 for word in chinese_keywords), chinese_keywords
    assert not (topics["label"].str.strip() == "").any()
    assert sample_run.info["embedding"]["model_id"] == "e5-multilingual"


def test_sample_rows_accounted_for(sample_run):
    counts = sample_run.info["rows_by_status"]
    assert sum(counts.values()) == len(sample_run.documents) == 1884
    assert sample_run.info["topics"]["outlier_share_after_reduction"] <= 0.10


def test_english_rows_with_minilm(tmp_path):
    export, truth = generate_sample()
    english = truth["language"].eq("en").to_numpy() & truth["themes"].fillna("").ne("").to_numpy()
    path = tmp_path / "english.csv"
    export[english].to_csv(path, index=False)
    result = run_analysis(path, AnalysisSettings(embedding="auto", cache_dir=tmp_path / "cache"))
    assert result.info["embedding"]["model_id"] == "minilm-en"
    themes = truth.loc[english, "themes"].astype(str).str.split(";").str[0].to_numpy()
    topics = result.documents[S.TOPIC_ID].fillna(S.UNCLUSTERED).astype(int).to_numpy()
    assert v_measure_score(themes, topics) > 0.5
    keywords = [word.strip() for cell in result.topics["keywords"] for word in cell.split(",") if word.strip()]
    # A keyword is an English word or a bigram of two ("late delivery"); a company name
    # such as J&T keeps its ampersand.
    assert all(re.fullmatch(r"[a-z][a-z'&\-]*( [a-z][a-z'&\-]*)?", word) for word in keywords), keywords


def test_sample_topic_sentiment_follows_planted_themes(sample_run):
    _, truth = generate_sample()
    topics = _topic_themes(sample_run.documents, truth).join(sample_run.topics.set_index(S.TOPIC_ID))
    praise = topics.loc[topics["theme"] == "delivery_praise", "mean_sentiment"]
    delays = topics.loc[topics["theme"].isin(["logistics_delay", "refund_delay"]), "mean_sentiment"]

    assert len(praise)
    assert len(delays)
    assert (praise > 0).all(), praise
    assert (delays < 0).all(), delays
    assert sample_run.info["sentiment"]["method"] == "self-trained"
