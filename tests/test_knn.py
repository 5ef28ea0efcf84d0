"""Exact cosine neighbours handed to UMAP in place of pynndescent."""

import numpy as np
import pytest

from painpoints.knn import BLOCK_ROWS, exact_cosine_knn


def _unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_matches_brute_force_across_blocks():
    vectors = _unit(BLOCK_ROWS + 300, 16)
    indices, distances = exact_cosine_knn(vectors, 10)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, np.inf)
    expected = np.argsort(-similarity, axis=1, kind="stable")[:, :10]
    assert np.array_equal(indices, expected)
    gathered = 1.0 - np.take_along_axis(vectors @ vectors.T, expected, axis=1)
    gathered[:, 0] = 0.0
    assert np.allclose(distances, np.clip(gathered, 0, None), atol=1e-6)


def test_self_first_and_distances_ascending():
    vectors = _unit(200, 8, seed=3)
    indices, distances = exact_cosine_knn(vectors, 15)
    assert np.array_equal(indices[:, 0], np.arange(200))
    assert np.all(distances[:, 0] == 0.0)
    assert np.all(np.diff(distances, axis=1) >= -1e-7)
    assert indices.dtype == np.int32
    assert distances.dtype == np.float32


def test_duplicate_rows_keep_themselves_first():
    vectors = np.repeat(_unit(5, 4, seed=1), 3, axis=0)
    indices, distances = exact_cosine_knn(vectors, 3)
    assert np.array_equal(indices[:, 0], np.arange(15))
    # The other two copies follow, at distance 0, in row order.
    assert indices[0].tolist() == [0, 1, 2]
    assert indices[4].tolist() == [4, 3, 5]
    assert np.allclose(distances, 0.0, atol=1e-6)


def test_all_points_as_neighbours():
    vectors = _unit(6, 3, seed=2)
    indices, _ = exact_cosine_knn(vectors, 6)
    assert all(sorted(row) == list(range(6)) for row in indices.tolist())


@pytest.mark.parametrize("n_neighbors", [0, 7])
def test_rejects_impossible_neighbour_count(n_neighbors):
    with pytest.raises(ValueError, match="between 1 and the 6 points"):
        exact_cosine_knn(_unit(6, 3), n_neighbors)
