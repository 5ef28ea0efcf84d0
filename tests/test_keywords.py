import re

import pytest

from painpoints.keywords import KeywordTokenizer


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
    assert tokens == ["parcel", "late", "tracking", "updated", "help"]


def test_extra_stop_words():
    assert "快递" not in KeywordTokenizer(["快递"])("快递太慢")
