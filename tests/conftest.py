"""Shared fixtures: small hand-written feedback files and a fast deterministic embedder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from painpoints.embed import HashingEmbedder
from painpoints.i18n import set_language
from painpoints.settings import AnalysisSettings

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

# Four complaint themes written the way customers write them, ten rows each.
THEMES_ZH = {
    "courier": [
        "快递三天了还没到，物流一直不更新", "物流太慢了，快递一周还没送到", "快递员不送货上门，物流信息不更新",
        "快递一直显示运输中，物流太慢", "等了五天快递还没到，物流真慢", "物流停在中转站不动了，快递太慢",
        "快递延误好几天，物流客服也不管", "物流信息三天没更新，快递到底在哪", "快递太慢了，物流配送延误",
        "物流慢得离谱，快递十天才到",
    ],
    "refund": [
        "退款申请十天了还没到账", "退款一直在审核，钱没退回来", "申请退款被驳回，退款流程太慢",
        "退货寄回去了退款还没到账", "退款说三个工作日到账，现在还没退款", "退款迟迟不到账，钱什么时候退",
        "退款进度一直不动，申请退款没人处理", "退款被拒绝了，理由莫名其妙，要求退款",
        "退款到账太慢，退款申请两周了", "商家同意退款但钱没到账，退款太慢",
    ],
    "crash": [
        "打开应用就闪退，根本用不了", "更新后一打开就闪退", "应用闪退，登录页面就崩溃",
        "手机上打开就闪退，重装也闪退", "一点开就闪退，应用崩溃", "闪退太严重了，打开三次闪退三次",
        "新版本闪退，应用打不开", "应用总是闪退，体验很差", "启动就闪退，卸载重装还是闪退",
        "闪退问题一直没修复，应用崩溃",
    ],
    "hotline": [
        "客服电话一直打不通", "热线电话打了十次都没人接，客服太差", "客服电话占线，人工客服打不通",
        "打客服热线一直排队，电话没人接", "客服电话根本打不进去", "人工客服电话永远占线",
        "客服热线打不通，电话转人工也没人", "客服电话一直忙音，投诉都没法投诉", "打了一下午客服电话都没打通",
        "客服电话没人接听，热线形同虚设",
    ],
}
CHURN_BY_THEME = {"courier": 0.7, "refund": 0.6, "crash": 0.2, "hotline": 0.3}


def outcome_note(messages, name: str):
    """Return the one message with key ``outcome_notes.<name>`` among outcome ``messages``."""
    key = f"outcome_notes.{name}"
    found = [message for message in messages if message.key == key]
    assert len(found) == 1, f"expected one {key}, got keys {[message.key for message in messages]}"
    return found[0]


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Keep the default run store and embedding cache of every test under tmp_path."""
    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path / "painpoints-home"))


@pytest.fixture(autouse=True)
def _english_messages():
    """Tests read messages in English unless they switch on purpose."""
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def themed_frame() -> pd.DataFrame:
    """40 Chinese tickets in four themes; churn decided by theme and row position."""
    rows = []
    number = 0
    for theme, texts in THEMES_ZH.items():
        for index, text in enumerate(texts):
            number += 1
            churned = index < round(CHURN_BY_THEME[theme] * len(texts))
            rows.append({"工单编号": f"T{number:04d}", "客户ID": f"C{number:05d}", "反馈内容": text,
                         "是否流失": "是" if churned else "否", "theme": theme})
    return pd.DataFrame(rows)


@pytest.fixture
def themed_csv(tmp_path: Path, themed_frame: pd.DataFrame) -> Path:
    path = tmp_path / "tickets.csv"
    themed_frame.drop(columns="theme").to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> AnalysisSettings:
    return AnalysisSettings(embedding="hashing", cache_dir=tmp_path / "cache", min_topic_size=5)


def require_shared(name: str) -> Path:
    """Return a shared dataset path, or skip when the shared folder is absent (a user's clone)."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared datasets exist only in the development checkout")
    return path
