import re

import pytest

from painpoints.keywords import KeywordTokenizer, drop_cut_words


@pytest.fixture(scope="module")
def tokenizer():
    return KeywordTokenizer()


def test_chinese_without_spaces_gives_words(tokenizer):
    tokens = tokenizer("快递三天了还没到，物流信息一直不更新，太失望了")
    assert {"快递", "物流", "信息", "更新"} <= set(tokens)
    assert all(len(token) <= 4 for token in tokens)


def test_single_character_complaint_words_kept(tokenizer):
    assert {"卡", "贵", "慢"} <= set(tokenizer("这个应用很卡 价格太贵 配送慢"))


def test_no_blank_punctuation_number_or_placeholder(tokenizer):
    text = "快递　太慢！！\t退款 ...  <PHONE> 2025 12345 。，、 ok?? 退货單號"
    for token in tokenizer(text):
        assert token
        assert token.strip() == token
        assert re.search(r"[A-Za-z\u4e00-\u9fff]", token), token
        assert token not in {"phone", "<PHONE>"}


def test_english_lower_case_without_stop_words(tokenizer):
    tokens = tokenizer("The parcel is LATE and tracking hasn't updated, please help")
    assert tokens == ["parcel", "late", "tracking", "update", "help"]


def test_english_words_become_lemmas(tokenizer):
    tokens = tokenizer("deliveries delayed, refunds requested")
    assert tokens[:2] == ["delivery", "delay"]
    assert "refund" in tokens
    assert "request" in tokens
    assert "deliveries" not in tokens


def test_english_bigram_of_adjacent_words(tokenizer):
    tokens = tokenizer("Another late delivery, and the tracking number is wrong")
    assert "late delivery" in tokens
    assert "tracking number" in tokens
    # "number is wrong": the stop word between them blocks a bigram.
    assert not any(token.startswith("number ") for token in tokens)


def test_no_bigram_across_punctuation_or_stop_words(tokenizer):
    tokens = tokenizer("It was late. Delivery failed; the courier was rude")
    bigrams = [token for token in tokens if " " in token]
    assert bigrams == []


def test_chinese_text_gives_no_bigrams(tokenizer):
    tokens = tokenizer("快递太慢了，物流信息不更新 late delivery")
    assert not any(" " in token for token in tokens)


def test_delivery_topic_keywords_include_bigram():
    from painpoints.embed import HashingEmbedder
    from painpoints.topics import TopicSettings, fit_topics

    delivery = [f"Late delivery again, order {name} arrived {days} days after the promised date"
                for name in ("shoes", "books", "phone", "lamp", "desk", "chair", "bag", "coat", "toy", "pan")
                for days in ("three", "five")]
    refund = [f"Refund for my {name} still not received, the refund request was {state}"
              for name in ("shoes", "books", "phone", "lamp", "desk", "chair", "bag", "coat", "toy", "pan")
              for state in ("ignored", "rejected")]
    texts = delivery + refund
    result = fit_topics(texts, HashingEmbedder().encode(texts), TopicSettings(seed=3, min_topic_size=5))
    keywords = [set(words) for words in result.topic_info["keywords"]]
    assert any("late delivery" in words for words in keywords), keywords
    assert not any("late delivery" in words and "refund" in words for words in keywords), keywords


def test_extra_stop_words():
    assert "快递" not in KeywordTokenizer(["快递"])("快递太慢")


@pytest.mark.parametrize(("text", "word", "fragments"), [
    ("原路退回的说法已经听了好几遍", "原路退回", {"原", "路"}),
    ("显示派送中一整天了，快递员一直没来", "快递员", {"员", "中"}),
    ("运费险没赔，退款也没到账", "运费险", {"险", "账"}),
])
def test_customer_service_words_stay_whole(tokenizer, text, word, fragments):
    tokens = tokenizer(text)
    assert word in tokens
    assert fragments.isdisjoint(tokens)


def test_joined_texts_keep_each_texts_tokens():
    tokenizer = KeywordTokenizer()
    texts = ["The courier was late", "delivery lost again", "快递太慢了"]
    alone = [tokenizer(text) for text in texts]
    tokenizer.remember_joined(texts)
    joined = tokenizer(" ".join(texts))
    assert joined == alone[0] + alone[1] + alone[2]
    # Read as one document, the Chinese text would send the English words through jieba,
    # and "late delivery" would join two texts.
    assert "late delivery" not in joined
    assert "courier" in joined


def test_joined_texts_tokenised_once(monkeypatch):
    tokenizer = KeywordTokenizer()
    calls = []
    tokenize = tokenizer._tokenize
    monkeypatch.setattr(tokenizer, "_tokenize", lambda text: calls.append(text) or tokenize(text))
    texts = ["refund\tnot received", "refund not received", "app crashes"]
    tokenizer.remember_joined(texts[:2])
    tokenizer.remember_joined(texts[1:])
    assert calls == texts
    # Tabs and line breaks become spaces, as BERTopic's preprocessing writes the document.
    assert tokenizer("refund not received refund not received") == tokenizer(texts[0]) + tokenizer(texts[1])
    assert calls == texts


def test_cut_last_words_dropped_before_keywords():
    texts = ["the payment method of electro", "paid by electronic check.", "monthly charges are reasona…",
             "the price is reasonable, thanks", "the app crashes", "app crashes", "我的快递还没到"]
    trimmed = drop_cut_words(texts)
    assert trimmed[0] == "the payment method of "
    assert trimmed[2] == "monthly charges are "
    # Whole words, a word that only ever ends texts and Chinese text stay as they were.
    assert trimmed[1] == texts[1]
    assert trimmed[3:] == texts[3:]


def test_topic_keywords_skip_cut_words(embedder):
    from painpoints.topics import TopicSettings, fit_topics

    # Twenty texts about refunds cut at "refu" and twenty about delivery cut at "deliv".
    refunds = [f"waited {day} days for my refund and the refu" for day in range(20)]
    deliveries = [f"order {number} late again, slow deliv" for number in range(20)]
    deliveries += ["slow delivery again."]
    texts = refunds + deliveries
    result = fit_topics(texts, embedder.encode(texts), TopicSettings(min_topic_size=5))
    keywords = {word for words in result.topic_info["keywords"] for word in words}
    assert keywords
    assert not {"refu", "deliv"} & keywords
