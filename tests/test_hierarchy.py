"""Topic hierarchy: parent themes from topic centroids, and the text tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.hierarchy import (
    HIERARCHY_COLUMNS,
    THEME_ID,
    default_theme_count,
    render_tree,
    topic_hierarchy,
)
from painpoints.pipeline import run_analysis
from painpoints.report import write_outputs

# Six topics whose texts lie near three directions: delivery (0, 1), money (2, 3),
# app (4, 5). Each topic has three texts around its own point.
TOPIC_POINTS = {
    0: [1.0, 0.1, 0.0, 0.0],
    1: [1.0, -0.1, 0.05, 0.0],
    2: [0.0, 0.1, 1.0, 0.0],
    3: [0.05, 0.0, 1.0, 0.1],
    4: [0.0, 0.0, 0.1, 1.0],
    5: [0.0, 0.1, 0.0, 1.0],
}
TOPIC_LABELS = {0: "物流配送", 1: "快递员", 2: "退款", 3: "Refund delays", 4: "闪退", 5: "App crash"}
TOPIC_KEYWORDS = {
    0: ["物流", "快递", "延误"], 1: ["快递", "快递员", "物流"], 2: ["退款", "到账"], 3: ["退款", "refund"],
    4: ["闪退", "打开"], 5: ["crash", "闪退"],
}
TOPIC_ROWS = {0: 30, 1: 12, 2: 20, 3: 5, 4: 8, 5: 9}


@pytest.fixture
def hand_made_topics():
    rng = np.random.default_rng(0)
    doc_topics, vectors = [], []
    for topic, point in TOPIC_POINTS.items():
        for _ in range(3):
            doc_topics.append(topic)
            vectors.append(np.array(point) + rng.normal(0, 0.01, len(point)))
    doc_embeddings = np.array(vectors)
    doc_embeddings /= np.linalg.norm(doc_embeddings, axis=1, keepdims=True)
    topic_info = pd.DataFrame({
        S.TOPIC_ID: list(TOPIC_POINTS),
        "label": [TOPIC_LABELS[topic] for topic in TOPIC_POINTS],
        "keywords": [TOPIC_KEYWORDS[topic] for topic in TOPIC_POINTS],
        "rows": [TOPIC_ROWS[topic] for topic in TOPIC_POINTS],
    })
    return topic_info, np.array(doc_topics), doc_embeddings


def test_groups_topics_into_expected_themes(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=3)

    groups = hierarchy.groupby(THEME_ID)[S.TOPIC_ID].apply(frozenset)
    assert set(groups) == {frozenset({0, 1}), frozenset({2, 3}), frozenset({4, 5})}


def test_every_topic_in_one_theme(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=3)

    assert list(hierarchy.columns) == list(HIERARCHY_COLUMNS)
    assert sorted(hierarchy[S.TOPIC_ID]) == sorted(TOPIC_POINTS)
    assert hierarchy[S.TOPIC_ID].is_unique


def test_themes_numbered_by_rows(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=3)

    theme_rows = hierarchy.groupby(THEME_ID)["rows"].sum()
    assert theme_rows.tolist() == [42, 25, 17]
    assert hierarchy.loc[hierarchy[THEME_ID] == 0, S.TOPIC_ID].tolist() == [0, 1]


def test_theme_label_from_shared_keywords(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=3)
    labels = hierarchy.groupby(THEME_ID)["theme_label"].first()

    assert labels[0] == "物流 · 快递 · 延误"
    assert labels[1].startswith("退款")
    assert labels[2].startswith("闪退")


def test_single_topic_theme_keeps_its_label(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=6)

    assert (hierarchy["theme_label"] == hierarchy["label"]).all()


def test_keywords_as_joined_string(hand_made_topics):
    topic_info, doc_topics, doc_embeddings = hand_made_topics
    joined = topic_info.assign(keywords=topic_info["keywords"].map(", ".join))

    hierarchy = topic_hierarchy(joined, doc_topics, doc_embeddings, n_themes=3)

    assert hierarchy.groupby(THEME_ID)["theme_label"].first()[0] == "物流 · 快递 · 延误"


def test_rows_counted_when_column_absent(hand_made_topics):
    topic_info, doc_topics, doc_embeddings = hand_made_topics

    hierarchy = topic_hierarchy(topic_info.drop(columns="rows"), doc_topics, doc_embeddings, n_themes=3)

    assert (hierarchy["rows"] == 3).all()


def test_default_theme_count_used(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics)

    assert hierarchy[THEME_ID].nunique() == default_theme_count(len(TOPIC_POINTS))


@pytest.mark.parametrize(("n_topics", "expected"), [(0, 0), (1, 1), (2, 1), (3, 2), (9, 3), (60, 8), (500, 10)])
def test_default_theme_count(n_topics, expected):
    assert default_theme_count(n_topics) == expected


def test_unclustered_topic_left_out(hand_made_topics):
    topic_info, doc_topics, doc_embeddings = hand_made_topics
    unclustered = pd.DataFrame({S.TOPIC_ID: [S.UNCLUSTERED], "label": ["Unclustered"], "keywords": [""], "rows": [4]})

    hierarchy = topic_hierarchy(pd.concat([topic_info, unclustered]), doc_topics, doc_embeddings, n_themes=3)

    assert S.UNCLUSTERED not in set(hierarchy[S.TOPIC_ID])


def test_no_topics_gives_empty_frame():
    empty = pd.DataFrame({S.TOPIC_ID: pd.Series(dtype="int64"), "label": [], "keywords": []})

    hierarchy = topic_hierarchy(empty, np.array([-1, -1]), np.eye(2))

    assert hierarchy.empty
    assert list(hierarchy.columns) == list(HIERARCHY_COLUMNS)


def test_tree_lists_every_label(hand_made_topics):
    hierarchy = topic_hierarchy(*hand_made_topics, n_themes=3)

    tree = render_tree(hierarchy)

    for label in list(TOPIC_LABELS.values()) + hierarchy["theme_label"].unique().tolist():
        assert label in tree
    assert tree.splitlines()[0] == "物流 · 快递 · 延误 (42)"
    assert len(tree.splitlines()) == 3 + len(TOPIC_POINTS)


def test_rejects_bad_input(hand_made_topics):
    topic_info, doc_topics, doc_embeddings = hand_made_topics

    with pytest.raises(ValueError, match=r"lacks the columns \['keywords'\]"):
        topic_hierarchy(topic_info.drop(columns="keywords"), doc_topics, doc_embeddings)
    with pytest.raises(ValueError, match="doc_topics has 17 entries but doc_embeddings has shape"):
        topic_hierarchy(topic_info, doc_topics[:-1], doc_embeddings)
    with pytest.raises(ValueError, match="topic 5 has no text in doc_topics"):
        topic_hierarchy(topic_info, np.where(doc_topics == 5, 4, doc_topics), doc_embeddings)
    for n_themes in (0, 7):
        with pytest.raises(ValueError, match=f"n_themes is {n_themes}; it must be between 1 and .* \\(6\\)"):
            topic_hierarchy(topic_info, doc_topics, doc_embeddings, n_themes=n_themes)


def test_pipeline_writes_hierarchy_csv(themed_csv, settings, embedder, tmp_path):
    result = run_analysis(themed_csv, settings, embedder=embedder)

    written = write_outputs(result, tmp_path / "out")

    hierarchy = pd.read_csv(written["hierarchy"], encoding="utf-8-sig")
    topic_ids = set(result.topics.loc[result.topics[S.TOPIC_ID] >= 0, S.TOPIC_ID])
    assert list(hierarchy.columns) == list(HIERARCHY_COLUMNS)
    assert set(hierarchy[S.TOPIC_ID]) == topic_ids
    assert hierarchy[S.TOPIC_ID].is_unique


def test_language_offset_removed_before_grouping():
    # Three subjects, each with a Chinese and an English topic. A large offset per
    # language makes the two languages' topics nearer to each other than to their subject.
    rng = np.random.default_rng(1)
    subjects = {"delivery": [1.0, 0.0, 0.0], "refund": [0.0, 1.0, 0.0], "crash": [0.0, 0.0, 1.0]}
    offsets = {"zh": [3.0, 0.0], "en": [0.0, 3.0]}
    rows, doc_topics, vectors, languages = [], [], [], []
    topic = 0
    for subject, point in subjects.items():
        for language, offset in offsets.items():
            rows.append({S.TOPIC_ID: topic, "label": f"{subject}-{language}", "keywords": [subject]})
            for _ in range(4):
                doc_topics.append(topic)
                vectors.append(np.array(point + offset) + rng.normal(0, 0.05, 5))
                languages.append(language)
            topic += 1
    topic_info = pd.DataFrame(rows)
    doc_embeddings = np.array(vectors)

    by_language = topic_hierarchy(topic_info, np.array(doc_topics), doc_embeddings, n_themes=3)
    by_subject = topic_hierarchy(topic_info, np.array(doc_topics), doc_embeddings, n_themes=3,
                                 doc_languages=languages)

    def theme_members(hierarchy):
        return {frozenset(group["label"]) for _, group in hierarchy.groupby(THEME_ID)}

    expected = {frozenset({f"{subject}-zh", f"{subject}-en"}) for subject in subjects}
    assert theme_members(by_subject) == expected
    assert theme_members(by_language) != expected


@pytest.mark.parametrize("block", [3, 20_000])
def test_language_means_removed_from_centroids(monkeypatch, block):
    # The centroids equal those of the vectors minus their language's mean, computed
    # in full, whatever the block the language means are summed in.
    from painpoints import hierarchy

    rng = np.random.default_rng(4)
    doc_topics = rng.integers(0, 6, 200)
    languages = rng.choice(["zh", "en", "other"], 200, p=[0.6, 0.3, 0.1])
    vectors = (rng.normal(size=(200, 16)) + (languages == "en")[:, None] * 3).astype(np.float32)
    adjusted = vectors.astype(np.float64)
    for language in np.unique(languages):
        adjusted[languages == language] -= adjusted[languages == language].mean(axis=0)
    expected = np.vstack([adjusted[doc_topics == topic].mean(axis=0) for topic in range(6)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    monkeypatch.setattr(hierarchy, "_MEAN_BLOCK", block)
    centroids = hierarchy._topic_centroids(doc_topics, vectors, list(range(6)), languages)
    np.testing.assert_allclose(centroids, expected, atol=1e-12)


def test_languages_length_must_match(hand_made_topics):
    topic_info, doc_topics, doc_embeddings = hand_made_topics
    with pytest.raises(ValueError, match="one language per text"):
        topic_hierarchy(topic_info, doc_topics, doc_embeddings, doc_languages=["zh"])
