import numpy as np
import pandas as pd
import pytest

from painpoints import membership
from painpoints import schema as S
from painpoints.clause_vectors import (
    LATE_PRIMARY_MARGIN,
    LATE_RELATIVE_THRESHOLD,
    late_clause_vectors,
)
from painpoints.embed import HashingEmbedder
from painpoints.membership import (
    MAX_TOPICS_PER_TEXT,
    TEXT_INDEX,
    clause_spans,
    row_memberships,
    split_clauses,
    text_memberships,
)

from .conftest import THEMES_ZH

THEMES_EN = {
    "courier": [
        "The parcel is five days late and tracking never updates",
        "Courier delivery delayed again, parcel still not here",
        "My parcel is stuck in transit, delivery is very late",
        "Delivery took ten days, the courier is so slow",
        "Tracking shows the parcel in transit for a week, delivery delayed",
    ],
    "refund": [
        "My refund has not arrived after two weeks",
        "Refund request still pending, money not returned",
        "Refund was approved but the money never arrived",
        "Still waiting for my refund, the refund is so slow",
        "Refund rejected without reason, I want my money back",
    ],
    "crash": [
        "The app crashes every time I open it",
        "App keeps crashing after the update",
        "App crashes on the login screen",
        "The app crashes constantly, unusable",
        "Crash on startup, reinstalling did not help, the app still crashes",
    ],
    "hotline": [
        "The hotline never answers, nobody picks up the phone",
        "Called the hotline ten times, the phone line is always busy",
        "Hotline queue takes an hour, nobody answers the phone",
        "Cannot reach the support hotline by phone",
        "Support phone line always busy, the hotline is useless",
    ],
}

# Tickets about two issues, with the themes they mix; the first is the primary one.
MIXED = [
    ("快递五天了还没到，申请退款也一直没到账", ("courier", "refund")),
    ("快递延误一周，物流不更新，退款申请十天还没处理", ("courier", "refund")),
    ("退款两周没到账，客服电话也一直打不通", ("refund", "hotline")),
    ("应用一打开就闪退，客服热线电话也打不通", ("crash", "hotline")),
    ("Parcel is a week late, delivery delayed, and my refund has not arrived either", ("courier", "refund")),
    ("Delivery delayed for ten days and the refund request is still pending", ("courier", "refund")),
    ("The app crashes on startup and the hotline never answers the phone", ("crash", "hotline")),
]
# One topic per theme and language, as clustering multilingual embeddings gives.
TOPIC_IDS = {(language, theme): topic for topic, (language, theme) in
             enumerate((language, theme) for language in ("zh", "en") for theme in THEMES_ZH)}


def _language(text: str) -> str:
    return "zh" if any("\u4e00" <= char <= "\u9fff" for char in text) else "en"


def _ticket_set():
    """Return texts, primary topic per text, and the set of true topics per text."""
    texts, primary, truth = [], [], []
    for language, themes in (("zh", THEMES_ZH), ("en", THEMES_EN)):
        for theme, group in themes.items():
            texts += group
            primary += [TOPIC_IDS[language, theme]] * len(group)
            truth += [{TOPIC_IDS[language, theme]}] * len(group)
    for text, themes in MIXED:
        texts.append(text)
        primary.append(TOPIC_IDS[_language(text), themes[0]])
        truth.append({TOPIC_IDS[_language(text), theme] for theme in themes})
    return texts, np.array(primary), truth


def _topic_sets(memberships: pd.DataFrame, count: int) -> list[set[int]]:
    sets = memberships.groupby(TEXT_INDEX)[S.TOPIC_ID].agg(set)
    return [sets.get(index, set()) for index in range(count)]


def _check_ticket_set(encode, min_mixed_found):
    texts, primary, truth = _ticket_set()
    memberships = text_memberships(texts, encode(texts), primary, encode)
    found = _topic_sets(memberships, len(texts))
    first_mixed = len(texts) - len(MIXED)
    mixed_found = [texts[index] for index in range(first_mixed, len(texts)) if found[index] == truth[index]]
    assert len(mixed_found) >= min_mixed_found, (mixed_found, found[first_mixed:])
    with_second = [texts[index] for index in range(first_mixed) if len(found[index]) > 1]
    assert with_second == []


def test_mixed_tickets_get_both_topics_hashing():
    _check_ticket_set(HashingEmbedder().encode, min_mixed_found=6)


@pytest.mark.real_model
def test_mixed_tickets_get_both_topics_e5():
    from painpoints.embed import load_embedder

    _check_ticket_set(load_embedder("e5-multilingual").encode, min_mixed_found=4)


