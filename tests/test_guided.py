"""Guided topics: the seed file parser and seed topics plus discovered topics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.errors import InputDataError
from painpoints.guided import (
    DISCOVERED_SOURCE,
    GUIDED_SOURCE,
    SeedTopic,
    assign_to_seeds,
    fit_guided_topics,
    read_seed_topics,
)
from painpoints.pipeline import run_analysis
from painpoints.settings import AnalysisSettings
from painpoints.topics import TopicSettings
from tests.conftest import THEMES_ZH

SEEDS = (
    SeedTopic("物流配送", ("快递", "物流", "配送", "延误")),
    SeedTopic("退款", ("退款", "到账", "退货")),
)


def write_seed_file(tmp_path: Path, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "seeds.txt"
    path.write_bytes(content.encode(encoding))
    return path


@pytest.fixture(scope="module")
def guided_result():
    from painpoints.embed import HashingEmbedder

    texts = [text for theme_texts in THEMES_ZH.values() for text in theme_texts]
    themes = [theme for theme, theme_texts in THEMES_ZH.items() for _ in theme_texts]
    embedder = HashingEmbedder()
    result = fit_guided_topics(texts, embedder.encode(texts), SEEDS, embedder, TopicSettings(min_topic_size=5))
    return result, np.array(themes)


def test_read_seed_file_both_languages(tmp_path):
    path = write_seed_file(tmp_path, (
        "\ufeff# seed topics\n"
        "物流配送: 快递, 配送, 送达, 延误\n"
        "\n"
        "退款：退款，到账、退货\n"
        "Login problems: login, password, I cannot sign in\n"
    ))

    seeds = read_seed_topics(path)

    assert [seed.name for seed in seeds] == ["物流配送", "退款", "Login problems"]
    assert seeds[0].terms == ("快递", "配送", "送达", "延误")
    assert seeds[1].terms == ("退款", "到账", "退货")
    assert seeds[2].terms == ("login", "password", "I cannot sign in")
    assert [seed.line for seed in seeds] == [2, 4, 5]


@pytest.mark.parametrize(("line", "key", "match"), [
    ("物流配送 快递 配送", "topics.seed_line_no_colon", "Line 3 of .*seeds.txt is invalid: .* has no colon"),
    ("：快递, 配送", "topics.seed_line_no_name", "Line 3 of .*seeds.txt is invalid: .* no topic name"),
    ("Refunds:  , ，", "topics.seed_line_no_terms", "Line 3 .*topic 'Refunds' has no keyword"),
    ("退款: 钱没退", "topics.seed_duplicate_name", "Line 3 .*topic '退款' is already defined on line 2"),
])
def test_read_seed_file_bad_line(tmp_path, line, key, match):
    path = write_seed_file(tmp_path, f"# seeds\n退款: 退款, 到账\n{line}\n")

    with pytest.raises(InputDataError, match=match) as raised:
        read_seed_topics(path)

    assert raised.value.key == key
    assert raised.value.params["line"] == 3


def test_bad_line_message_in_chinese(tmp_path):
    path = write_seed_file(tmp_path, "物流配送 快递\n")

    with pytest.raises(InputDataError, match="has no colon") as raised:
        read_seed_topics(path)

    assert "第 1 行无效" in raised.value.message("zh")


@pytest.mark.parametrize(("content", "encoding", "key", "match"), [
    ("# only a comment\n\n", "utf-8", "topics.seed_file_empty", "contains no topic"),
    ("物流配送: 快递\n", "gb18030", "topics.seed_file_not_utf8", "is not UTF-8 text"),
])
def test_read_seed_file_unusable(tmp_path, content, encoding, key, match):
    path = write_seed_file(tmp_path, content, encoding)

    with pytest.raises(InputDataError, match=match) as raised:
        read_seed_topics(path)

    assert raised.value.key == key


def test_read_seed_file_missing(tmp_path):
    with pytest.raises(InputDataError, match="Seed topic file not found") as raised:
        read_seed_topics(tmp_path / "absent.txt")

    assert raised.value.key == "topics.seed_file_not_found"


def test_seed_topics_keep_given_names(guided_result):
    result, _ = guided_result
    info = result.topic_info.set_index(S.TOPIC_ID)

    assert info.at[0, "label"] == "物流配送"
    assert info.at[1, "label"] == "退款"
    assert info.at[0, "source"] == GUIDED_SOURCE
    assert info.at[1, "source"] == GUIDED_SOURCE


def test_seed_topics_cover_their_themes(guided_result):
    result, themes = guided_result

    courier_topics = result.doc_topics[themes == "courier"]
    refund_topics = result.doc_topics[themes == "refund"]
    assert np.mean(courier_topics == 0) >= 0.8
    assert np.mean(refund_topics == 1) >= 0.7
    assert set(result.doc_topics[(themes == "crash") | (themes == "hotline")]).isdisjoint({0, 1})


def test_other_themes_discovered_after_seeds(guided_result):
    result, themes = guided_result
    discovered = result.topic_info[result.topic_info["source"] == DISCOVERED_SOURCE]

    assert len(discovered) == 2
    assert discovered[S.TOPIC_ID].min() >= len(SEEDS)
    for theme in ("crash", "hotline"):
        topic, count = Counter(result.doc_topics[themes == theme].tolist()).most_common(1)[0]
        assert topic >= len(SEEDS), theme
        assert count >= 8, theme


def test_topic_info_counts_match_doc_topics(guided_result):
    result, _ = guided_result
    counts = Counter(result.doc_topics.tolist())

    for _, topic in result.topic_info.iterrows():
        assert topic["docs"] == counts[topic[S.TOPIC_ID]]
    assert result.outlier_share_after == pytest.approx(counts[S.UNCLUSTERED] / len(result.doc_topics))


def test_seed_keywords_from_assigned_texts(guided_result):
    result, _ = guided_result
    keywords = result.topic_info.set_index(S.TOPIC_ID).at[1, "keywords"]

    assert "退款" in keywords
    assert all(" " not in word for word in keywords)


def test_assign_to_seeds_needs_margin():
    centroids = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    doc_embeddings = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0],
                               [0.7071, 0.7071, 0.0]])

    assigned = assign_to_seeds(doc_embeddings, centroids)

    assert assigned.tolist() == [0, 1, S.UNCLUSTERED, S.UNCLUSTERED, S.UNCLUSTERED]


def test_fit_guided_topics_rejects_bad_input(embedder):
    texts = ["快递太慢", "退款没到账"]

    with pytest.raises(ValueError, match="seeds is empty"):
        fit_guided_topics(texts, embedder.encode(texts), (), embedder)
    with pytest.raises(ValueError, match="2 texts but doc_embeddings of shape"):
        fit_guided_topics(texts, embedder.encode(texts[:1]), SEEDS, embedder)
    with pytest.raises(ValueError, match="seed vectors have dimension 512"):
        fit_guided_topics(texts, np.ones((2, 8), dtype=np.float32), SEEDS, embedder)


def test_pipeline_uses_seed_file(themed_csv, settings, embedder, tmp_path):
    path = write_seed_file(tmp_path, "物流配送: 快递, 物流, 配送, 延误\n退款: 退款, 到账, 退货\n")
    guided_settings = AnalysisSettings(embedding=settings.embedding, cache_dir=settings.cache_dir,
                                       min_topic_size=settings.min_topic_size, seed_topics=path)

    result = run_analysis(themed_csv, guided_settings, embedder=embedder)

    labels = dict(zip(result.topics[S.TOPIC_ID], result.topics["label"]))
    assert labels[0] == "物流配送"
    assert labels[1] == "退款"
    assert result.info["settings"]["seed_topics"] == str(path)


def test_cli_seed_topics_option(themed_csv, tmp_path):
    from typer.testing import CliRunner

    from painpoints.cli import app

    path = write_seed_file(tmp_path, "物流配送: 快递, 物流, 配送, 延误\n退款: 退款, 到账, 退货\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "analyze", str(themed_csv), "--embedding", "hashing", "--min-topic-size", "5", "--seed-topics", str(path),
        "--out", str(out), "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "en",
    ])

    assert result.exit_code == 0, result.output
    topics = pd.read_csv(out / "topics.csv", encoding="utf-8-sig")
    assert topics.loc[topics[S.TOPIC_ID] == 0, "label"].item() == "物流配送"
    assert topics.loc[topics[S.TOPIC_ID] == 1, "label"].item() == "退款"
    assert (out / "hierarchy.csv").is_file()


def test_cli_bad_seed_file_message(themed_csv, tmp_path):
    from typer.testing import CliRunner

    from painpoints.cli import app

    path = write_seed_file(tmp_path, "# seeds\n物流配送 快递 配送\n")
    result = CliRunner().invoke(app, [
        "analyze", str(themed_csv), "--embedding", "hashing", "--seed-topics", str(path),
        "--out", str(tmp_path / "out"), "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "zh",
    ])

    assert result.exit_code == 2
    # Rich wraps the message at the terminal width, so compare without whitespace.
    compact = "".join(result.output.split())
    assert "seeds.txt第2行无效" in compact
    assert "“物流配送快递配送”中没有冒号" in compact
    assert "Traceback" not in result.output


def test_all_texts_seeded_skips_discovery(embedder):
    texts = THEMES_ZH["courier"] + THEMES_ZH["refund"]

    result = fit_guided_topics(texts, embedder.encode(texts), SEEDS, embedder, TopicSettings(min_topic_size=5))

    assert set(result.topic_info["source"]) == {GUIDED_SOURCE}
    assert result.note == ""
    assert result.outlier_share_after == pytest.approx(np.mean(result.doc_topics == S.UNCLUSTERED))
