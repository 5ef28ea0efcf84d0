"""Ray engine: clean, embed and assign topics as Ray Data batch jobs.

With ``AnalysisSettings.engine == "ray"`` the pipeline calls :class:`RayEngine`
for three stages and does everything else on the driver (the process that runs
painpoints), exactly as a local run does:

* clean: :func:`painpoints.clean.clean_documents` on each batch of rows; the driver
  then marks duplicates across all rows, because duplicates can sit in different batches.
* embed: an actor pool in which each actor loads the embedding backend once. The
  embedding cache stays on the driver: cached vectors are read before the job and
  new ones written after it, so workers never need the driver's disk.
* topics: the driver fits the topic model on a deterministic sample
  (:func:`painpoints.sampling.sample_indices`), and a batch job assigns every other
  text to the nearest topic centroid (:func:`painpoints.sampling.assign_to_centroids`).

The result equals the local run's result with the same settings: the same sample,
the same fit and the same nearest-centroid rule.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Final

import numpy as np
import pandas as pd

from painpoints import errors
from painpoints import schema as S
from painpoints.clean import clean_documents, mark_repeated_texts
from painpoints.embed import (
    BATCH_SIZE,
    Embedder,
    cache_key,
    load_embedder,
    uncached_order,
)
from painpoints.errors import PainpointsError, SettingsError
from painpoints.sampling import (
    assign_to_centroids,
    fit_topics_sampled,
)
from painpoints.topics import StageCallback, TopicResult, TopicSettings, fit_topics
from painpoints.vector_cache import EmbeddingCache

logger = logging.getLogger(__name__)

# Rows per Ray block: 10,000 rows make 5 blocks, enough to keep several workers busy,
# and each block is large enough that Ray's per-block scheduling cost stays small.
ROWS_PER_BLOCK: Final = 2_000
# Texts per embedding call, the same chunks as painpoints.embed.embed_texts. A neural
# model's vectors change in the last bits with the other texts of a call (padding),
# and UMAP can turn that into other topics, so the Ray run must embed the same chunks.
EMBED_BATCH_SIZE: Final = BATCH_SIZE * 4
# Texts per block of the embedding job: a multiple of EMBED_BATCH_SIZE, so that the
# batches Ray cuts from consecutive blocks start where the local chunks start.
EMBED_BLOCK_ROWS: Final = EMBED_BATCH_SIZE * 8
ASSIGN_BATCH_SIZE: Final = 10_000
# Ray reads this variable when ``ray`` is imported and, when it is "0", uses the
# loopback address as the node address, as it does on macOS and Windows
# (ray/_private/services.py, get_node_ip_address, Ray 2.60).
_LOOPBACK_SWITCH: Final = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

WORKER_ERROR_MARKER: Final = "painpoints-worker-error "
# JSON with ASCII escapes contains no newline, so the match ends at the end of its line.
_WORKER_ERROR_PATTERN: Final = re.compile(re.escape(WORKER_ERROR_MARKER) + r"(\{[^\n]*\})")

ProgressCallback = Callable[[int, int], None]


def import_ray():
    """Import Ray and Ray Data.

    Raises
    ------
    SettingsError
        With the install command, when Ray is not installed.
    """
    try:
        import ray
        import ray.data  # Ray Data is a separate import.
    except ImportError as error:
        raise SettingsError("engine.ray_missing") from error
    return ray


@contextmanager
def _loopback_node_address() -> Iterator[None]:
    """Make a Ray instance started inside this block use 127.0.0.1 as its node address.

    On Linux, Ray 2.60 replaces 127.0.0.1 given as ``_node_ip_address`` with the
    machine's network address and binds its gRPC servers to every interface. With the
    node address set to the loopback address, its servers bind to 127.0.0.1 only.
    """
    from ray._private import ray_constants

    previous_variable = os.environ.get(_LOOPBACK_SWITCH)
    previous_constant = ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_LOOPBACK_SWITCH] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous_constant
        if previous_variable is None:
            os.environ.pop(_LOOPBACK_SWITCH, None)
        else:
            os.environ[_LOOPBACK_SWITCH] = previous_variable


def start_local_ray(num_cpus: int | None = None, object_store_memory: int | None = None) -> None:
    """Start a Ray instance on this machine, reachable on 127.0.0.1 only.

    Parameters
    ----------
    num_cpus : int, optional
        CPUs Ray may schedule on; all of them by default.
    object_store_memory : int, optional
        Bytes of shared memory for Ray's object store; Ray's default (30 % of available memory) otherwise.
    """
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with _loopback_node_address():
        ray.init(num_cpus=num_cpus, object_store_memory=object_store_memory, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    _quiet_ray_data()


def _quiet_ray_data() -> None:
    """Turn off Ray Data's progress bars and INFO lines; the caller owns progress output."""
    import ray.data

    # Set before the switch, because turning the bars off logs a warning.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False