class _LateHashing:
    """Hashing backend with ``encode_with_clauses``: a clause vector mixes in a little of its text's vector."""

    model_id = "hashing"

    def __init__(self):
        self.inner = HashingEmbedder()
        self.dimension = self.inner.dimension
        self.calls = []

    def encode(self, texts):
        return self.inner.encode(texts)

    def encode_with_clauses(self, texts, clauses_per_text):
        self.calls.append(list(texts))
        vectors = self.inner.encode(texts)
        blocks = []
        for vector, clauses in zip(vectors, clauses_per_text):
            block = self.inner.encode(list(clauses)) + 0.1 * vector
            blocks.append(block / np.linalg.norm(block, axis=1, keepdims=True))
        return vectors, blocks


def _late_vectors(texts, primary, embedder, cache=None):
    from painpoints.clean import text_hash

    return late_clause_vectors(texts, [text_hash(text) for text in texts], primary, embedder, cache)


def test_supplied_clause_vectors_match_encode():
    texts, primary, _ = _ticket_set()
    encode = HashingEmbedder().encode
    vectors = [encode(split_clauses(text)) if len(split_clauses(text)) >= 2 else None for text in texts]
    by_encode = text_memberships(texts, encode(texts), primary, encode)
    supplied = text_memberships(texts, encode(texts), primary, None, clause_vectors=vectors)
    pd.testing.assert_frame_equal(supplied, by_encode)
    with pytest.raises(ValueError):
        text_memberships(texts, encode(texts), primary, None, clause_vectors=[None] * len(texts))
    with pytest.raises(ValueError):
        text_memberships(texts, encode(texts), primary, None)


@pytest.mark.parametrize("block", [1, 3, 7])
def test_score_blocks_do_not_change_memberships(monkeypatch, block):
    # Supplied vectors are joined block by block, encoded ones sliced: both must give
    # what one block of every clause gives.
    texts, primary, _ = _ticket_set()
    encode = HashingEmbedder().encode
    vectors = [encode(split_clauses(text)) if len(split_clauses(text)) >= 2 else None for text in texts]
    whole = text_memberships(texts, encode(texts), primary, encode)
    assert (~whole[S.IS_PRIMARY]).sum() > 0
    monkeypatch.setattr(membership, "SCORE_BLOCK", block)
    pd.testing.assert_frame_equal(text_memberships(texts, encode(texts), primary, encode), whole)
    pd.testing.assert_frame_equal(text_memberships(texts, encode(texts), primary, None, clause_vectors=vectors), whole)


@pytest.mark.parametrize("chunk", [1, 2])
def test_late_clause_vectors_read_in_chunks(tmp_path, monkeypatch, chunk):
    from painpoints import clause_vectors as module
    from painpoints.vector_cache import EmbeddingCache

    texts, primary, _ = _ticket_set()
    embedder = _LateHashing()
    cache = EmbeddingCache(tmp_path)
    try:
        first = _late_vectors(texts, primary, embedder, cache)
        calls = len(embedder.calls)
        monkeypatch.setattr(module, "LATE_READ_TEXTS", chunk)
        again = _late_vectors(texts, primary, embedder, cache)
    finally:
        cache.close()
    assert len(embedder.calls) == calls  # every vector came from the cache
    assert [vectors is None for vectors in again] == [vectors is None for vectors in first]
    for read, computed in zip(again, first):
        if computed is not None:
            np.testing.assert_allclose(read, computed)


def test_late_clause_vectors_cached_per_text(tmp_path):
    from painpoints.vector_cache import EmbeddingCache

    texts = ["快递五天了还没到，退款也没到账", "快递五天了还没到，客服态度很好", "好的", "退款两周没到账，电话打不通"]
    topics = np.array([0, 1, 0, -1])
    embedder = _LateHashing()
    cache = EmbeddingCache(tmp_path)
    try:
        first = _late_vectors(texts, topics, embedder, cache)
        assert embedder.calls == [texts[:2]]
        # One clause, or unclustered: no vectors.
        assert first[2] is None
        assert first[3] is None
        assert [block.shape for block in first[:2]] == [(2, embedder.dimension), (2, embedder.dimension)]
        # The same clause in two texts keeps the vector of its own text.
        assert not np.allclose(first[0][0], first[1][0])
        again = _late_vectors(texts, topics, embedder, cache)
        assert embedder.calls == [texts[:2]]
        for block, cached in zip(first[:2], again[:2]):
            np.testing.assert_array_equal(block, cached)
        # Never stored under the plain clause hash, which keys separately embedded clauses.
        from painpoints.clean import text_hash

        assert cache.get("hashing", [text_hash("快递五天了还没到")]) == {}
        assert cache.get("hashing/late-clauses", [text_hash("快递五天了还没到")]) == {}
    finally:
        cache.close()


