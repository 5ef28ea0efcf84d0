import numpy as np
import pytest
from sklearn.metrics import v_measure_score

from painpoints import schema as S
from painpoints.embed import HashingEmbedder
from painpoints.settings import MIN_TEXTS_FOR_TOPICS
from painpoints.topics import (
    TopicSettings,
    auto_min_topic_size,
    centre_rows,
    fit_topics,
    max_topic_size,
    reduce_outliers,
)

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


def test_centre_rows_removes_the_shared_direction():
    rng = np.random.default_rng(1)
    shared = np.eye(1, 32)[0]
    own = np.repeat(np.eye(3, 32, k=1), 10, axis=0) + 0.05 * rng.normal(size=(30, 32))
    vectors = 3 * shared + own
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert (vectors[:10] @ vectors[10:].T).min() > 0.8
    centred = centre_rows(vectors)
    np.testing.assert_allclose(np.linalg.norm(centred, axis=1), 1.0, rtol=1e-5)
    # Texts of different groups stop looking alike, and texts of one group still do.
    assert (centred[:10] @ centred[10:].T).max() < 0.0
    assert (centred[:10] @ centred[:10].T).min() > 0.8


def test_centre_rows_all_rows_equal():
    vectors = np.tile(np.eye(1, 8), (5, 1))
    np.testing.assert_allclose(centre_rows(vectors), vectors)


@pytest.mark.parametrize("n_docs, min_size, expected", [(3000, 20, 1499), (51, 5, 25), (40, 10, 0), (200, 100, 0)])
def test_max_topic_size(n_docs, min_size, expected):
    assert max_topic_size(n_docs, min_size) == expected
    assert expected == 0 or expected < n_docs / 2


def test_topics_stay_below_half_the_texts():
    # Two close groups of 20 and one far group of 12. Without the size limit, HDBSCAN
    # keeps the two close groups as one topic of 40 of the 52 texts.
    rng = np.random.default_rng(5)
    directions = np.array([np.eye(1, 24, k=0)[0], np.eye(1, 24, k=0)[0] + 0.2 * np.eye(1, 24, k=1)[0],
                           np.eye(1, 24, k=5)[0]])
    sizes = [20, 20, 12]
    vectors = np.vstack([np.repeat(direction[None], size, axis=0) for direction, size in zip(directions, sizes)])
    vectors = vectors + 0.04 * rng.normal(size=vectors.shape)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"反馈 第{index}条 主题{group}" for group, size in enumerate(sizes) for index in range(size)]
    result = fit_topics(texts, vectors, TopicSettings(seed=3, min_topic_size=5))
    assert len(result.topic_info) >= 3
    assert result.topic_info["docs"].max() < len(texts) / 2
