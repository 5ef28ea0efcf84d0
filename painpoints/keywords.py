"""Keyword tokenisation for topic labels: Chinese words through spaCy + jieba, English through spaCy.

The tokenizer feeds scikit-learn's ``CountVectorizer`` inside BERTopic's c-TF-IDF.
It keeps words a person can read. White space, punctuation, numbers, placeholders
and stop words are dropped, but single Chinese characters such as 卡, 贵 and 慢 stay.
English words become lemmas (LemmInflect's lookup tables), and two kept English
words that stand next to each other in the text also give a bigram ("late delivery").
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

import jieba
import spacy
from lemminflect import getAllLemmas

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
        "中", "到现在",
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

# Customer-service words that jieba's dictionary splits into fragments (原/路/退回,
# 快递/员, 运费/险, 打/不通): added to jieba, so that a label shows the whole word.
CX_WORDS_ZH: Final = (
    "原路", "原路退回", "原路返回", "快递员", "外卖员", "配送员", "派送员", "送餐员", "运费险", "七天无理由",
    "到账", "没到账", "未到账", "打不通", "发错货", "单号", "仅退款", "转人工", "代签收", "派送中", "配送中",
    "运输中", "处理中", "审核中", "退款中", "换号", "无语", "登不上", "登不上去", "到现在", "没收到",
)
# jieba joins a degree adverb to the complaint word after it (太慢, 很卡, 超贵).
# The adverb is dropped, so all spellings count as one keyword.
DEGREE_ADVERBS_ZH: Final = frozenset("很太好真超挺最特巨贼蛮")

_HAS_WORD_CHAR: Final = re.compile(r"[A-Za-z\u3400-\u9fff]")
_CJK: Final = re.compile(r"[\u3400-\u9fff]")
_PLACEHOLDER: Final = re.compile("|".join(re.escape(placeholder) for placeholder in PLACEHOLDERS))


# Any Latin word, and the Latin word that ends a text, alone or before an ellipsis.
_ANY_WORD: Final = re.compile(r"[A-Za-z]+")
_LAST_WORD: Final = re.compile(r"([A-Za-z]+)(\.\.\.|…)?\s*$")
# Characters at the end of a text searched for its last word.
LAST_WORD_SPAN: Final = 80


def drop_cut_words(texts: Sequence[str]) -> list[str]:
    """Remove the Latin word that ends a text when it looks cut off, for keywords only.

    Exports that shorten long texts cut their last word ("... payment method of
    electro"), and the fragments then rank as keywords. A last word, alone or before
    "..." or "…", is dropped when it never appears whole (followed by a space or
    punctuation) in any of ``texts`` but begins a longer word of them: "electro" of
    "electronic". A real word that only ever ends texts, such as "crashes" in short
    tickets, begins no other word and is kept. One that begins a longer word is
    dropped too ("transact" beside "transaction"): 3 of 10,000 banking77 queries lost
    their last word this way, against 444 of the 1,758 telco feedback texts.

    >>> drop_cut_words(["slow refund this month", "the refund of my mont", "app crashes"])
    ['slow refund this month', 'the refund of my ', 'app crashes']
    """
    # Only the end of a text can hold its last word: searching there keeps this linear.
    last_words = [_LAST_WORD.search(text, max(0, len(text) - LAST_WORD_SPAN)) for text in texts]
    endings = Counter(last.group(1).lower() for last in last_words if last)
    if not endings:
        return list(texts)
    # A word occurs whole wherever it does not end a text, so it is whole when it
    # occurs more often than it ends texts.
    occurrences = Counter(_ANY_WORD.findall("\n".join(texts).lower()))
    words = sorted(occurrences)
    cut = set()
    for word, ending in endings.items():
        # The next word in sorted order is the first one that could extend it.
        following = bisect.bisect_right(words, word)
        if occurrences[word] == ending and following < len(words) and words[following].startswith(word):
            cut.add(word)
    trimmed = []
    for text, last in zip(texts, last_words):
        trimmed.append(text[:last.start()] if last and last.group(1).lower() in cut else text)
    return trimmed


# Part of speech whose lemma is used first, since blank spaCy pipelines do not tag words.
# Nouns come first, so "charges" gives "charge" and "better" stays "better".
LEMMA_PRIORITY: Final = ("NOUN", "PROPN", "ADJ", "VERB", "ADV")


@lru_cache(maxsize=65_536)
def english_lemma(word: str) -> str:
    """Return the lemma of a lower-case English word, or the word when it has none.

    Words ending in "ing" without a noun entry keep their form, because in feedback
    they usually name an activity ("shipping", "tracking", "billing").

    >>> english_lemma("deliveries"), english_lemma("delayed"), english_lemma("shipping")
    ('delivery', 'delay', 'shipping')
    """
    lemmas = getAllLemmas(word)
    if word.endswith("ing") and "NOUN" not in lemmas:
        return word
    for part_of_speech in LEMMA_PRIORITY:
        if lemmas.get(part_of_speech):
            return lemmas[part_of_speech][0]
    return word


@lru_cache(maxsize=65_536)
def _can_be_noun(word: str) -> bool:
    return "NOUN" in getAllLemmas(word)


@lru_cache(maxsize=1)
def _pipelines() -> tuple[spacy.language.Language, spacy.language.Language]:
    # jieba prints its dictionary loading to stderr at INFO level through its own handler.
    jieba.setLogLevel(logging.WARNING)
    for word in CX_WORDS_ZH:
        jieba.add_word(word)
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
    ``spacy.blank("en")``. English tokens are lower-cased lemmas. In English text,
    two kept words with no dropped token between them also give a bigram when the
    second can be a noun: the first word as written, then the second's lemma ("late
    delivery", "delayed order"). So no bigram contains a stop word or spans
    punctuation. Chinese text gives no bigrams.

    >>> KeywordTokenizer()("快递太慢了，客服电话打不通！")
    ['快递', '慢', '客服', '电话', '打不通']
    >>> KeywordTokenizer()("Late deliveries again, the courier lost two parcels")
    ['late', 'delivery', 'late delivery', 'courier', 'lose', 'parcel']
    """

    def __init__(self, extra_stop_words: Iterable[str] = ()) -> None:
        self.stop_words = stop_words(extra_stop_words)
        # Tokens of the texts given to remember_joined, and of their joined forms.
        self._known: dict[str, list[str]] = {}

    def remember_joined(self, texts: Sequence[str], separator: str = " ") -> None:
        """Tokenise each text once and give ``separator.join(texts)`` their tokens in turn.

        BERTopic's c-TF-IDF tokenises each topic's texts joined into one document. A
        joined document registered here is not tokenised again, and it gets each
        text's own tokens: a text without Chinese keeps its English lemmas beside
        Chinese ones, and no bigram joins the last word of one text to the next.
        Line breaks and tabs become spaces in the key, as BERTopic's preprocessing
        replaces them before passing a document to the vectoriser.
        """
        tokens: list[str] = []
        for text in texts:
            known = self._known.get(text)
            if known is None:
                known = self._known[text] = self._tokenize(text)
            tokens.extend(known)
        joined = separator.join(texts).replace("\n", " ").replace("\t", " ")
        self._known[joined] = tokens

    def __call__(self, text: str) -> list[str]:
        known = self._known.get(text)
        return list(known) if known is not None else self._tokenize(text)

    def _tokenize(self, text: str) -> list[str]:
        chinese, english = _pipelines()
        text = _PLACEHOLDER.sub(" ", text)
        is_english = not _CJK.search(text)
        pipeline = english if is_english else chinese
        tokens: list[str] = []
        # Lower-case form of the previous token when it was kept, else None.
        previous: str | None = None
        for token in pipeline.make_doc(text):
            word = self._keyword(token, is_english)
            if word is None:
                previous = None
                continue
            tokens.append(word)
            written = token.text.strip().lower()
            if is_english and previous is not None and previous != written and _can_be_noun(written):
                tokens.append(f"{previous} {word}")
            previous = written
        return tokens

    def _keyword(self, token: spacy.tokens.Token, is_english: bool) -> str | None:
        """Return the keyword form of a token, or None when the token is dropped."""
        word = token.text.strip().lower()
        if len(word) == 2 and word[0] in DEGREE_ADVERBS_ZH and word[1] in KEEP_WORDS_ZH:
            word = word[1]
        if not word or token.is_space or token.is_punct or token.like_num:
            return None
        if not _HAS_WORD_CHAR.search(word) or word in self.stop_words:
            return None
        if not _CJK.search(word) and len(word) < 2:
            return None
        # Order numbers, dates and model codes ("dd20250918", "airpods12") are not topics.
        if sum(char.isdigit() for char in word) >= 2:
            return None
        if is_english and word.isascii() and word.isalpha():
            word = english_lemma(word)
            # A lemma can be a stop word ("was" → "be").
            if word in self.stop_words:
                return None
        return word