def test_recorder_caches_clauses_while_embedding(tmp_path):
    from painpoints.clause_vectors import LateClauseRecorder
    from painpoints.clean import text_hash
    from painpoints.embed import embed_texts
    from painpoints.vector_cache import EmbeddingCache

    texts = ["快递五天了还没到，退款也没到账", "好的", "The app crashes on startup and the hotline never answers"]
    hashes = [text_hash(text) for text in texts]
    embedder = _LateHashing()
    cache = EmbeddingCache(tmp_path)
    try:
        recorder = LateClauseRecorder(embedder, cache)
        vectors, cached = embed_texts(texts, hashes, recorder, cache)
        assert cached == 0
        np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-6)
        # Text vectors stay under the backend's own key, so plain runs reuse them.
        assert set(cache.get("hashing", hashes)) == set(hashes)
        # One forward pass, longest text first.
        assert embedder.calls == [sorted(texts, key=len, reverse=True)]
        clause_vectors = _late_vectors(texts, np.array([0, 0, 1]), embedder, cache)
        # Found in the cache: no second forward pass.
        assert len(embedder.calls) == 1
        with_clauses = [texts[0], texts[2]]
        _, expected = embedder.encode_with_clauses(with_clauses, [split_clauses(text) for text in with_clauses])
        np.testing.assert_allclose(clause_vectors[0], expected[0], atol=1e-6)
        np.testing.assert_allclose(clause_vectors[2], expected[1], atol=1e-6)
        assert clause_vectors[1] is None
    finally:
        cache.close()


@pytest.mark.real_model
def test_mixed_tickets_get_both_topics_e5_late_chunking():
    from painpoints.embed import load_embedder

    embedder = load_embedder("e5-multilingual")
    texts, primary, truth = _ticket_set()
    vectors = _late_vectors(texts, primary, embedder)
    memberships = text_memberships(texts, embedder.encode(texts), primary, None, clause_vectors=vectors,
                                   relative_threshold=LATE_RELATIVE_THRESHOLD, primary_margin=LATE_PRIMARY_MARGIN)
    found = _topic_sets(memberships, len(texts))
    first_mixed = len(texts) - len(MIXED)
    mixed_found = [texts[index] for index in range(first_mixed, len(texts)) if found[index] == truth[index]]
    assert len(mixed_found) >= 4, (mixed_found, found[first_mixed:])
    assert [texts[index] for index in range(first_mixed) if len(found[index]) > 1] == []


def test_clause_spans_locate_split_clauses():
    texts, _, _ = _ticket_set()
    for text in [*texts, "  Parcel late ;; and  refund missing  ", "好的", ""]:
        assert [text[start:end] for start, end in clause_spans(text)] == split_clauses(text)


def test_split_clauses_at_punctuation_and_connectives():
    assert split_clauses("快递三天了还没到，另外退款也没到账。谢谢") == ["快递三天了还没到", "退款也没到账"]
    assert split_clauses("The app crashes on startup and the hotline never answers") == [
        "The app crashes on startup", "the hotline never answers"]
    assert split_clauses("好的") == []


def test_primary_topic_listed_once_per_text():
    texts, primary, _ = _ticket_set()
    encode = HashingEmbedder().encode
    memberships = text_memberships(texts, encode(texts), primary, encode)
    primaries = memberships[memberships[S.IS_PRIMARY]]
    assert primaries[TEXT_INDEX].tolist() == list(range(len(texts)))
    assert (primaries[S.TOPIC_ID].to_numpy() == primary).all()
    assert memberships.groupby(TEXT_INDEX).size().max() <= MAX_TOPICS_PER_TEXT
    assert not memberships.duplicated([TEXT_INDEX, S.TOPIC_ID]).any()


def test_clause_near_other_topic_adds_it():
    # Topic 0 lies along the first axis, topic 1 along the second. The last text's
    # second clause is the second axis, so the text also belongs to topic 1.
    vectors = np.array([[1.0, 0.0, 0.1], [1.0, 0.1, 0.0], [0.0, 1.0, 0.1], [0.1, 1.0, 0.0], [1.0, 0.3, 0.0]])
    clause_vectors = {"first clause": [1.0, 0.0, 0.0], "second clause": [0.0, 1.0, 0.0]}
    texts = ["a", "b", "c", "d", "first clause, second clause"]

    def encode(clauses):
        return np.array([clause_vectors[clause] for clause in clauses])

    memberships = text_memberships(texts, vectors, np.array([0, 0, 1, 1, 0]), encode)
    last = memberships[memberships[TEXT_INDEX] == 4]
    assert last[S.TOPIC_ID].tolist() == [0, 1]
    assert last[S.IS_PRIMARY].tolist() == [True, False]
    strict = text_memberships(texts, vectors, np.array([0, 0, 1, 1, 0]), encode, relative_threshold=5.0)
    assert strict[S.IS_PRIMARY].all()


