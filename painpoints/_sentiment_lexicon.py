"""Word lists for :mod:`painpoints.sentiment`: a small Chinese CX lexicon, its
modifiers, English negators, and the prototype sentences of the zero-shot scorer.

Every entry was written by hand for customer-experience feedback (delivery, food,
support, apps, billing). None was fitted or chosen on a labelled data set, so the
lists carry no licence terms of such a set. Valences are on a −1 … 1 scale.
"""

from __future__ import annotations

from typing import Final

# Chinese sentiment words and phrases. A text is matched leftmost-longest, so a
# longer entry (不满, 不好吃, 不错) wins over a shorter one inside it.
CHINESE_VALENCE: Final[dict[str, float]] = {
    # positive
    "满意": 0.8, "好吃": 0.8, "好喝": 0.8, "美味": 0.8, "可口": 0.8, "不错": 0.7,
    "很好": 0.8, "挺好": 0.7, "真好": 0.8, "好评": 0.8, "快": 0.5, "迅速": 0.6,
    "准时": 0.6, "及时": 0.6, "热情": 0.7, "耐心": 0.7, "专业": 0.6, "推荐": 0.7,
    "喜欢": 0.8, "给力": 0.8, "赞": 0.8, "棒": 0.8, "新鲜": 0.6, "干净": 0.5,
    "划算": 0.6, "实惠": 0.6, "方便": 0.5, "便宜": 0.4, "周到": 0.7, "好用": 0.7,
    "值得": 0.6, "感谢": 0.6, "谢谢": 0.5, "完美": 1.0, "优秀": 0.8, "靠谱": 0.7,
    "贴心": 0.7, "流畅": 0.5, "省心": 0.6, "顺利": 0.5, "满分": 1.0, "惊喜": 0.7,
    "舒服": 0.6, "好看": 0.6, "精美": 0.6, "正品": 0.5, "高效": 0.6, "稳定": 0.5,
    "快捷": 0.6, "超值": 0.8, "分量足": 0.6, "量大": 0.5, "态度好": 0.8, "友好": 0.6,
    # negative
    "慢": -0.6, "差": -0.7, "难吃": -0.9, "难喝": -0.9, "失望": -0.8, "不满": -0.8,
    "投诉": -0.6, "退款": -0.4, "退货": -0.4, "糟糕": -0.9, "垃圾": -0.9, "坑": -0.6,
    "凉了": -0.6, "冷了": -0.5, "贵": -0.4, "量少": -0.5, "分量少": -0.5, "破损": -0.6,
    "洒了": -0.5, "漏了": -0.5, "送错": -0.6, "迟到": -0.6, "丢了": -0.5, "骗": -0.8,
    "恶心": -0.9, "再也不": -0.9, "不会再": -0.8, "拉黑": -0.9, "敷衍": -0.7,
    "恶劣": -0.9, "不耐烦": -0.7, "超时": -0.6, "卡顿": -0.6, "闪退": -0.7,
    "故障": -0.6, "毛病": -0.5, "麻烦": -0.4, "后悔": -0.8, "无语": -0.7, "生气": -0.8,
    "气死": -0.9, "太咸": -0.6, "油腻": -0.6, "难用": -0.7, "坏了": -0.6, "假货": -0.9,
    "不值": -0.6, "退钱": -0.6, "不好": -0.7, "不好吃": -0.8, "难等": -0.6,
    "等了": -0.3, "半天": -0.3, "不新鲜": -0.7, "没人管": -0.7, "没人理": -0.7,
}

# Hedged verdicts. They count as modified hits (see ``sentiment.RuleHit``): their
# valence replaces the library's, because snownlp reads 还行 as clearly positive.
# 一般 is mildly negative because in reviews it is how a complaint is softened.
CHINESE_HEDGES: Final[dict[str, float]] = {
    "还行": 0.05, "还可以": 0.05, "还好": 0.05, "凑合": -0.05, "马马虎虎": -0.1,
    "一般般": -0.2, "一般": -0.2,
}

# Words that contain a lexicon entry but carry no sentiment (快递 contains 快).
CHINESE_BLOCKED: Final[tuple[str, ...]] = ("快递", "快餐", "快点", "赶快", "差价", "差不多", "好不好")

# Negators, longest first so that 一点也不 wins over 不. The factor multiplies the
# valence of the word that follows. A plain negation flips and damps (−0.74, the
# constant VADER 3.3 uses), a strong one flips fully, and a weak one (不太, "not very")
# flips and halves.
CHINESE_NEGATORS: Final[tuple[tuple[str, float], ...]] = (
    ("一点儿也不", -1.0), ("一点也不", -1.0), ("一点都不", -1.0), ("根本不", -1.0),
    ("完全不", -1.0), ("从来不", -1.0), ("绝对不", -1.0), ("毫不", -1.0), ("绝不", -1.0),
    ("不是很", -0.5), ("不怎么", -0.5), ("没那么", -0.5), ("不太", -0.5), ("不大", -0.5),
    ("没有", -0.74), ("并不", -0.74), ("不", -0.74), ("没", -0.74), ("别", -0.74), ("未", -0.74),
)

# Degree adverbs: intensifiers raise the valence by 30 %, diminishers lower it by 40 %.
CHINESE_INTENSIFIERS: Final[tuple[str, ...]] = (
    "非常", "特别", "十分", "极其", "超级", "相当", "真的", "太", "很", "真", "超", "巨", "最", "好",
)
CHINESE_DIMINISHERS: Final[tuple[str, ...]] = ("有点儿", "有点", "有些", "稍微", "略微", "略", "比较", "还算", "还")
INTENSIFIER_FACTOR: Final = 1.3
DIMINISHER_FACTOR: Final = 0.6

# English words that VADER 3.3 treats as dampeners but that negate what follows
# ("hardly helpful" is a complaint). VADER handles not/never/n't itself.
ENGLISH_NEGATORS: Final[tuple[str, ...]] = ("hardly", "barely", "scarcely", "seldom", "rarely")

# Prototype sentences of the zero-shot scorer: CX feedback in both languages.
POSITIVE_PROTOTYPES: Final[tuple[str, ...]] = (
    "送得很快，非常满意",
    "客服态度很好，问题马上解决了",
    "味道很好，下次还会再来",
    "质量不错，物超所值，推荐购买",
    "服务周到，体验非常好，点赞",
    "The service was excellent, thank you",
    "Fast delivery and great quality, very happy",
    "Support solved my problem quickly, highly recommend",
    "Easy to use and works perfectly",
    "Friendly staff, I will definitely come back",
)
NEGATIVE_PROTOTYPES: Final[tuple[str, ...]] = (
    "太慢了，再也不买了",
    "客服态度很差，问题一直没解决",
    "难吃，东西都凉了，非常失望",
    "质量太差，用了两天就坏了，要求退款",
    "等了两个小时还没送到，投诉",
    "Terrible support, never again",
    "The delivery was late and the food was cold",
    "Nobody answered my ticket, very disappointed",
    "The app keeps crashing and I want a refund",
    "Overpriced and poor quality, I am cancelling",
)
