"""Two-dimensional topic map: where each topic sits relative to the others.

The run store keeps no document embeddings, so the map coordinates are computed
while the run is analysed and stored as the ``map_x`` and ``map_y`` columns of the
topics table. Each topic is placed at the principal-component projection (PCA,
which equals classical multidimensional scaling of the Euclidean distances) of its
centroid: the mean of its documents' embeddings, scaled to unit length. Topics
whose centroids point the same way land close together. PCA with the full SVD
solver has no random step, so the same embeddings always give the same map.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import PCA

from painpoints import schema as S

MAP_X: Final = "map_x"
MAP_Y: Final = "map_y"
MAP_COLUMNS: Final = (MAP_X, MAP_Y)


def topic_centroids(doc_topics: np.ndarray, doc_embeddings: np.ndarray) -> dict[int, np.ndarray]:
    """Return the unit-length mean embedding of every topic >= 0.

    ``doc_topics`` gives the topic of each row of ``doc_embeddings``. Unclustered rows
    (-1) and topics whose mean is the zero vector get no centroid.
    """
    doc_topics = np.asarray(doc_topics)
    doc_embeddings = np.asarray(doc_embeddings)
    if len(doc_topics) != len(doc_embeddings):
        raise ValueError(f"doc_topics has {len(doc_topics)} entries but doc_embeddings has "
                         f"{len(doc_embeddings)} rows; expected one topic per embedding")
    rows = np.flatnonzero(doc_topics >= 0)
    topic_ids, positions = np.unique(doc_topics[rows], return_inverse=True)
    # A sparse topic-by-row indicator sums every topic's rows in one pass, without copying
    # the embeddings. Its weights take the embeddings' dtype, so float32 stays float32.
    weights = np.ones(len(rows), dtype=doc_embeddings.dtype if doc_embeddings.dtype.kind == "f" else float)
    indicator = sparse.csr_matrix((weights, (positions, rows)), shape=(len(topic_ids), len(doc_topics)))
    sums = np.asarray(indicator @ doc_embeddings, dtype=float)
    centroids = {}
    for topic, total in zip(topic_ids, sums):
        norm = np.linalg.norm(total)
        if norm > 0:
            centroids[int(topic)] = total / norm
    return centroids


def map_coordinates(centroids: dict[int, np.ndarray]) -> pd.DataFrame:
    """Project topic centroids to two dimensions.

    Returns a frame with ``topic_id``, ``map_x`` and ``map_y``, one row per centroid in
    topic order. One topic sits at the origin. With two topics the second axis is 0.
    """
    topic_ids = sorted(centroids)
    coordinates = np.zeros((len(topic_ids), 2))
    if len(topic_ids) >= 2:
        matrix = np.vstack([centroids[topic] for topic in topic_ids])
        # n points span at most n - 1 dimensions, so two topics get one component.
        components = min(2, len(topic_ids) - 1, matrix.shape[1])
        projected = PCA(n_components=components, svd_solver="full").fit_transform(matrix)
        coordinates[:, :components] = projected
    return pd.DataFrame({S.TOPIC_ID: topic_ids, MAP_X: coordinates[:, 0], MAP_Y: coordinates[:, 1]})


def add_map_coordinates(topics: pd.DataFrame, doc_topics: np.ndarray, doc_embeddings: np.ndarray) -> pd.DataFrame:
    """Return ``topics`` with ``map_x`` and ``map_y`` filled for every topic >= 0 that has documents.

    The unclustered line (-1) and topics without embedded rows keep NaN, because they
    have no centroid.
    """
    coordinates = map_coordinates(topic_centroids(doc_topics, doc_embeddings)).set_index(S.TOPIC_ID)
    topics = topics.copy()
    for column in MAP_COLUMNS:
        topics[column] = [float(coordinates[column].get(int(topic), np.nan)) for topic in topics[S.TOPIC_ID]]
    return topics
