import numpy as np
import pytest
from sklearn.metrics import v_measure_score

from painpoints import schema as S
from painpoints.embed import HashingEmbedder
from painpoints.settings import MIN_TEXTS_FOR_TOPICS
from painpoints.topics import TopicSettings, auto_min_topic_size, fit_topics, reduce_outliers

from .conftest import THEMES_ZH


@pytest.fixture(scope="module")
def themed_texts():
    texts = [text for group in THEMES_ZH.values() for text in group]
    themes = [theme for theme, group in THEMES_ZH.items() for _ in group]
    return texts, themes


def _fit(texts, seed=7):
    vectors = HashingEmbedder().encode(texts)
    return fit_topics(texts, vectors, TopicSettings(seed=seed, min_topic_size=5))


def test_finds_the_four_themes(themed_texts):
    texts, themes = themed_texts
    result = _fit(texts)
    assert len(result.topic_info) == 4
    assert v_measure_score(themes, result.doc_topics) > 0.8
    assert result.outlier_share_after <= 0.10
    for keywords in result.topic_info["keywords"]:
        assert keywords, "every topic has keywords"
        assert all(len(word) <= 4 for word in keywords), keywords


def test_labels_are_short_words_never_a_row(themed_texts):
    texts, _ = themed_texts
    result = _fit(texts)
    labels = set(result.topic_info["label"])
    assert not labels & set(texts)
    keywords = {word for words in result.topic_info["keywords"] for word in words}
    assert {"物流", "退款", "闪退", "客服"} <= keywords


def test_row_order_does_not_change_grouping(themed_texts):
    texts, _ = themed_texts
    first = _fit(texts)
    permutation = np.random.default_rng(3).permutation(len(texts))
    shuffled = _fit([texts[index] for index in permutation])
    regrouped = np.empty_like(shuffled.doc_topics)
    regrouped[permutation] = shuffled.doc_topics
    assert v_measure_score(first.doc_topics, regrouped) == pytest.approx(1.0)


def test_same_seed_same_topics(themed_texts):
    texts, _ = themed_texts
    np.testing.assert_array_equal(_fit(texts, seed=11).doc_topics, _fit(texts, seed=11).doc_topics)


def test_topics_numbered_by_size(themed_texts):
    texts, _ = themed_texts
    result = _fit(texts)
    assert result.topic_info[S.TOPIC_ID].tolist() == list(range(len(result.topic_info)))
    assert result.topic_info["docs"].is_monotonic_decreasing


def test_too_few_texts_reports_unclustered():
    texts = [f"反馈 {index}" for index in range(MIN_TEXTS_FOR_TOPICS - 1)]
    result = fit_topics(texts, HashingEmbedder().encode(texts))
    assert result.note == "topics.too_few_texts"
    assert (result.doc_topics == S.UNCLUSTERED).all()
    assert result.topic_info.empty


def test_reduce_outliers_respects_max_share():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16)
    members = np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(40, 16))
    strays = rng.normal(size=(20, 16))
    vectors = np.vstack([members, strays])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    topics = np.array([topic for topic in range(4) for _ in range(10)] + [S.UNCLUSTERED] * 20)
    reduced = reduce_outliers(vectors, topics, max_share=0.10)
    assert np.mean(reduced == S.UNCLUSTERED) <= 0.10
    np.testing.assert_array_equal(reduced[:40], topics[:40])
    assert np.mean(reduce_outliers(vectors, topics, max_share=1.0) == S.UNCLUSTERED) > 0.10


@pytest.mark.parametrize("n_docs, expected", [(40, 5), (1500, 10), (12000, 80), (10**6, 100)])
def test_auto_min_topic_size(n_docs, expected):
    assert auto_min_topic_size(n_docs) == expected