class WorkerError(Exception):
    """A :class:`~painpoints.errors.PainpointsError` raised on a Ray worker, carried as text.

    Ray Data wraps an error raised in a batch function in its own exception and
    passes the original to the driver only as traceback text. So the message is a
    marker followed by JSON with the error class, catalogue key and parameters, and
    :func:`_worker_error` reads it back from that text.
    """

    @classmethod
    def wrap(cls, error: PainpointsError) -> WorkerError:
        """Return the transportable form of ``error``."""
        payload = {"type": type(error).__name__, "key": error.key,
                   "params": {name: str(value) for name, value in error.params.items()}}
        return cls(WORKER_ERROR_MARKER + json.dumps(payload, ensure_ascii=True))


def _worker_error(error: BaseException) -> PainpointsError | None:
    """Rebuild the PainpointsError that a worker raised, from the text of the error Ray raised."""
    match = _WORKER_ERROR_PATTERN.search(str(error))
    if match is None:
        return None
    payload = json.loads(match.group(1))
    error_class = getattr(errors, payload["type"], PainpointsError)
    return error_class(payload["key"], **payload["params"])


def _blocks(frame: pd.DataFrame, rows: int | None = None) -> list[pd.DataFrame]:
    rows = rows or ROWS_PER_BLOCK
    return [frame.iloc[start:start + rows] for start in range(0, len(frame), rows)] or [frame]


def _clean_batch(batch: pd.DataFrame, redact: bool, simplify: bool) -> pd.DataFrame:
    """Clean one batch; statuses ``duplicate`` are reset because only the driver has all rows."""
    try:
        cleaned = clean_documents(batch.drop(columns="position"), redact=redact, simplify=simplify)
    except PainpointsError as error:  # opencc missing on a worker, with --t2s
        raise WorkerError.wrap(error) from None
    within_batch = cleaned[S.STATUS].eq("duplicate")
    cleaned.loc[within_batch, S.STATUS] = ""
    cleaned.loc[within_batch, S.REASON] = ""
    return pd.DataFrame({
        "position": batch["position"].to_numpy(),
        S.TEXT: cleaned[S.TEXT].to_numpy(),
        S.LANGUAGE: cleaned[S.LANGUAGE].to_numpy(),
        S.TEXT_HASH: cleaned[S.TEXT_HASH].to_numpy(),
        S.STATUS: cleaned[S.STATUS].to_numpy(),
        S.REASON: cleaned[S.REASON].to_numpy(),
    })


