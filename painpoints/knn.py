"""Exact cosine nearest neighbours of unit vectors, for UMAP's ``precomputed_knn``.

Above 4,095 points UMAP finds neighbours with pynndescent, whose ``nn_descent``
function numba compiles anew in every process: it uses global arrays, so numba's
disk cache cannot keep it. In a cProfile of a topic fit on 11,976 Chinese reviews
(2 cores, other jobs running), numba compilation inside pynndescent took 14.6 of the
33 s. Up to ``EXACT_KNN_MAX_POINTS`` points, painpoints computes the exact neighbours
with one matrix product per block of rows instead and passes them to UMAP, which then
skips pynndescent. On the same reviews the fit took 16.4 s instead of 24.5 s, with
the same topics count. pynndescent approximates these exact neighbours.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# NOTE: an estimate, not measured: the exact search grows with n² (2.6 s at 11,976
# points in the cProfile above), so above this many points it may cost more than
# pynndescent's compilation.
EXACT_KNN_MAX_POINTS: Final = 20_000
BLOCK_ROWS: Final = 1024


def exact_cosine_knn(vectors: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``n_neighbors`` nearest rows of each row by cosine distance, itself first.

    Parameters
    ----------
    vectors : numpy.ndarray, shape (n, dim)
        Unit-length rows, so cosine similarity is the dot product.
    n_neighbors : int
        Neighbours per row, the row itself included (UMAP's convention), at most n.

    Returns
    -------
    indices : numpy.ndarray, shape (n, n_neighbors), int32
        Neighbour rows, nearest first, equal similarities in row order.
    distances : numpy.ndarray, shape (n, n_neighbors), float32
        Cosine distances ``1 - similarity``, clipped at 0, the first column 0.
    """
    import torch

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n_points = len(vectors)
    if not 1 <= n_neighbors <= n_points:
        raise ValueError(f"n_neighbors is {n_neighbors}, but it must be between 1 and the {n_points} points")
    indices = np.empty((n_points, n_neighbors), dtype=np.int32)
    distances = np.empty((n_points, n_neighbors), dtype=np.float32)
    for start in range(0, n_points, BLOCK_ROWS):
        rows = np.arange(start, min(start + BLOCK_ROWS, n_points))
        similarity = vectors[rows] @ vectors.T
        # A row's own similarity may round below a twin's: put itself first explicitly.
        similarity[np.arange(len(rows)), rows] = np.inf
        if n_neighbors < n_points:
            # torch's top-k runs about 6 times faster than numpy's argpartition on blocks of 1,024 × 10,000.
            candidates = torch.topk(torch.from_numpy(similarity), n_neighbors, dim=1).indices.numpy()
        else:
            candidates = np.tile(np.arange(n_points), (len(rows), 1))
        chosen = np.take_along_axis(similarity, candidates, axis=1)
        # Sort by similarity, then by row number, so ties do not depend on the top-k search.
        order = np.lexsort((candidates, -chosen), axis=1)
        indices[rows] = np.take_along_axis(candidates, order, axis=1)
        sorted_similarity = np.take_along_axis(chosen, order, axis=1)
        distances[rows] = np.clip(1.0 - sorted_similarity, 0.0, None)
        distances[rows, 0] = 0.0
    return indices, distances