def test_max_topics_one_turns_off_other_topics():
    texts, primary, _ = _ticket_set()
    encode = HashingEmbedder().encode
    memberships = text_memberships(texts, encode(texts), primary, encode, max_topics=1)
    assert memberships[S.IS_PRIMARY].all()
    assert len(memberships) == len(texts)


def test_unclustered_texts_have_no_membership():
    topics = np.array([0, 0, 0, -1, 1, 1, 1, -1])
    vectors = np.eye(8)[[0, 0, 1, 2, 3, 3, 4, 5]] + 0.01
    texts = [f"text {index}" for index in range(8)]
    memberships = text_memberships(texts, vectors, topics, HashingEmbedder(8).encode)
    assert set(memberships[TEXT_INDEX]) == {0, 1, 2, 4, 5, 6}
    assert text_memberships(texts, vectors, np.full(8, -1), HashingEmbedder(8).encode).empty


@pytest.mark.parametrize("kwargs", [{"relative_threshold": -0.1}, {"max_topics": 0}])
def test_invalid_settings_raise(kwargs):
    with pytest.raises(ValueError):
        text_memberships(["a", "b", "c"], np.eye(3), np.array([0, 0, 1]), HashingEmbedder(3).encode, **kwargs)


def test_duplicate_rows_copy_their_original():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3, 4],
        S.STATUS: ["topic", "topic", "duplicate", "no_content"],
        S.DUPLICATE_OF: [pd.NA, pd.NA, 1, pd.NA],
    }, index=[10, 11, 12, 13])
    by_text = pd.DataFrame({TEXT_INDEX: [0, 0, 1], S.TOPIC_ID: [0, 1, 1], S.MEMBERSHIP_SCORE: [0.9, 0.8, 0.7],
                            S.IS_PRIMARY: [True, False, True]})
    rows = row_memberships(documents, pd.Index([10, 11]), by_text)
    assert list(rows.columns) == list(S.MEMBERSHIP_COLUMNS)
    assert rows[S.ROW_NUMBER].tolist() == [1, 1, 2, 3, 3]
    assert rows[S.TOPIC_ID].tolist() == [0, 1, 1, 0, 1]
    assert rows[S.IS_PRIMARY].tolist() == [True, False, True, True, False]


@pytest.fixture
def mixed_run(tmp_path, themed_frame, settings, embedder):
    from painpoints.pipeline import run_analysis

    mixed = pd.DataFrame([
        {"工单编号": f"M{number:03d}", "客户ID": f"M{number:05d}", "反馈内容": text, "是否流失": "是", "theme": themes}
        for number, (text, themes) in enumerate(MIXED[:4])
    ])
    frame = pd.concat([themed_frame, mixed, mixed.iloc[[0]].assign(工单编号="M999", 客户ID="M99999")],
                      ignore_index=True)
    path = tmp_path / "mixed.csv"
    frame.drop(columns="theme").to_csv(path, index=False, encoding="utf-8")
    return run_analysis(path, settings, embedder=embedder), frame


def test_run_lists_memberships_of_every_clustered_row(mixed_run):
    result, _ = mixed_run
    documents = result.documents
    memberships = result.memberships
    assert list(memberships.columns) == list(S.MEMBERSHIP_COLUMNS)
    clustered = documents[documents[S.TOPIC_ID].fillna(S.UNCLUSTERED) >= 0]
    primaries = memberships[memberships[S.IS_PRIMARY]].set_index(S.ROW_NUMBER)[S.TOPIC_ID]
    assert sorted(primaries.index) == sorted(clustered[S.ROW_NUMBER])
    assert (primaries[clustered[S.ROW_NUMBER]].to_numpy() == clustered[S.TOPIC_ID].to_numpy()).all()
    counts = memberships.groupby(S.TOPIC_ID)[S.ROW_NUMBER].nunique()
    topics = result.topics.set_index(S.TOPIC_ID)
    for topic, count in counts.items():
        assert topics.at[topic, "member_rows"] == count
        assert topics.at[topic, "member_rows"] >= topics.at[topic, "rows"]


