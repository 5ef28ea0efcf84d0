"""The pipeline's sentiment stage, with lexicon scores computed ahead in a child process.

:func:`add_sentiment` scores the embedded texts of a run. Without a label column the
scores are stored in the result cache (:mod:`painpoints.result_cache`) and read back
by a re-run of the same export.

snownlp's segmenter and VADER run in pure Python on one thread: on 10,000 Chinese
reviews the lexicon scores of :mod:`painpoints.sentiment` take about 10 s. They need
only the texts, not their vectors. So when the embed stage ends, the pipeline starts
them in a child process (:func:`start_lexicon_scores`) and runs the topics stage
before this one. The topics stage is mostly single-threaded (UMAP with a fixed seed,
the keyword tokeniser), so the child gets the other core. It runs at the lowest
priority (``nice`` 19), so the parent keeps a core whenever it needs both.
:func:`add_sentiment` then reads the finished scores with
:meth:`LexiconScoresJob.result`.

They are the same numbers the stage would compute itself
(``tests/test_sentiment_stage.py``). When the child fails, :meth:`LexiconScoresJob.result`
returns None and the stage computes them in its own process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.embed import Embedder, cache_key
from painpoints.errors import InputDataError
from painpoints.result_cache import ResultCache, result_key
from painpoints.sentiment import fit_on_labels, label_values, score_sentiment
from painpoints.settings import AnalysisSettings

logger = logging.getLogger(__name__)

# Below this many texts the lexicon scores take about a second or less (10 s for
# 10,000 Chinese reviews), so the pipeline computes them in its own process.
MIN_TEXTS: Final = 1000
# Added to the child's niceness, so that the parent's threads keep the cores they need.
CHILD_NICENESS: Final = 19


def _score_in_child(sender, texts: Sequence[str], languages: Sequence[str], rules: bool) -> None:
    """Score ``texts`` in the child process and send the scores, or the error's text, to the parent."""
    # Ctrl-C reaches the whole process group; the parent stops this child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent reports failures; nothing from this process reaches the user's terminal.
    sys.stderr = open(os.devnull, "w", encoding="utf-8")
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    try:
        from painpoints.sentiment import lexicon_scores

        message = ("scores", lexicon_scores(texts, languages, rules))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which falls back
        message = ("error", f"{type(error).__name__}: {error}")
    try:
        sender.send(message)
    except OSError:
        pass  # The parent stopped waiting: it closed its end of the pipe.
    finally:
        sender.close()


class LexiconScoresJob:
    """A child process computing ``painpoints.sentiment.lexicon_scores(texts, languages, rules)``.

    The child is forked where the platform allows it, so it inherits the texts
    without copying them through a pipe. A spawned child would first run the parent's
    main script again, and inside Streamlit that is the viewer page. Call
    :meth:`close` when the scores are no longer needed: it stops a child that is
    still running.
    """

    def __init__(self, texts: Sequence[str], languages: Sequence[str], rules: bool = True) -> None:
        # NOTE: where only spawning exists (Windows), the child re-runs the main script.
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        self.size = len(texts)
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_score_in_child, args=(sender, list(texts), list(languages), rules),
                                        daemon=True, name="painpoints-lexicon-scores")
        try:
            self._process.start()
        except BaseException:
            self.close()
            raise
        finally:
            sender.close()

    def result(self) -> np.ndarray | None:
        """Wait for the scores and return them, or None when the child failed (the reason is logged)."""
        try:
            kind, payload = self._receiver.recv()
        except (EOFError, OSError) as error:
            kind, payload = "error", f"the child process ended without scores ({error!r})"
        finally:
            self.close()
        if kind == "scores" and len(payload) == self.size:
            return np.asarray(payload, dtype=float)
        logger.warning("lexicon scores in a child process failed, scoring in this process: %s", payload)
        return None

    def close(self) -> None:
        """Stop the child if it still runs, and release the pipe."""
        if self._process.pid is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join(timeout=5)
        self._receiver.close()


