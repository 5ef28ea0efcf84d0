"""Topic map coordinates: centroids of the document embeddings projected to two dimensions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.topic_map import (
    MAP_X,
    MAP_Y,
    add_map_coordinates,
    map_coordinates,
    topic_centroids,
)


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight clusters in 16 dimensions: topics 0 and 1 close together, topic 2 far away, plus outliers."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, 16))
    centres[0, 0] = 1.0
    centres[1, 0], centres[1, 1] = 0.95, 0.3
    centres[2, 5] = 1.0
    topics = np.repeat([0, 1, 2, -1], [20, 20, 20, 5])
    embeddings = np.vstack([centres[topic] + rng.normal(scale=0.02, size=16) if topic >= 0
                            else rng.normal(size=16) for topic in topics])
    return topics, embeddings


def test_centroids_are_unit_length_and_skip_outliers():
    topics, embeddings = _clusters()
    centroids = topic_centroids(topics, embeddings)
    assert sorted(centroids) == [0, 1, 2]
    for centroid in centroids.values():
        assert np.linalg.norm(centroid) == pytest.approx(1.0)


def test_centroids_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="doc_topics has 2 entries but doc_embeddings has 3 rows"):
        topic_centroids(np.array([0, 1]), np.ones((3, 4)))


def test_map_keeps_near_topics_near():
    topics, embeddings = _clusters()
    coordinates = map_coordinates(topic_centroids(topics, embeddings)).set_index(S.TOPIC_ID)
    points = coordinates[[MAP_X, MAP_Y]].to_numpy()
    near = np.linalg.norm(points[0] - points[1])
    far = min(np.linalg.norm(points[0] - points[2]), np.linalg.norm(points[1] - points[2]))
    assert near < far / 2


def test_map_is_deterministic():
    topics, embeddings = _clusters()
    first = map_coordinates(topic_centroids(topics, embeddings))
    second = map_coordinates(topic_centroids(topics, embeddings))
    pd.testing.assert_frame_equal(first, second)


def test_map_of_one_and_two_topics():
    one = map_coordinates({3: np.array([1.0, 0.0])})
    assert one[[MAP_X, MAP_Y]].to_numpy().tolist() == [[0.0, 0.0]]

    two = map_coordinates({0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0])})
    assert two[MAP_Y].tolist() == [0.0, 0.0]
    assert abs(two[MAP_X].iloc[0] - two[MAP_X].iloc[1]) == pytest.approx(np.sqrt(2))
    assert map_coordinates({}).empty


def test_add_map_coordinates_leaves_unclustered_empty():
    topics, embeddings = _clusters()
    table = pd.DataFrame({S.TOPIC_ID: [0, 1, 2, 7, S.UNCLUSTERED], "label": list("abcde")})
    mapped = add_map_coordinates(table, topics, embeddings)

    assert mapped[[MAP_X, MAP_Y]].iloc[:3].notna().all().all()
    assert mapped[[MAP_X, MAP_Y]].iloc[3:].isna().all().all()
    assert list(mapped.columns) == [S.TOPIC_ID, "label", MAP_X, MAP_Y]
    assert MAP_X not in table.columns