def test_run_mixed_rows_get_two_topics(mixed_run):
    result, frame = mixed_run
    documents = result.documents.assign(theme=frame["theme"].to_numpy())
    single = documents[documents["theme"].map(lambda theme: isinstance(theme, str))]
    topic_of_theme = single.groupby("theme")[S.TOPIC_ID].agg(lambda topics: topics.mode().iloc[0])
    topics_by_row = result.memberships.groupby(S.ROW_NUMBER)[S.TOPIC_ID].agg(set)
    mixed_rows = documents[documents["theme"].map(lambda theme: isinstance(theme, tuple))]
    assert len(mixed_rows) == 5
    found = [row_number for row_number, themes in zip(mixed_rows[S.ROW_NUMBER], mixed_rows["theme"])
             if topics_by_row[row_number] == {topic_of_theme[theme] for theme in themes}]
    # The hashing embedder shares character bigrams such as 没到 between the courier and
    # refund themes, so only the mixes with the hotline theme are certain here.
    assert len(found) >= 2, found
    single_with_second = [row_number for row_number in single[S.ROW_NUMBER] if len(topics_by_row[row_number]) > 1]
    assert len(single_with_second) <= 0.1 * len(single), single_with_second
    several = topics_by_row[topics_by_row.map(len) > 1]
    assert result.info["memberships"]["rows_with_several_topics"] == len(several)
    # A duplicate row (the last one) copies the memberships of the row it repeats.
    assert topics_by_row[len(frame)] == topics_by_row[mixed_rows[S.ROW_NUMBER].iloc[0]]


def test_outcomes_count_customers_of_secondary_topics(mixed_run):
    result, _ = mixed_run
    pairs = result.memberships.merge(result.documents[[S.ROW_NUMBER, S.CUSTOMER_ID]], on=S.ROW_NUMBER)
    customers = pairs.groupby(S.TOPIC_ID)[S.CUSTOMER_ID].nunique()
    table = result.outcomes.to_frame().set_index(S.TOPIC_ID)
    for topic, count in customers.items():
        assert table.at[topic, "customers"] == count, topic


def test_memberships_written_and_stored(mixed_run, tmp_path):
    from painpoints.report import write_outputs
    from painpoints.store import delete_run, load_run, save_run

    result, _ = mixed_run
    written = write_outputs(result, tmp_path / "out")
    from_csv = pd.read_csv(written["memberships"], encoding="utf-8-sig")
    assert list(from_csv.columns) == list(S.MEMBERSHIP_COLUMNS)
    assert len(from_csv) == len(result.memberships)

    store = tmp_path / "runs.duckdb"
    save_run(result, store)
    stored = load_run(store, result.run_id).memberships
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), result.memberships.reset_index(drop=True),
                                  check_dtype=False)
    delete_run(store, result.run_id)


@pytest.mark.real_model
def test_minilm_late_chunking_on_english_tickets():
    from painpoints.clause_vectors import late_thresholds, offers_late_clauses
    from painpoints.embed import load_embedder

    embedder = load_embedder("minilm-en")
    assert offers_late_clauses(embedder)
    texts, primary, truth = _ticket_set()
    english = [index for index, text in enumerate(texts) if _language(text) == "en"]
    texts = [texts[index] for index in english]
    primary = np.array([primary[index] for index in english])
    truth = [truth[index] for index in english]
    clauses = [split_clauses(text) for text in texts]
    text_vectors, clause_vectors = embedder.encode_with_clauses(texts, clauses)
    # One forward pass gives the same text vectors as encode.
    np.testing.assert_allclose(text_vectors, embedder.encode(texts), atol=1e-6)
    # Each clause vector is nearer to its own text than the same clause embedded alone.
    multi = [index for index, parts in enumerate(clauses) if len(parts) >= 2]
    alone = [embedder.encode(clauses[index]) @ text_vectors[index] for index in multi]
    late = [clause_vectors[index] @ text_vectors[index] for index in multi]
    assert np.mean(np.concatenate(late)) > np.mean(np.concatenate(alone)) + 0.1
    relative, margin = late_thresholds(embedder)
    vectors = [clause_vectors[index] if len(clauses[index]) >= 2 else None for index in range(len(texts))]
    memberships = text_memberships(texts, text_vectors, primary, None, clause_vectors=vectors,
                                   relative_threshold=relative, primary_margin=margin)
    found = _topic_sets(memberships, len(texts))
    mixed = [index for index in range(len(texts)) if len(truth[index]) == 2]
    assert len(mixed) == 3
    assert sum(found[index] == truth[index] for index in mixed) >= 2, [found[index] for index in mixed]
    assert [texts[index] for index in range(len(texts)) if len(truth[index]) == 1 and len(found[index]) > 1] == []
