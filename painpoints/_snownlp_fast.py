"""snownlp's sentiment score with a faster copy of its word segmenter.

snownlp segments a text with a character-based generative model (a second-order
hidden Markov model over the tags b, m, e, s) before its naive Bayes classifier reads
the words. Its Viterbi search is pure Python and copies each partial tag path at every
character, so segmentation takes nearly all of snownlp's scoring time, and the copies
make it grow with the square of a text's length. :func:`segment` runs the same search
on the same model tables with back-pointers: the same arithmetic in the same order,
the same tie-breaking, so it returns the same words (tests/test_sentiment.py compares
both on real reviews). The classifier and stop-word filter are snownlp's own.
"""

from __future__ import annotations

import re
from functools import lru_cache
from math import log
from typing import Final

_TAGS: Final = ("b", "m", "e", "s")
_BOS: Final = ("", "BOS")
# snownlp.seg.re_zh: runs of CJK ideographs are segmented, the rest split on spaces.
_CHINESE_RUN: Final = re.compile("([\u4E00-\u9FA5]+)")


@lru_cache(maxsize=1)
def _model():
    from snownlp import normal, seg, sentiment

    tagger = seg.segger.segger
    tables = (tagger.uni.d, tagger.uni.total, tagger.bi.d, tagger.tri.d, tagger.l1, tagger.l2, tagger.l3)
    return tables, normal.filter_stop, sentiment.classifier.classifier


def _tag(chars: str, tables) -> list[str]:
    """Return the tag of each character, as ``CharacterBasedGenerativeModel.tag`` does."""
    uni, uni_total, bi, tri, l1, l2, l3 = tables
    # Each entry: state (previous (char, tag), current (char, tag)), log probability,
    # index of its predecessor in the previous column, own tag.
    column: list[tuple[tuple, float, int, str]] = [((_BOS, _BOS), 0.0, -1, "")]
    columns = []

    for char in chars:
        states = [(char, tag) for tag in _TAGS]
        stage: dict[tuple, tuple[float, int, str]] = {}
        if all(uni.get(state, 0) == 0 for state in states):
            for state, tag in zip(states, _TAGS):
                for index, (key, probability, _, _) in enumerate(column):
                    stage[(key[1], state)] = (probability, index, tag)
        else:
            # The counts that do not depend on the new tag, looked up once per entry.
            entries = [(index, key[0], key[1], probability, uni.get(key[1], 0), bi.get(key, 0))
                       for index, (key, probability, _, _) in enumerate(column)]
            for state, tag in zip(states, _TAGS):
                unigram = l1 * (float(uni.get(state, 0)) / uni_total)
                # Entries share their second state 4 by 4, so their bigram term too.
                bigrams: dict[tuple, float] = {}
                for index, first, second, probability, second_count, pair_count in entries:
                    bigram = bigrams.get(second)
                    if bigram is None:
                        bigram = 0 if second_count == 0 else float(l2 * bi.get((second, state), 0)) / second_count
                        bigrams[second] = bigram
                    trigram = 0 if pair_count == 0 else float(l3 * tri.get((first, second, state), 0)) / pair_count
                    total = unigram + bigram + trigram
                    score = probability + (float("-inf") if total == 0 else log(total))
                    new_key = (second, state)
                    previous = stage.get(new_key)
                    if previous is None or score > previous[0]:
                        stage[new_key] = (score, index, tag)
        columns.append(column)
        column = [(key, value[0], value[1], value[2]) for key, value in stage.items()]
    columns.append(column)

    # Follow the back-pointers from the best final state, as snownlp picks its best path.
    best = max(range(len(column)), key=lambda index: column[index][1])
    tags = []
    for position in range(len(chars), 0, -1):
        _, _, parent, tag = columns[position][best]
        tags.append(tag)
        best = parent
    return tags[::-1]


def segment(text: str) -> list[str]:
    """Split ``text`` into words as ``snownlp.seg.seg`` does."""
    tables = _model()[0]
    words: list[str] = []
    for piece in _CHINESE_RUN.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if not _CHINESE_RUN.match(piece):
            words.extend(word.strip() for word in piece.split() if word.strip())
            continue
        current = ""
        for char, tag in zip(piece, _tag(piece, tables)):
            if tag == "e":
                words.append(current + char)
                current = ""
            elif tag in ("b", "s"):
                if current:
                    words.append(current)
                current = char
            else:
                current += char
        if current:
            words.append(current)
    return words


def snownlp_probability(text: str) -> float:
    """Return snownlp's probability that ``text`` is positive (``SnowNLP(text).sentiments``)."""
    _, filter_stop, classifier = _model()
    label, probability = classifier.classify(filter_stop(segment(text)))
    return probability if label == "pos" else 1 - probability