def start_lexicon_scores(texts: Sequence[str], languages: Sequence[str], rules: bool = True) -> LexiconScoresJob | None:
    """Start :class:`LexiconScoresJob` for at least ``MIN_TEXTS`` texts.

    Returns None for fewer texts, or when no child process can start.
    """
    if len(texts) < MIN_TEXTS:
        return None
    try:
        return LexiconScoresJob(texts, languages, rules)
    except OSError as error:
        logger.warning("could not start a child process for the lexicon scores: %s", error)
        return None


def sentiment_plan(settings: AnalysisSettings, candidates: pd.DataFrame, languages: list[str],
                    embedder: Embedder) -> tuple[str, str] | None:
    """Return the sentiment method and its result-cache key, or None with a label column or no texts."""
    if settings.sentiment_label_col or candidates.empty:
        return None
    # "auto" is "self-trained" here, because every scored text has an embedding.
    method = "self-trained" if settings.sentiment == "auto" else settings.sentiment
    key = result_key("sentiment", candidates[S.TEXT_HASH].tolist(),
                     {"method": method, "seed": settings.seed, "embedding": cache_key(embedder)}, languages)
    return method, key


def add_sentiment(documents: pd.DataFrame, candidates: pd.DataFrame, languages: list[str], doc_embeddings,
                   embedder: Embedder, settings: AnalysisSettings, path, results: ResultCache,
                   plan: tuple[str, str] | None, lexicon_job: LexiconScoresJob | None) -> tuple[pd.DataFrame, dict]:
    """Score the embedded texts, copy each score to the duplicates of its text, and describe the method for run.json.

    ``no_content`` and ``rejected`` rows keep a NaN score and an empty label. Scores
    without a label column are read from ``results`` when an earlier run stored them,
    and ``info["reused"]`` is then True. ``plan`` is the return value of
    :func:`sentiment_plan`. ``lexicon_job`` computes the lexicon scores ahead, or is None.
    """
    texts = candidates[S.TEXT].tolist()
    info: dict = {"method": settings.sentiment, "label_column": settings.sentiment_label_col}
    if settings.sentiment_label_col:
        try:
            labels = label_values(candidates[settings.sentiment_label_col].tolist())
            fitted = fit_on_labels(doc_embeddings, labels, random_state=settings.seed, texts=texts)
        except ValueError as error:
            raise InputDataError("sentiment.invalid_labels", column=settings.sentiment_label_col, path=path,
                                 detail=str(error)) from error
        scores = fitted.score(doc_embeddings, texts)
        info.update(method="fitted-on-labels", labelled_rows=fitted.labelled_rows, folds=fitted.folds,
                    cv_balanced_accuracy=round(fitted.cv_balanced_accuracy, 4),
                    features="embeddings and character n-grams" if fitted.vectorizer else "embeddings")
    elif plan is not None:
        method, key = plan
        scores, info["reused"] = results.sentiment(key, lambda: score_sentiment(
            texts, languages, method=method, doc_embeddings=doc_embeddings, embedder=embedder,
            random_state=settings.seed, lexicon=lexicon_job.result() if lexicon_job is not None else None))
        info["method"] = method
    else:
        scores = pd.DataFrame({S.SENTIMENT: [], S.SENTIMENT_LABEL: []})

    documents = documents.copy()
    by_hash = dict(zip(candidates[S.TEXT_HASH], scores[S.SENTIMENT]))
    label_by_hash = dict(zip(candidates[S.TEXT_HASH], scores[S.SENTIMENT_LABEL]))
    scored = documents[S.STATUS].isin(["", "duplicate"])
    documents[S.SENTIMENT] = documents[S.TEXT_HASH].map(by_hash).where(scored).astype(float)
    documents[S.SENTIMENT_LABEL] = documents[S.TEXT_HASH].map(label_by_hash).where(scored).fillna("").astype(str)
    counts = documents.loc[scored, S.SENTIMENT_LABEL].value_counts()
    info["rows_by_label"] = {label: int(counts.get(label, 0)) for label in S.SENTIMENT_LABELS}
    logger.info("sentiment (%s): %s", info["method"], info["rows_by_label"])
    return documents, info
