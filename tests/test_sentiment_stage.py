"""Lexicon scores computed ahead in a child process equal the scores the sentiment stage computes itself."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from painpoints import schema as S
from painpoints import sentiment_stage
from painpoints.pipeline import run_analysis
from painpoints.sentiment import lexicon_scores, score_sentiment
from painpoints.sentiment_stage import LexiconScoresJob, start_lexicon_scores

TEXTS = ["快递太慢了，一点也不满意", "物流很快，非常满意", "not bad at all, the courier was great",
         "The refund never arrived and nobody answers", "还行吧", "¿Dónde está mi pedido?", ""]
LANGUAGES = ["zh", "zh", "en", "en", "zh", "other", "zh"]


def test_child_scores_equal_scores_in_process():
    job = LexiconScoresJob(TEXTS, LANGUAGES)
    scores = job.result()

    np.testing.assert_array_equal(scores, lexicon_scores(TEXTS, LANGUAGES))
    assert scores[0] < 0 < scores[1]
    assert scores[5] == 0.0


@pytest.mark.parametrize("method", ["lexicon", "combined", "ensemble", "self-trained"])
def test_score_sentiment_with_lexicon_ahead_is_unchanged(method, embedder):
    vectors = embedder.encode(TEXTS)
    plain = score_sentiment(TEXTS, LANGUAGES, method=method, doc_embeddings=vectors, embedder=embedder)
    ahead = score_sentiment(TEXTS, LANGUAGES, method=method, doc_embeddings=vectors, embedder=embedder,
                            lexicon=lexicon_scores(TEXTS, LANGUAGES))

    np.testing.assert_array_equal(ahead[S.SENTIMENT].to_numpy(), plain[S.SENTIMENT].to_numpy())


def test_lexicon_length_mismatch_raises():
    with pytest.raises(ValueError, match="7 texts but 2 lexicon scores"):
        score_sentiment(TEXTS, LANGUAGES, method="lexicon", lexicon=np.zeros(2))


def test_few_texts_start_no_child():
    assert sentiment_stage.MIN_TEXTS > len(TEXTS)
    assert start_lexicon_scores(TEXTS, LANGUAGES) is None


def test_close_stops_a_running_child():
    job = LexiconScoresJob(TEXTS * 3000, LANGUAGES * 3000)
    job.close()

    assert not job._process.is_alive()
    assert job._process.exitcode is not None


def test_child_that_dies_returns_none():
    job = LexiconScoresJob(TEXTS * 3000, LANGUAGES * 3000)
    job._process.kill()

    # The stage then scores in its own process.
    assert job.result() is None


@pytest.fixture
def feedback_csv(tmp_path, themed_frame):
    path = tmp_path / "feedback.csv"
    themed_frame.drop(columns="theme").to_csv(path, index=False, encoding="utf-8")
    return path


def test_pipeline_scores_same_with_child(monkeypatch, feedback_csv, settings, embedder, tmp_path):
    results = {}
    original = LexiconScoresJob.result
    for label, min_texts in (("in process", 10 ** 9), ("child", 1)):
        monkeypatch.setattr(sentiment_stage, "MIN_TEXTS", min_texts)
        used = []

        def spy(self, used=used):
            used.append(self.size)
            return original(self)

        monkeypatch.setattr(LexiconScoresJob, "result", spy)
        # A separate cache folder per run, so that neither reuses the other's scores.
        run_settings = dataclasses.replace(settings, cache_dir=tmp_path / label)
        results[label] = (run_analysis(feedback_csv, run_settings, embedder=embedder).documents, used)

    (plain, plain_used), (ahead, ahead_used) = results["in process"], results["child"]
    assert plain_used == []
    assert ahead_used == [int(plain[S.STATUS].isin(["topic", "unclustered"]).sum())]
    np.testing.assert_array_equal(ahead[S.SENTIMENT].to_numpy(), plain[S.SENTIMENT].to_numpy())
