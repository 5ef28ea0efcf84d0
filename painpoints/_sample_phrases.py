"""Phrase banks of the synthetic sample and ``compose_text``, which combines them.

Each theme has, per language, three banks: openers (the main complaint or praise),
details and endings. ``compose_text`` joins one opener, zero to two details and often
an ending, so that texts within a theme vary in wording and length instead of
repeating one template. Slots in braces, such as ``{days}`` or ``{product}``, are
filled per row from ``PRODUCTS``, ``SLOT_VALUES`` and numbers drawn in ``_draw_slots``.

Chinese phrases are written as customers type them: no spaces, colloquial, often
without a final full stop. Every name, number and address here is invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


class Draws(Protocol):
    """Seeded random draws, as implemented by ``painpoints.sample._Draws``."""

    def chance(self, probability: float) -> bool: ...

    def integer(self, low: int, high: int) -> int: ...

    def pick(self, items: Sequence[T]) -> T: ...

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T: ...

    def distinct(self, items: Sequence[T], count: int) -> list[T]: ...


# Openers, details and endings per theme and language.
PHRASES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "logistics_delay": {
        "zh": {
            "openers": (
                "快递{days}天了还没到",
                "我{weekday}下的单，到现在还没收到",
                "订单显示已发货{days}天了，包裹还是没到",
                "买的{product}等了{days}天还没送到",
                "物流{days}天没动了",
                "说好的次日达，结果{days}天了还没到",
                "{courier}的件一直显示运输中",
                "包裹卡在{city}转运中心好几天了",
                "快递到底什么时候能送到",
                "都{days}天了，我的快递还在路上",
                "预计送达时间早就过了，东西还没到",
                "下单一个多星期了还没收到货",
                "配送太慢了，等了{days}天",
                "显示派送中一整天了，快递员一直没来",
                "我的包裹好像丢了，物流停在{city}",
                "承诺48小时内送达，现在都{days}天了",
                "{product}发货以后就没消息了",
                "同城快递走了{days}天还没送到",
            ),
            "details": (
                "物流信息一直不更新",
                "查物流还停在{city}中转站",
                "打快递员电话也没人接",
                "{courier}那边说在排队派送",
                "网点说爆仓了要等",
                "每天都在家等，哪儿也不敢去",
                "物流轨迹{days}天前就停了",
                "上面一直写着已揽收，后面就没动静了",
                "这是要送朋友的生日礼物，现在生日都过了",
                "家里等着用，急死了",
                "之前买东西两三天就到，这次太离谱",
                "催了两次件也没用",
                "显示已签收但我根本没收到",
                "快递柜和门口都找过了，没有",
            ),
            "endings": (
                "太失望了",
                "到底什么时候能到？",
                "再这样下次不在你们家买了",
                "请尽快给个说法",
                "真的等不起了",
                "能不能催一下",
                "体验太差了",
                "以后不敢在这买了",
                "气死了",
                "这速度也太慢了吧！",
                "麻烦尽快处理！！",
                "有点后悔在这里下单",
            ),
        },
        "en": {
            "openers": (
                "My parcel is {days} days late",
                "I ordered on {weekday} and still haven't received anything",
                "Tracking says it shipped {days} days ago but nothing has arrived",
                "Still waiting for my {product}, it's been {days} days",
                "The delivery was due {when} and there's still nothing",
                "My order has been stuck in transit for {days} days",
                "Where is my package?",
                "Next-day delivery? It's been {days} days",
                "The estimated delivery date has passed and no parcel",
                "My package has been sitting at the {city} hub for days",
                "It's said 'out for delivery' since this morning but the courier never came",
                "My order seems to be lost somewhere in {city}",
                "Delivery is way too slow",
                "I ordered the {product} over a week ago and it's still not here",
            ),
            "details": (
                "Tracking hasn't updated since {weekday}.",
                "The {courier} driver doesn't answer the phone.",
                "{courier} says they're backlogged.",
                "It shows 'picked up' and then nothing.",
                "I stayed home all day waiting for it.",
                "It was a birthday present and the birthday has passed.",
                "Last time orders came in two days, so this is ridiculous.",
                "I've chased it twice already.",
                "It's marked as delivered but I never got it.",
                "I checked the parcel locker and my doorstep, nothing.",
            ),
            "endings": (
                "Really disappointed.",
                "When will it actually arrive?",
                "If this happens again I'm shopping elsewhere.",
                "Please sort this out ASAP.",
                "This is unacceptable.",
                "Can someone chase the courier?",
                "Not impressed at all.",
                "Very frustrating.",
            ),
        },
    },
    "refund_delay": {
        "zh": {
            "openers": (
                "申请退款{days}天了还没到账",
                "退货已经寄回去{days}天了，钱还没退",
                "退款一直显示处理中",
                "我的退款什么时候能到",
                "商家已经同意退款了，但是钱迟迟没到",
                "退款{amount}元到现在都没收到",
                "取消订单以后一直没给我退款",
                "仓库签收退货都{days}天了，退款还没下来",
                "说好的3到5个工作日退款，现在都两周了",
                "退款进度一直卡在审核中",
                "之前退的{product}，钱一直没退回来",
                "退款申请被莫名其妙驳回了",
                "退款退了{days}天还没退完",
            ),
            "details": (
                "支付宝和银行卡都查了，没有这笔钱",
                "退款金额是{amount}元",
                "原路退回的说法已经听了好几遍",
                "页面上一直显示退款中",
                "退货单号早就上传了",
                "每次问都说在处理",
                "订单号{order}",
                "钱不多但是很影响心情",
                "这{amount}块钱是我的生活费",
                "银行说没有收到任何退款",
                "扣钱的时候可快了",
            ),
            "endings": (
                "请尽快退款",
                "再不退我就去投诉了",
                "到底什么时候能退？",
                "太影响信任了",
                "这样下去谁还敢买",
                "给个准确时间吧",
                "不要再拖了",
                "我要去12315投诉",
                "很失望",
            ),
        },
        "en": {
            "openers": (
                "I requested a refund {days} days ago and it still hasn't arrived",
                "I returned the {product} {days} days ago and there's no refund yet",
                "My refund has been 'processing' forever",
                "Where is my refund?",
                "The seller approved my refund but the money never came",
                "Still waiting on a refund of ¥{amount}",
                "I cancelled the order and was never refunded",
                "Your warehouse signed for my return {days} days ago and I still have no refund",
                "You said 3-5 business days for the refund, it's been two weeks",
                "The refund is stuck at 'under review'",
                "My refund request got rejected for no reason",
            ),
            "details": (
                "Nothing has shown up on my card or in Alipay.",
                "The amount is ¥{amount}.",
                "I keep being told it goes back to the original payment method.",
                "Order number {order}.",
                "The return tracking number was uploaded ages ago.",
                "Every time I ask, I'm told it's being processed.",
                "My bank says no refund has come in.",
                "You were quick enough to take the money.",
            ),
            "endings": (
                "Please refund me now.",
                "If I don't get it this week I'll file a complaint.",
                "When will I get my money back?",
                "This really damages my trust.",
                "Give me a real date please.",
                "Stop dragging this out.",
                "Very disappointed.",
            ),
        },
    },
    "delivery_praise": {
        "zh": {
            "openers": (
                "快递很快，第二天就到了",
                "物流超快，下单{hours}个小时就收到了",
                "配送速度很给力",
                "早上下单下午就送到了",
                "这次比预计时间还早到了一天",
                "{courier}的小哥送得又快又准时",
                "发货速度很快",
                "隔天就到，太惊喜了",
                "包装完好，送得也快",
                "配送员很准时，还提前打了电话",
                "买的{product}第二天就收到了",
                "物流很快，比别家快多了",
                "昨晚下的单今天中午就到了",
            ),
            "details": (
                "快递小哥人也很好",
                "包装很仔细，没有一点破损",
                "送货上门很方便",
                "放在快递柜还发了短信提醒",
                "下雨天也准时送到了",
                "物流信息更新很及时",
                "比上次还快",
                "全程都能看到配送进度",
            ),
            "endings": (
                "好评！",
                "满意，下次还来",
                "点赞👍",
                "会推荐给朋友",
                "非常满意",
                "五星好评",
                "辛苦了，谢谢",
                "继续保持",
                "体验很好",
            ),
        },
        "en": {
            "openers": (
                "Super fast delivery, arrived the next day",
                "Ordered in the morning and got it the same afternoon",
                "Delivery was really quick",
                "It arrived a day earlier than expected",
                "The {courier} courier was fast and on time",
                "Shipping was lightning fast",
                "Got my {product} the next day, amazing",
                "Quick delivery and well packed",
                "The courier called ahead and arrived right on time",
                "Much faster than other shops I've used",
                "Received it within {hours} hours of ordering",
            ),
            "details": (
                "The driver was friendly too.",
                "Packaging was careful, nothing damaged.",
                "Tracking updates were spot on.",
                "Delivered to my door even in the rain.",
                "Left in the parcel locker with a text notification.",
                "Even faster than last time.",
            ),
            "endings": (
                "Great job!",
                "Will order again.",
                "Highly recommend.",
                "Five stars.",
                "Thanks a lot!",
                "Keep it up.",
                "Very happy with it.",
            ),
        },
    },
    "app_login": {
        "zh": {
            "openers": (
                "登录的时候验证码一直收不到",
                "手机换号了，账号登不上去",
                "APP一直提示登录失效",
                "验证码发了好几次都没收到",
                "密码忘了，找回密码的页面打不开",
                "账号被冻结了，显示存在风险",
                "微信登录一直失败",
                "更新APP之后就登录不了了",
                "短信验证码等了{minutes}分钟都没来",
                "输入验证码后提示验证码错误",
                "登录提示账号异常，需要人脸验证",
                "请问怎么解绑旧手机号",
                "一个手机号注册了两个账号，想合并",
                "登录页面一直转圈",
                "账号密码是对的但是登录不上",
            ),
            "details": (
                "试了{times}次都不行",
                "手机信号是正常的",
                "换了网络也一样",
                "卸载重装了还是不行",
                "用的是{device}",
                "提示请求过于频繁，请稍后再试",
                "旧手机号已经停用了",
                "网页版也登录不上",
                "收到的验证码一输入就说过期了",
            ),
            "endings": (
                "请问怎么解决？",
                "麻烦帮忙看一下",
                "该怎么操作",
                "谢谢",
                "有没有别的验证方式",
                "请帮忙处理一下",
                "等回复",
                "急着下单，麻烦快点",
            ),
        },
        "en": {
            "openers": (
                "I'm not receiving the verification code when I try to log in",
                "I changed my phone number and now I can't get into my account",
                "The app keeps logging me out",
                "I requested the SMS code several times and nothing comes through",
                "I forgot my password and the reset page won't load",
                "My account has been locked for 'security reasons'",
                "WeChat login keeps failing",
                "I can't log in since the latest app update",
                "The SMS code takes more than {minutes} minutes to arrive",
                "It says the verification code is wrong even though I typed it correctly",
                "Login asks for face verification and then fails",
                "How do I unlink my old phone number?",
                "I have two accounts under one phone number and want to merge them",
                "The login screen just keeps spinning",
            ),
            "details": (
                "Tried {times} times already.",
                "My signal is fine.",
                "Same on Wi-Fi and mobile data.",
                "Reinstalled the app, no change.",
                "I'm on a {device}.",
                "It says 'too many requests, try again later'.",
                "The old number is no longer active.",
                "The website login doesn't work either.",
                "The code expires as soon as I enter it.",
            ),
            "endings": (
                "How can I fix this?",
                "Could you take a look?",
                "What should I do?",
                "Thanks.",
                "Is there another way to verify?",
                "Please advise.",
                "Waiting for your reply.",
            ),
        },
    },
    "product_quality": {
        "zh": {
            "openers": (
                "收到的{gadget}是坏的",
                "买的{gadget}用了{days}天就坏了",
                "东西质量太差了",
                "收到货发现{gadget}有明显划痕",
                "{product}和图片完全不一样",
                "到手的{goods}有股很大的异味",
                "{goods}做工很粗糙",
                "拆开发现{gadget}少了配件",
                "这个{product}是不是假货",
                "{clothing}洗了一次就掉色",
                "{clothing}尺码跟描述的不符",
                "{clothing}线头到处都是",
                "{clothing}穿了一次就开线了",
                "收到的{food}已经过期了",
                "{food}生产日期都是去年的",
                "{food}包装都漏了",
                "{gadget}开机没反应",
                "{gadget}用了没两次外壳就开裂了",
            ),
            "details": (
                "这个价钱买到这种质量",
                "{amount}块买了个寂寞",
                "和详情页写的不一样",
                "拍了照片可以发给你们",
                "跟上次买的完全不是一个品质",
                "朋友推荐来买的，太丢人了",
                "一看就是用过的二手货",
            ),
            "endings": (
                "太坑了",
                "质量真的不行",
                "希望给个处理方案",
                "很失望",
                "以后不会再买了",
                "要求换货",
                "差评",
                "这品控也太差了",
            ),
        },
        "en": {
            "openers": (
                "The {gadget} arrived broken",
                "My {gadget} stopped working after {days} days",
                "The quality is really poor",
                "The {gadget} came with obvious scratches",
                "The {product} looks nothing like the photos",
                "The {goods} has a strong chemical smell",
                "The {goods} is badly made",
                "Parts are missing from the {gadget}",
                "Is this {product} even genuine?",
                "The {clothing} faded after one wash",
                "The {clothing} is nowhere near the listed size",
                "The stitching on the {clothing} is coming apart",
                "The {food} was already past its expiry date",
                "The {food} was leaking when it arrived",
                "The {gadget} won't turn on",
            ),
            "details": (
                "Not what I expect for ¥{amount}.",
                "It isn't what the product page describes.",
                "I have photos if you need them.",
                "Nothing like the one I bought last time.",
                "A friend recommended you, so this is embarrassing.",
                "It looks like a used item.",
            ),
            "endings": (
                "What a rip-off.",
                "Really poor quality control.",
                "I'd like a replacement.",
                "Very disappointed.",
                "Won't buy this again.",
                "Please tell me how you'll fix this.",
            ),
        },
    },
    "customer_service": {
        "zh": {
            "openers": (
                "客服电话一直打不通",
                "人工客服排队排了{minutes}分钟",
                "在线客服一直是机器人在回复",
                "客服态度太差了",
                "找了客服{times}次问题都没解决",
                "热线打了一上午都占线",
                "转人工转了半天转不过去",
                "客服说会回电，结果一直没人联系我",
                "客服回复全是复制粘贴",
                "客服直接把我的对话结束了",
                "给客服留言{days}天了没人回",
                "客服一问三不知",
            ),
            "details": (
                "每次都要重新描述一遍问题",
                "说话很不耐烦",
                "答非所问",
                "还说是我自己的问题",
                "等了半天只回了一句亲请耐心等待",
                "工单号给了也没用",
                "换了几个客服说法都不一样",
                "机器人只会发链接",
            ),
            "endings": (
                "这服务也太差了",
                "你们到底有没有人管",
                "太让人生气了",
                "希望改进一下服务",
                "要投诉这个客服",
                "服务体验极差",
                "真的无语",
                "请给个能打通的电话",
            ),
        },
        "en": {
            "openers": (
                "I can't get through to your hotline",
                "I waited {minutes} minutes in the queue for a live agent",
                "Your online chat is just a bot",
                "The agent I spoke to was incredibly rude",
                "I've contacted support {times} times and nothing gets solved",
                "The hotline has been busy all morning",
                "I keep trying to reach a human and can't",
                "Support promised to call me back and never did",
                "The replies are obviously copy-pasted",
                "The agent just ended the chat on me",
                "I left a message {days} days ago and nobody replied",
                "Your support staff don't know anything",
            ),
            "details": (
                "I have to explain everything from scratch each time.",
                "The agent sounded annoyed the whole time.",
                "The answers had nothing to do with my question.",
                "They even implied it was my fault.",
                "All I got was 'please be patient'.",
                "Every agent tells me something different.",
                "The bot just keeps sending me links.",
            ),
            "endings": (
                "Terrible service.",
                "Is anyone actually in charge?",
                "This is infuriating.",
                "Please improve your support.",
                "I want to complain about this agent.",
                "Please give me a number that actually works.",
            ),
        },
    },
    "invoice": {
        "zh": {
            "openers": (
                "请帮我开一张发票",
                "需要开增值税专用发票",
                "发票抬头写错了，能重开吗",
                "想问下电子发票在哪里下载",
                "订单{order}的发票还没收到",
                "公司报销需要发票",
                "能开纸质发票吗",
                "发票上的税号要改一下",
                "怎么申请补开发票",
                "开票信息填错了",
            ),
            "details": (
                "抬头是{company}",
                "税号{tax_id}",
                "金额{amount}元",
                "月底要报销",
                "是上个月的订单",
                "需要盖章的",
            ),
            "endings": (
                "谢谢",
                "麻烦尽快",
                "辛苦了",
                "请问多久能开好？",
                "谢谢处理",
            ),
        },
        "en": {
            "openers": (
                "Could you issue an invoice for my order?",
                "I need a VAT special invoice (fapiao)",
                "The company name on my invoice is wrong, can it be reissued?",
                "Where can I download the e-invoice?",
                "I haven't received the invoice for order {order}",
                "I need an invoice for expense reimbursement",
                "Can I get a paper invoice?",
                "The tax ID on the invoice needs correcting",
                "How do I request an invoice for a past order?",
            ),
            "details": (
                "Company name: {company}.",
                "Tax ID: {tax_id}.",
                "The amount is ¥{amount}.",
                "It's for an order from last month.",
                "I need it before month-end.",
                "It needs the company stamp.",
            ),
            "endings": (
                "Thanks.",
                "Thank you in advance.",
                "How long will it take?",
                "Appreciate it.",
            ),
        },
    },
}

# Short complaints that several customers could write word for word. The generator
# copies one of them into rows of different customers to plant exact duplicates.
SHORT_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "logistics_delay": {
        "zh": ("快递还没到", "物流太慢了", "等了一周才到", "物流一直不更新"),
        "en": ("Still waiting for my parcel.", "Delivery was very slow.", "Where is my order?"),
    },
    "refund_delay": {
        "zh": ("退款什么时候到账？", "退款太慢了", "钱还没退"),
        "en": ("Where is my refund?", "Refund still not received."),
    },
    "delivery_praise": {
        "zh": ("快递很快", "送货速度快，好评", "物流给力"),
        "en": ("Fast delivery!", "Arrived next day, great."),
    },
    "app_login": {
        "zh": ("验证码收不到", "登录不上", "收不到验证码怎么办"),
        "en": ("Can't log in.", "Verification code never arrives."),
    },
    "product_quality": {
        "zh": ("质量太差", "东西是坏的", "质量一般"),
        "en": ("Item arrived broken.", "Poor quality."),
    },
    "customer_service": {
        "zh": ("客服电话打不通", "客服态度差"),
        "en": ("Can't reach customer service.", "Support never replied."),
    },
    "invoice": {
        "zh": ("怎么开发票？", "需要发票"),
        "en": ("How do I get an invoice?", "Please send the invoice."),
    },
}

# Texts without usable content, as survey tools export them, with the language they
# count as. ``None`` takes the customer's language because the text has no letters.
CONTENT_FREE_TEXTS: tuple[tuple[str, str | None], ...] = (
    ("好", "zh"),
    ("好的", "zh"),
    ("666", None),
    ("👍", None),
    ("👍👍👍", None),
    ("N/A", "en"),
    ("NA", "en"),
    ("无", "zh"),
    ("暂无", "zh"),
    ("没有", "zh"),
    ("无意见", "zh"),
    ("。。。", "zh"),
    ("...", None),
    ("ok", "en"),
    ("nothing", "en"),
    ("no", "en"),
    ("", None),
    ("-", None),
    ("/", None),
    ("1", None),
    ("嗯", "zh"),
)

# Two themes that one text plausibly mentions together, with relative weights.
THEME_PAIRS: tuple[tuple[tuple[str, str], float], ...] = (
    (("logistics_delay", "refund_delay"), 3.0),
    (("logistics_delay", "customer_service"), 3.0),
    (("refund_delay", "customer_service"), 3.0),
    (("product_quality", "refund_delay"), 3.0),
    (("product_quality", "customer_service"), 2.0),
    (("logistics_delay", "product_quality"), 2.0),
    (("delivery_praise", "product_quality"), 2.0),
    (("app_login", "invoice"), 1.0),
    (("app_login", "customer_service"), 1.0),
)

# Words that join the second theme of a two-theme text to the first.
CONNECTORS: dict[str, tuple[str, ...]] = {
    "zh": ("另外，", "还有，", "而且", "更气人的是，", "然后", "顺便说一下，"),
    "en": ("Also,", "On top of that,", "Plus,", "Separately,", "And"),
}

GREETINGS: dict[str, tuple[str, ...]] = {
    "zh": ("你好，", "您好，", "客服你好，", "在吗？", "你好，我想反映个问题。"),
    "en": ("Hi,", "Hello,", "Hi team,", "Hello support,", "Good morning,"),
}

# Sentences that carry invented personal data, for testing redaction.
PII_TEMPLATES: dict[str, tuple[str, ...]] = {
    "zh": (
        "我电话{phone}，有消息请联系我",
        "联系方式：{phone}",
        "有问题发我邮箱{email}",
        "手机{phone}，收件人姓王",
        "我的邮箱是{email}，电话{phone}",
    ),
    "en": (
        "You can reach me at {phone}.",
        "My email is {email}.",
        "Contact: {email} / {phone}.",
        "Please call me on {phone}.",
    ),
}

EMAIL_NAMES: tuple[str, ...] = (
    "zhang.wei",
    "lily.chen",
    "wang_fang",
    "j.smith",
    "mike88",
    "liuyang2020",
    "amy.huang",
    "xiaoming",
)

# Products per category and language. English names are singular nouns because the
# templates write "the {product} is".
PRODUCTS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "gadget": (
            "电饭煲", "蓝牙耳机", "空气炸锅", "台灯", "扫地机器人", "AirPods", "充电宝",
            "电动牙刷", "吹风机", "榨汁机",
        ),
        "food": ("零食礼盒", "猫粮", "牛奶", "坚果礼盒", "婴儿奶粉", "咖啡豆"),
        "clothing": ("运动鞋", "羽绒服", "连衣裙", "卫衣", "牛仔裤"),
        "other": ("洗发水", "纸尿裤", "保温杯", "手机壳", "行李箱", "护肤套装"),
    },
    "en": {
        "gadget": (
            "rice cooker", "air fryer", "desk lamp", "robot vacuum", "power bank", "hair dryer",
            "blender", "electric toothbrush",
        ),
        "food": ("snack box", "tin of cat food", "box of milk", "bag of coffee beans", "tin of baby formula"),
        "clothing": ("down jacket", "dress", "hoodie", "winter coat"),
        "other": ("thermos", "phone case", "suitcase", "skincare set", "backpack"),
    },
}
# Slots that name the row's product only when it is of one of these categories.
# ``{product}`` fits every category. A phrase with a slot that does not fit the row's
# category is not used for that row.
PRODUCT_SLOTS: dict[str, frozenset[str]] = {
    "gadget": frozenset({"gadget"}),
    "food": frozenset({"food"}),
    "clothing": frozenset({"clothing"}),
    "goods": frozenset({"gadget", "clothing", "other"}),
}

# Values of the slots that depend neither on the theme nor on the product, per language.
SLOT_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "courier": ("顺丰", "中通", "圆通", "韵达", "京东物流", "申通", "极兔", "EMS"),
        "city": ("杭州", "广州", "成都", "武汉", "郑州", "上海", "北京", "西安", "南京", "长沙"),
        "weekday": ("周一", "周二", "上周三", "周四", "上周五", "周六", "上周日", "上个月底"),
        "device": ("iPhone 15", "华为Mate 60", "小米14", "OPPO Reno", "vivo X100", "荣耀90"),
        "company": (
            "杭州云帆科技有限公司",
            "深圳市海川贸易有限公司",
            "成都青禾文化传媒有限公司",
            "北京启明信息技术有限公司",
            "上海蓝石餐饮管理有限公司",
        ),
    },
    "en": {
        "courier": ("SF Express", "ZTO", "YTO", "Yunda", "JD Logistics", "J&T", "EMS"),
        "city": ("Hangzhou", "Guangzhou", "Chengdu", "Wuhan", "Zhengzhou", "Shanghai", "Beijing"),
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"),
        "device": ("iPhone 15", "Pixel 8", "Samsung S23", "Huawei P60", "Xiaomi 14"),
        "company": (
            "Blue Harbor Trading Co., Ltd.",
            "Hangzhou Cloudsail Technology Co., Ltd.",
            "Qinghe Media (Chengdu) Co., Ltd.",
            "Morningstar IT Services Ltd.",
        ),
        "when": ("yesterday", "on Monday", "last week", "three days ago", "by the weekend"),
    },
}

# Chinese numerals that customers write instead of digits for small counts.
ZH_NUMERALS: dict[int, str] = {
    2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十",
}

# Inclusive ranges of the {days} slot per theme.
DAY_RANGES: dict[str, tuple[int, int]] = {
    "logistics_delay": (3, 12),
    "refund_delay": (5, 30),
    "product_quality": (2, 20),
    "customer_service": (2, 7),
}


def compose_text(themes: tuple[str, ...], language: str, is_survey: bool, created: date, draws: Draws) -> str:
    """Compose the feedback text of one row about one or two themes.

    Survey comments are shorter than tickets, and some tickets start with a greeting.
    Both halves of a two-theme text name the same product. ``created`` is the row's
    date, from which invented order numbers are derived.
    """
    slots = _draw_slots(language, created, draws)
    if len(themes) == 1:
        text = _compose_theme_text(themes[0], language, is_survey, slots, draws, "whole")
    else:
        first = _compose_theme_text(themes[0], language, is_survey, slots, draws, "first")
        second = _compose_theme_text(themes[1], language, is_survey, slots, draws, "second")
        text = _join_two_themes(first, second, language, draws)

    if not is_survey and draws.chance(0.2):
        greeting = draws.pick(GREETINGS[language])
        if draws.chance(0.25):
            text = greeting + "\n" + text
        elif language == "zh":
            text = greeting + text
        else:
            text = greeting + " " + _lowercase_first_word(text)
    return text


def _compose_theme_text(
    theme: str, language: str, is_survey: bool, slots: dict[str, str], draws: Draws, part: str
) -> str:
    """Combine phrases of one theme into one text, or into one half of a two-theme text."""
    if part == "first":
        detail_count = draws.weighted((0, 1), (0.5, 0.5))
        add_ending = False
    elif part == "second":
        detail_count = 0
        add_ending = draws.chance(0.6)
    elif is_survey:
        detail_count = draws.weighted((0, 1), (0.6, 0.4))
        # An opener alone would repeat too often across customers.
        add_ending = draws.chance(0.9 if detail_count == 0 else 0.4)
    else:
        detail_count = draws.weighted((0, 1, 2), (0.2, 0.55, 0.25))
        add_ending = draws.chance(0.75)

    bank = {
        key: [phrase for phrase in phrases if _fits_product(phrase, slots["category"])]
        for key, phrases in PHRASES[theme][language].items()
    }
    phrases = [draws.pick(bank["openers"])]
    phrases.extend(draws.distinct(bank["details"], detail_count))
    if add_ending:
        phrases.append(draws.pick(bank["endings"]))
    low, high = DAY_RANGES.get(theme, (2, 10))
    theme_slots = dict(slots, days=_format_count(draws.integer(low, high), language, draws))
    phrases = [phrase.format_map(theme_slots) for phrase in phrases]

    if language == "zh":
        return _join_zh(phrases, draws, final=part != "first")
    return _join_en(phrases, draws, final=part != "first")


def _fits_product(phrase: str, category: str) -> bool:
    return all(
        category in categories
        for slot, categories in PRODUCT_SLOTS.items()
        if "{" + slot + "}" in phrase
    )


def _draw_slots(language: str, created: date, draws: Draws) -> dict[str, str]:
    """Draw the slot values of one row, except ``days``, which depends on the theme."""
    slots = {name: draws.pick(values) for name, values in SLOT_VALUES[language].items()}
    category = draws.pick(tuple(PRODUCTS[language]))
    slots["category"] = category
    slots["product"] = draws.pick(PRODUCTS[language][category])
    for slot in PRODUCT_SLOTS:
        slots[slot] = slots["product"]
    slots["times"] = _format_count(draws.integer(3, 8), language, draws)
    slots["hours"] = str(draws.integer(3, 20))
    slots["minutes"] = str(5 * draws.integer(2, 18))
    amount = draws.integer(19, 1299)
    slots["amount"] = f"{amount}.9" if draws.chance(0.2) else str(amount)
    order_date = created - timedelta(days=draws.integer(1, 20))
    slots["order"] = f"DD{order_date:%Y%m%d}{draws.integer(0, 9999):04d}"
    # Shaped like a unified social credit code: "91", six region digits, then ten letters and digits.
    characters = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    slots["tax_id"] = (
        "91" + "".join(draws.pick("0123456789") for _ in range(6))
        + "MA" + "".join(draws.pick(characters) for _ in range(8))
    )
    return slots


def _format_count(count: int, language: str, draws: Draws) -> str:
    if language == "zh" and count in ZH_NUMERALS and draws.chance(0.4):
        return ZH_NUMERALS[count]
    return str(count)


def _join_zh(phrases: list[str], draws: Draws, final: bool) -> str:
    text = "，".join(phrases)
    if final and text[-1] not in "？！。~…":
        text += draws.weighted(("", "。", "！", "！！", "…", "~"), (0.35, 0.35, 0.15, 0.05, 0.05, 0.05))
    if draws.chance(0.08):
        text = text.replace("，", ",")  # half-width commas, common on phone keyboards
    return text


def _join_en(phrases: list[str], draws: Draws, final: bool) -> str:
    sentences = [phrase if phrase[-1] in ".?!" else phrase + "." for phrase in phrases]
    text = " ".join(sentences)
    if final and draws.chance(0.1):
        # Typed in a hurry: no capital letter and no final full stop.
        text = _lowercase_first_word(text).rstrip(".")
    return text


def _join_two_themes(first: str, second: str, language: str, draws: Draws) -> str:
    connector = draws.pick(CONNECTORS[language])
    if language == "zh":
        return first + draws.pick(("。", "，")) + connector + second
    return f"{first} {connector} {_lowercase_first_word(second)}"


def _lowercase_first_word(text: str) -> str:
    first_word = text.split(" ", 1)[0]
    # Keep "I", "I'm" and names such as "WeChat" or "SF" as written.
    if first_word.startswith("I") and (len(first_word) == 1 or first_word[1] == "'"):
        return text
    if any(character.isupper() for character in first_word[1:]):
        return text
    return text[:1].lower() + text[1:]
