"""The faster segmenter must give exactly snownlp's words and scores."""

import pandas as pd
import pytest
from snownlp import SnowNLP, seg

from painpoints._snownlp_fast import segment, snownlp_probability
from painpoints.clean import normalise_text
from tests.conftest import require_shared

HAND_WRITTEN = [
    "送餐太慢了，饭都凉了",
    "味道不错，就是分量有点少",
    "客服态度很好，退款很快就到账了",
    "一点也不快",
    "App 闪退 3 次，login 失败",
    "好",
    "ＡＢＣ测试 abc  def",
    "龘靐齉",  # characters the model has never seen
    "非常非常非常非常非常非常非常非常非常非常好吃" * 5,
]


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_segment_equals_snownlp(text):
    assert segment(text) == seg.seg(text)


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_probability_equals_snownlp(text):
    assert snownlp_probability(text) == SnowNLP(text).sentiments


def test_real_reviews_score_identically():
    frame = pd.read_csv(require_shared("waimai_10k.csv"))
    texts = [normalise_text(text) for text in frame["review"].astype(str).sample(400, random_state=0)]
    mismatched = [text for text in texts if segment(text) != seg.seg(text)]
    assert mismatched == []
    assert [snownlp_probability(text) for text in texts] == [SnowNLP(text).sentiments for text in texts]