def mark_duplicates(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Mark each row whose text equals that of an earlier row with content as ``duplicate``.

    The rule is the one :func:`painpoints.clean.clean_documents` applies: among rows
    with an empty status, the row with the lowest row number keeps its text and the
    others point to it in ``duplicate_of``.
    """
    cleaned = cleaned.copy()
    mark_repeated_texts(cleaned, cleaned[S.STATUS].eq(""))
    return cleaned


def _embed_batch_class(source: str | Embedder) -> type:
    """Build the actor class of the embedding job.

    ``source`` is a backend name, which each actor loads with
    :func:`painpoints.embed.load_embedder`, or an embedder object, which Ray pickles
    to each actor. The class closes over ``source`` so that Ray ships it with the class
    instead of storing it as a constructor argument.
    """

    class EmbedBatch:
        def __init__(self) -> None:
            # A failed load is raised with the first batch, because Ray Data reports an
            # error raised while creating an actor as a generic actor death.
            self.error: WorkerError | None = None
            try:
                self.embedder = load_embedder(source) if isinstance(source, str) else source
            except PainpointsError as error:
                self.error = WorkerError.wrap(error)

        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            if self.error is not None:
                raise self.error
            vectors = self.embedder.encode([str(text) for text in batch[S.TEXT]])
            return {"position": batch["position"], "vector": np.asarray(vectors, dtype=np.float32)}

    return EmbedBatch


def _assign_batch(batch: dict[str, np.ndarray], topic_ids: np.ndarray, centroids: np.ndarray,
                  min_similarity: float | None) -> dict[str, np.ndarray]:
    topics = assign_to_centroids(batch["vector"], topic_ids, centroids, min_similarity)
    return {"position": batch["position"], S.TOPIC_ID: topics}


def _vector_table(positions: np.ndarray, vectors: np.ndarray):
    import pyarrow as pa
    from ray.data.extensions import ArrowTensorArray

    return pa.table({"position": positions, "vector": ArrowTensorArray.from_numpy(vectors)})


class RayEngine:
    """Ray back end of the clean, embed and topic-assignment stages.

    Ray starts on the first stage, so invalid input fails before Ray starts. With
    ``address=None`` the engine starts a local instance bound to 127.0.0.1 unless
    this process is already connected to one; :meth:`close` shuts down only what the
    engine started.

    Parameters
    ----------
    address : str, optional
        ``ray://HOST:10001`` (Ray Client), ``auto`` (the cluster this machine belongs
        to) or ``HOST:6379``; None starts Ray on this machine.

    Raises
    ------
    SettingsError
        When Ray is not installed.
    """

    def __init__(self, address: str | None = None) -> None:
        self.ray = import_ray()
        self.address = address
        self._started = False

    def _connect(self) -> None:
        if self.ray.is_initialized():
            _quiet_ray_data()
            return
        if self.address:
            # NOTE: connecting to a separate cluster is untested; the tests start Ray locally.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            # Ray replaces a loopback host in the address with the machine's network
            # address, where a cluster started by start_local_ray does not listen.
            loopback = self.address.split("://")[-1].split(":")[0] in ("127.0.0.1", "localhost")
            try:
                with _loopback_node_address() if loopback else nullcontext():
                    self.ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise SettingsError("engine.ray_connect_failed", address=self.address, detail=str(error)) from error
            _quiet_ray_data()
        else:
            start_local_ray()
        self._started = True

    def close(self) -> None:
        """Shut Ray down if this engine started or connected it."""
        if self._started:
            self.ray.shutdown()
            self._started = False

    def describe(self) -> dict:
        """Return the engine and cluster size for run.json."""
        if not self.ray.is_initialized():
            return {"name": "ray", "address": self.address}
        resources = self.ray.cluster_resources()
        return {"name": "ray", "address": self.address or "local",
                "nodes": sum(1 for node in self.ray.nodes() if node.get("Alive")),
                "cpus": float(resources.get("CPU", 0.0))}

    def _collect(self, dataset, format_name: str, total: int, progress: ProgressCallback | None,
                 done: int = 0) -> list:
        """Run ``dataset`` and return its batches, one per block, reporting rows done."""
        batches = []
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format=format_name):
                batches.append(batch)
                done += len(batch["position"])
                if progress:
                    progress(done, total)
        except Exception as error:
            # A PainpointsError raised on a worker (a missing model, say) keeps its message.
            found = _worker_error(error)
            if found is None:
                raise
            raise found from error
        return batches

    def clean(self, documents: pd.DataFrame, redact: bool = True, simplify: bool = False,
              progress: ProgressCallback | None = None) -> pd.DataFrame:
        """Clean the ingested rows as :func:`painpoints.clean.clean_documents` does."""
        if documents.empty:
            return clean_documents(documents, redact=redact, simplify=simplify)
        self._connect()
        rows = pd.DataFrame({
            "position": np.arange(len(documents), dtype=np.int64),
            S.ROW_NUMBER: documents[S.ROW_NUMBER].to_numpy(),
            "raw_text": documents["raw_text"].astype(str).to_numpy(),
            S.STATUS: documents[S.STATUS].to_numpy() if S.STATUS in documents else "",
            S.REASON: documents[S.REASON].to_numpy() if S.REASON in documents else "",
        })
        dataset = self.ray.data.from_pandas(_blocks(rows)).map_batches(
            _clean_batch, batch_format="pandas", batch_size=None, fn_kwargs={"redact": redact, "simplify": simplify})
        parts = pd.concat(self._collect(dataset, "pandas", len(rows), progress), ignore_index=True)
        parts = parts.sort_values("position", kind="stable")

        cleaned = documents.drop(columns="raw_text")
        for column in (S.TEXT, S.LANGUAGE, S.TEXT_HASH, S.STATUS, S.REASON):
            cleaned[column] = parts[column].astype(str).to_numpy()
        cleaned = mark_duplicates(cleaned)
        logger.info("cleaned %d rows on Ray: %s", len(cleaned), cleaned[S.STATUS].value_counts().to_dict())
        return cleaned

    def embed(self, texts: Sequence[str], hashes: Sequence[str], embedder: Embedder, source: str | Embedder,
              cache: EmbeddingCache | None = None, progress: ProgressCallback | None = None) -> tuple[np.ndarray, int]:
        """Embed ``texts`` on Ray, reusing and filling the driver's cache, as ``embed_texts`` does.

        Parameters
        ----------
        embedder : Embedder
            The driver's backend; its ``cache_key`` keys the cache and its ``dimension``
            sizes the result.
        source : str or Embedder
            What each actor loads: a backend name for :func:`~painpoints.embed.load_embedder`,
            or an embedder object to pickle to the actors.
        """
        self._connect()
        vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        known = cache.get(cache_key(embedder), hashes) if cache else {}
        for index, text_hash in enumerate(hashes):
            if text_hash in known:
                vectors[index] = known[text_hash]
        missing = np.array(uncached_order(texts, hashes, known), dtype=np.int64)
        if progress:
            progress(len(texts) - missing.size, len(texts))
        if missing.size:
            rows = pd.DataFrame({"position": missing, S.TEXT: [texts[index] for index in missing]})
            workers = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
            dataset = self.ray.data.from_pandas(_blocks(rows, EMBED_BLOCK_ROWS)).map_batches(
                _embed_batch_class(source), batch_format="numpy", batch_size=EMBED_BATCH_SIZE,
                compute=self.ray.data.ActorPoolStrategy(min_size=1, max_size=workers))
            for batch in self._collect(dataset, "numpy", len(texts), progress, done=len(texts) - missing.size):
                vectors[batch["position"]] = batch["vector"]
            if cache:
                cache.put(cache_key(embedder), [hashes[index] for index in missing], vectors[missing])
        logger.info("embedded %d texts with %s on Ray (%d from cache)", len(texts), embedder.model_id, len(known))
        return vectors, len(known)

    def fit_topics(self, texts: Sequence[str], hashes: Sequence[str], doc_embeddings: np.ndarray,
                   settings: TopicSettings, sample_size: int | None, on_stage: StageCallback | None = None,
                   on_batch: ProgressCallback | None = None) -> TopicResult:
        """Fit topics on a sample on the driver and assign the other texts on Ray.

        Calls :func:`painpoints.sampling.fit_topics_sampled` with the assignment of the
        texts outside the sample run as a batch job, so a local run with the same
        ``sample_size`` gives the same topics. With
        ``sample_size=None``, or at least as many texts, the model is fitted on every
        text and the result is that of :func:`~painpoints.topics.fit_topics`.

        Parameters
        ----------
        on_stage : callable, optional
            Passed to ``fit_topics``.
        on_batch : callable, optional
            Called with ``(done, total)`` texts outside the sample as batches finish.
        """
        self._connect()
        if sample_size is None or sample_size >= len(texts):
            return fit_topics(texts, doc_embeddings, settings, on_stage=on_stage)
        vectors = np.asarray(doc_embeddings, dtype=np.float32)

        def assign_on_ray(positions: np.ndarray, topic_ids: np.ndarray, centroids: np.ndarray,
                          min_similarity: float | None) -> np.ndarray:
            blocks = [positions[start:start + ROWS_PER_BLOCK] for start in range(0, positions.size, ROWS_PER_BLOCK)]
            tables = [_vector_table(block, vectors[block]) for block in blocks]
            dataset = self.ray.data.from_arrow(tables).map_batches(
                _assign_batch, batch_format="numpy", batch_size=ASSIGN_BATCH_SIZE,
                fn_kwargs={"topic_ids": topic_ids, "centroids": centroids, "min_similarity": min_similarity})
            topics = np.full(positions.size, S.UNCLUSTERED, dtype=np.int64)
            for batch in self._collect(dataset, "numpy", positions.size, on_batch):
                # Batches come back in any order. `positions` is sorted, so searchsorted finds each row's slot.
                topics[np.searchsorted(positions, batch["position"])] = batch[S.TOPIC_ID]
            return topics

        return fit_topics_sampled(texts, vectors, settings, sample_size, hashes, on_stage=on_stage,
                                  assign=assign_on_ray)
