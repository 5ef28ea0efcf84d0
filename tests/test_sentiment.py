"""Sentiment stage: negation and degree rules in both languages, ranges, fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painpoints import _sentiment_lexicon as lexicon
from painpoints.embed import HashingEmbedder
from painpoints.sentiment import (
    NEUTRAL_BAND,
    SENTIMENT,
    SENTIMENT_LABEL,
    SENTIMENT_METHODS,
    fit_on_labels,
    label_scores,
    prototype_scores,
    rule_hits,
    score_sentiment,
)

CHINESE_CASES = [
    ("不太满意", "negative"),  # weak negation of a positive word
    ("一点也不快", "negative"),  # strong negation
    ("还行吧", "neutral"),  # hedge
    ("非常满意", "positive"),
    ("太慢了", "negative"),
    ("送得很快", "positive"),
    ("快递很慢", "negative"),  # 快递 (courier) must not count as 快 (fast)
    ("不是很好吃", "negative"),
    ("有点慢", "negative"),  # diminisher keeps the sign
    ("再也不买了", "negative"),
]
ENGLISH_CASES = [
    ("not bad", "positive"),
    ("hardly helpful", "negative"),
    ("barely helpful", "negative"),
    ("scarcely useful", "negative"),
    ("very helpful", "positive"),
    ("not good", "negative"),
    ("the agent was great", "positive"),
]


@pytest.mark.parametrize(("text", "expected"), CHINESE_CASES)
def test_chinese_negation_and_degree(text, expected):
    frame = score_sentiment([text], ["zh"], method="lexicon")
    assert frame[SENTIMENT_LABEL].iloc[0] == expected, frame[SENTIMENT].iloc[0]


@pytest.mark.parametrize(("text", "expected"), ENGLISH_CASES)
def test_english_negation_and_degree(text, expected):
    frame = score_sentiment([text], ["en"], method="lexicon")
    assert frame[SENTIMENT_LABEL].iloc[0] == expected, frame[SENTIMENT].iloc[0]


def test_rule_hits_chinese_modifiers():
    (weak,) = rule_hits("不太满意", "zh")
    assert weak.phrase == "不太满意"
    assert weak.valence == pytest.approx(-0.5 * lexicon.CHINESE_VALENCE["满意"])
    assert weak.modified

    (strong,) = rule_hits("一点也不快", "zh")
    assert strong.valence == pytest.approx(-1.0 * lexicon.CHINESE_VALENCE["快"])

    (intensified,) = rule_hits("太慢了", "zh")
    assert intensified.valence == pytest.approx(lexicon.INTENSIFIER_FACTOR * lexicon.CHINESE_VALENCE["慢"])
    assert not intensified.modified

    (hedge,) = rule_hits("还行吧", "zh")
    assert hedge.valence == lexicon.CHINESE_HEDGES["还行"]
    assert hedge.modified


def test_rule_hits_modifier_stops_at_comma():
    (hit,) = rule_hits("不，满意", "zh")
    assert hit.valence == lexicon.CHINESE_VALENCE["满意"]


def test_rule_hits_blocked_words():
    assert rule_hits("快递到了", "zh") == []


def test_rule_hits_english_hardly():
    (hit,) = rule_hits("It was hardly helpful.", "en")
    assert hit.phrase == "hardly helpful"
    assert hit.valence < 0
    assert rule_hits("not bad", "en") == []  # VADER handles "not" itself


def test_rules_change_hedge_class():
    without = score_sentiment(["还行吧"], ["zh"], method="lexicon", rules=False)
    with_rules = score_sentiment(["还行吧"], ["zh"], method="lexicon", rules=True)
    assert without[SENTIMENT_LABEL].iloc[0] == "positive"  # snownlp alone reads 还行 as praise
    assert with_rules[SENTIMENT_LABEL].iloc[0] == "neutral"


def test_label_scores_band_edges():
    labels = label_scores(np.array([-1.0, -NEUTRAL_BAND, -0.05, 0.0, 0.05, NEUTRAL_BAND, 1.0]))
    assert labels.tolist() == ["negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]


MIXED_TEXTS = [
    "送得很快，非常满意", "太慢了，再也不买了", "The support was excellent", "terrible, never again",
    "还行吧", "not bad", "", "12345", "客服态度很差 but the refund came",
]


@pytest.mark.parametrize("method", ["lexicon", "snownlp", "vader", "embedding-prototypes", "combined", "auto"])
def test_scores_in_range_and_deterministic(method):
    embedder = HashingEmbedder()
    vectors = embedder.encode(MIXED_TEXTS)
    first = score_sentiment(MIXED_TEXTS, method=method, doc_embeddings=vectors, embedder=embedder)
    second = score_sentiment(MIXED_TEXTS, method=method, doc_embeddings=vectors, embedder=embedder)
    assert list(first.columns) == [SENTIMENT, SENTIMENT_LABEL]
    assert len(first) == len(MIXED_TEXTS)
    assert first[SENTIMENT].between(-1.0, 1.0).all()
    assert set(first[SENTIMENT_LABEL]) <= {"negative", "neutral", "positive"}
    pd.testing.assert_frame_equal(first, second)


def test_other_language_scores_zero():
    frame = score_sentiment(["12345"], ["other"], method="lexicon")
    assert frame[SENTIMENT].iloc[0] == 0.0
    assert frame[SENTIMENT_LABEL].iloc[0] == "neutral"


def test_languages_detected_when_omitted():
    detected = score_sentiment(["不太满意", "hardly helpful"], method="lexicon")
    explicit = score_sentiment(["不太满意", "hardly helpful"], ["zh", "en"], method="lexicon")
    pd.testing.assert_frame_equal(detected, explicit)


def test_auto_uses_lexicon_without_embeddings():
    auto = score_sentiment(MIXED_TEXTS, method="auto")
    lexical = score_sentiment(MIXED_TEXTS, method="lexicon")
    pd.testing.assert_frame_equal(auto, lexical)


def test_combined_is_mean_of_parts():
    embedder = HashingEmbedder()
    vectors = embedder.encode(MIXED_TEXTS)
    combined = score_sentiment(MIXED_TEXTS, method="combined", doc_embeddings=vectors, embedder=embedder)
    lexical = score_sentiment(MIXED_TEXTS, method="lexicon")[SENTIMENT].to_numpy()
    zero_shot = prototype_scores(vectors, embedder)
    np.testing.assert_allclose(combined[SENTIMENT].to_numpy(), (lexical + zero_shot) / 2)


def test_prototype_cache_per_dimension():
    small, large = HashingEmbedder(dimension=64), HashingEmbedder(dimension=128)
    assert prototype_scores(small.encode(["满意"]), small).shape == (1,)
    assert prototype_scores(large.encode(["满意"]), large).shape == (1,)


def test_prototypes_score_their_own_class():
    # With a lexical embedder each prototype is nearest to itself, so its sign must match its class.
    embedder = HashingEmbedder()
    positive = prototype_scores(embedder.encode(list(lexicon.POSITIVE_PROTOTYPES)), embedder)
    negative = prototype_scores(embedder.encode(list(lexicon.NEGATIVE_PROTOTYPES)), embedder)
    assert (positive > 0).all()
    assert (negative < 0).all()


HAND_LABELLED = [
    ("送得很快，很满意", 1), ("味道很好，满意", 1), ("客服很耐心，满意", 1), ("包装很好，很满意", 1),
    ("great service, happy", 1), ("fast delivery, happy", 1), ("很满意，下次再来", 1), ("happy with the refund", 1),
    ("太慢了，不满意", 0), ("难吃，不满意", 0), ("客服态度差，不满意", 0), ("东西坏了，很不满意", 0),
    ("awful service, angry", 0), ("late delivery, angry", 0), ("不满意，再也不买", 0), ("angry about the refund", 0),
]


def test_fit_on_labels_hand_made_set():
    texts = [text for text, _ in HAND_LABELLED]
    labels = [label for _, label in HAND_LABELLED] + [None, np.nan]
    embedder = HashingEmbedder()
    vectors = embedder.encode([*texts, "未标注的一行", "an unlabelled row"])

    fitted = fit_on_labels(vectors, labels)

    assert fitted.labelled_rows == len(HAND_LABELLED)
    assert fitted.folds == 5
    assert 0.0 <= fitted.cv_balanced_accuracy <= 1.0
    frame = fitted.score(vectors[: len(texts)])
    assert frame[SENTIMENT].between(-1.0, 1.0).all()
    expected = ["positive" if label else "negative" for _, label in HAND_LABELLED]
    assert frame[SENTIMENT_LABEL].tolist() == expected


def test_fit_on_labels_is_deterministic():
    embedder = HashingEmbedder()
    vectors = embedder.encode([text for text, _ in HAND_LABELLED])
    labels = [label for _, label in HAND_LABELLED]
    assert fit_on_labels(vectors, labels).cv_balanced_accuracy == fit_on_labels(vectors, labels).cv_balanced_accuracy


def test_fit_on_labels_few_rows_fewer_folds():
    embedder = HashingEmbedder()
    vectors = embedder.encode(["满意", "很满意", "happy", "不满意", "angry", "很不满意"])
    fitted = fit_on_labels(vectors, [True, True, True, False, False, False])
    assert fitted.folds == 3


def test_unknown_method_raises():
    with pytest.raises(ValueError, match=r"unknown sentiment method 'stars': expected one of auto, lexicon"):
        score_sentiment(["好"], method="stars")
    assert "embedding-prototypes" in SENTIMENT_METHODS


def test_language_count_mismatch_raises():
    with pytest.raises(ValueError, match="got 2 texts but 1 languages"):
        score_sentiment(["好", "bad"], ["zh"], method="lexicon")


def test_embedding_count_mismatch_raises():
    with pytest.raises(ValueError, match="got 2 texts but 1 embeddings"):
        score_sentiment(["好", "bad"], method="combined", doc_embeddings=np.zeros((1, 512)))


@pytest.mark.parametrize("method", ["embedding-prototypes", "combined"])
def test_embedding_method_without_embeddings_raises(method):
    with pytest.raises(ValueError, match=f"sentiment method '{method}' needs doc_embeddings"):
        score_sentiment(["好"], method=method)


def test_prototype_dimension_mismatch_raises():
    with pytest.raises(ValueError, match=r"doc_embeddings have shape \(2, 3\), but hashing makes vectors of dimension 512"):
        prototype_scores(np.zeros((2, 3)), HashingEmbedder())


def test_fit_on_labels_length_mismatch_raises():
    with pytest.raises(ValueError, match="got 3 embeddings but 2 labels"):
        fit_on_labels(np.zeros((3, 4)), [0, 1])


def test_fit_on_labels_invalid_label_raises():
    with pytest.raises(ValueError, match="invalid sentiment labels '满意': use 1 for positive, 0 for negative"):
        fit_on_labels(np.zeros((3, 4)), [0, 1, "满意"])


def test_fit_on_labels_single_class_raises():
    with pytest.raises(ValueError, match="need at least 2 labelled rows of each class, got 1 negative and 3 positive"):
        fit_on_labels(np.eye(4), [1, 1, 1, 0])


@pytest.mark.real_model
def test_e5_prototypes_read_clear_feedback():
    from painpoints.embed import load_embedder

    embedder = load_embedder("e5-multilingual")
    texts = ["配送很准时，饭菜也很好吃", "等了一个半小时，饭都凉了", "Great support, solved in minutes",
             "Awful experience, I want my money back"]
    scores = prototype_scores(embedder.encode(texts), embedder)
    assert (scores[[0, 2]] > 0).all(), scores
    assert (scores[[1, 3]] < 0).all(), scores
