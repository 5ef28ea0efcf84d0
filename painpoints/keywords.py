"""Keyword tokenisation for topic labels: Chinese words through spaCy + jieba, English through spaCy.

The tokenizer feeds scikit-learn's ``CountVectorizer`` inside BERTopic's c-TF-IDF.
It keeps words a person can read. White space, punctuation, numbers, placeholders
and stop words are dropped, but single Chinese characters such as 卡, 贵 and 慢 stay.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

import jieba
import spacy

from painpoints.clean import PLACEHOLDERS

logger = logging.getLogger(__name__)

# Words frequent in any feedback that tell nothing about its subject. spaCy's
# Chinese and English stop-word lists are added to these.
CX_STOP_WORDS_ZH: Final = frozenset(
    {
        "客户", "用户", "顾客", "问题", "一下", "真的", "感觉", "觉得", "就是", "还是", "非常", "特别",
        "这个", "那个", "一个", "已经", "东西", "时候", "现在", "而且", "但是", "然后", "因为", "所以",
        "还有", "可以", "没有", "不是", "怎么", "什么", "一次", "这次", "每次", "谢谢", "您好", "你好",
        "麻烦", "请问", "希望", "建议", "反馈", "了", "的", "吧", "啊", "呢", "吗", "哦", "呀", "啦",
        "很", "太", "都", "也", "又", "就", "还", "再", "才", "说", "给", "让", "把", "被", "对", "和",
        "我", "你", "他", "她", "我们", "你们", "他们", "自己", "有", "是", "在", "个", "下", "上",
        "不", "没", "会", "要", "能", "去", "来", "到", "用", "买", "点", "次", "些", "人", "后",
    }
)
CX_STOP_WORDS_EN: Final = frozenset(
    {
        "hi", "hello", "thanks", "thank", "please", "pls", "im", "i'm", "ive", "dont", "didnt", "cant",
        "wont", "get", "got", "getting", "also", "just", "really", "still", "would", "could", "one",
        "customer", "issue", "problem", "service", "company", "time", "thing", "things", "lot",
        "n't", "'s", "'m", "'re", "'ve", "'ll", "'d", "u", "ur", "ok", "okay", "yes", "yeah",
    }
)

# One-character complaint words that spaCy's Chinese list counts as stop words.
KEEP_WORDS_ZH: Final = frozenset({"快", "慢", "贵", "卡", "差", "坏", "烂", "凉", "少", "咸", "淡", "辣", "脏", "假", "破", "漏"})

# jieba joins a degree adverb to the complaint word after it (太慢, 很卡, 超贵).
# The adverb is dropped, so all spellings count as one keyword.
DEGREE_ADVERBS_ZH: Final = frozenset("很太好真超挺最特巨贼蛮")

_HAS_WORD_CHAR: Final = re.compile(r"[A-Za-z\u3400-\u9fff]")
_CJK: Final = re.compile(r"[\u3400-\u9fff]")
_PLACEHOLDER: Final = re.compile("|".join(re.escape(placeholder) for placeholder in PLACEHOLDERS))


@lru_cache(maxsize=1)
def _pipelines() -> tuple[spacy.language.Language, spacy.language.Language]:
    # jieba prints its dictionary loading to stderr at INFO level through its own handler.
    jieba.setLogLevel(logging.WARNING)
    chinese = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    english = spacy.blank("en")
    for pipeline in (chinese, english):
        # c-TF-IDF joins a topic's texts into one document; spaCy's default cap of
        # one million characters would reject large topics.
        pipeline.max_length = 50_000_000
    return chinese, english


def stop_words(extra: Iterable[str] = ()) -> frozenset[str]:
    """Return spaCy's Chinese and English stop words, the CX list and ``extra``."""
    chinese, english = _pipelines()
    return (frozenset(chinese.Defaults.stop_words) | frozenset(english.Defaults.stop_words) | CX_STOP_WORDS_ZH \
        | CX_STOP_WORDS_EN | {word.strip().lower() for word in extra}) - KEEP_WORDS_ZH


class KeywordTokenizer:
    """Callable tokenizer for ``CountVectorizer(tokenizer=...)``.

    Text with any Chinese character goes through ``spacy.blank("zh")`` with the jieba
    segmenter (jieba also splits the English words inside); other text through
    ``spacy.blank("en")``. English tokens are lower-cased.

    >>> KeywordTokenizer()("快递太慢了，客服电话打不通！")
    ['快递', '慢', '客服', '电话', '不通']
    """

    def __init__(self, extra_stop_words: Iterable[str] = ()) -> None:
        self.stop_words = stop_words(extra_stop_words)

    def __call__(self, text: str) -> list[str]:
        chinese, english = _pipelines()
        text = _PLACEHOLDER.sub(" ", text)
        pipeline = chinese if _CJK.search(text) else english
        tokens: list[str] = []
        for token in pipeline.make_doc(text):
            word = token.text.strip().lower()
            if len(word) == 2 and word[0] in DEGREE_ADVERBS_ZH and word[1] in KEEP_WORDS_ZH:
                word = word[1]
            if not word or token.is_space or token.is_punct or token.like_num:
                continue
            if not _HAS_WORD_CHAR.search(word) or word in self.stop_words:
                continue
            if not _CJK.search(word) and len(word) < 2:
                continue
            # Order numbers, dates and model codes ("dd20250918", "airpods12") are not topics.
            if sum(char.isdigit() for char in word) >= 2:
                continue
            tokens.append(word)
        return tokens
