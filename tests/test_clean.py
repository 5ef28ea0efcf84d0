import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.clean import (
    clean_documents,
    detect_language,
    has_content,
    is_valid_id_number,
    normalise_text,
    passes_luhn,
    redact_pii,
    skipped_rows,
    to_simplified,
)
from painpoints.errors import SettingsError

# A valid 身份证 number built for tests (check digit X) and a Luhn-valid test card.
VALID_ID = "11010519491231002X"
VALID_CARD = "4111 1111 1111 1111"


def test_normalise_html_width_and_spaces():
    assert normalise_text("<p>快递&nbsp;太慢</p>\u3000ＡＢＣ１２３\t\n好") == "快递 太慢 ABC123 好"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话13812345678", "电话<PHONE>"),
        ("call +86 138-1234-5678 now", "call <PHONE> now"),
        ("座机010-62345678", "座机<PHONE>"),
        ("mail li.lei@example.com", "mail <EMAIL>"),
        (f"身份证{VALID_ID}", "身份证<ID_NUMBER>"),
        (f"card {VALID_CARD}", "card <BANK_CARD>"),
        ("ip 10.0.0.12 blocked", "ip <IP> blocked"),
    ],
)
def test_redact_pii_types(text, expected):
    assert redact_pii(text) == expected


def test_redact_pii_keeps_numbers_failing_checksums():
    invalid_id = VALID_ID[:-1] + "1"
    assert not is_valid_id_number(invalid_id)
    assert redact_pii(f"单号{invalid_id}") == f"单号{invalid_id}"
    assert not passes_luhn("4111111111111112")
    assert redact_pii("订单 4111111111111112") == "订单 4111111111111112"
    assert redact_pii("订单号DD202503120042") == "订单号DD202503120042"


@pytest.mark.parametrize("text", ["", "👍", "。。。", "666", "好", "N/A", "ok", "无", "  ", "<PHONE>"])
def test_content_free_texts(text):
    assert not has_content(normalise_text(text))


@pytest.mark.parametrize("text", ["12345", "太慢", "bad", "好慢"])
def test_texts_with_content(text):
    assert has_content(text)


@pytest.mark.parametrize("text, language", [("快递太慢了", "zh"), ("app 闪退", "zh"), ("late parcel", "en"), ("👍", "other")])
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_clean_documents_statuses_and_duplicates():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3, 4, 5],
        "raw_text": ["快递太慢", "<br>&nbsp;", "快递太慢", "退款没到 13812345678", "快递太慢"],
    })
    cleaned = clean_documents(documents)
    assert cleaned[S.STATUS].tolist() == ["", "no_content", "duplicate", "", "duplicate"]
    assert cleaned[S.DUPLICATE_OF].tolist()[2] == 1
    assert cleaned[S.DUPLICATE_OF].tolist()[4] == 1
    assert cleaned[S.TEXT].tolist()[3] == "退款没到 <PHONE>"
    assert "raw_text" not in cleaned.columns
    assert len(cleaned) == len(documents)


def test_clean_documents_redaction_switch():
    documents = pd.DataFrame({S.ROW_NUMBER: [1], "raw_text": ["call 13812345678"]})
    assert clean_documents(documents, redact=False)[S.TEXT].iloc[0] == "call 13812345678"


def test_normalise_removes_invisible_and_control_characters():
    assert normalise_text("快递\u200b太慢\x07了\ufeff") == "快递太慢 了"
    assert normalise_text("退款\r\n\t没到账\u3000\u3000！") == "退款 没到账 !"


def test_to_simplified_converts_traditional():
    assert to_simplified("退款沒到賬，應用閃退") == "退款没到账，应用闪退"


def test_opencc_missing_is_a_settings_error(monkeypatch):
    import builtins

    import painpoints.clean as clean_module

    real_import = builtins.__import__

    def without_opencc(name, *args, **kwargs):
        if name == "opencc":
            raise ImportError("No module named 'opencc'")
        return real_import(name, *args, **kwargs)

    clean_module._t2s_converter.cache_clear()
    monkeypatch.setattr(builtins, "__import__", without_opencc)
    try:
        with pytest.raises(SettingsError, match="pip install opencc"):
            to_simplified("電話")
    finally:
        clean_module._t2s_converter.cache_clear()


def test_clean_keeps_rejected_rows_and_their_reason():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3],
        "raw_text": ["快递太慢", "快递太慢 13812345678", "快递太慢"],
        S.STATUS: ["rejected", "", ""],
        S.REASON: ["missing_customer_id", "", ""],
    })
    cleaned = clean_documents(documents)
    assert cleaned[S.STATUS].tolist() == ["rejected", "", ""]
    assert cleaned[S.REASON].tolist() == ["missing_customer_id", "", ""]
    assert cleaned[S.TEXT].tolist()[1] == "快递太慢 <PHONE>"
    assert pd.isna(cleaned[S.DUPLICATE_OF].iloc[2])


def test_skipped_rows_lists_rejected_and_no_content():
    documents = pd.DataFrame({
        S.ROW_NUMBER: [1, 2, 3, 4],
        "raw_text": ["快递太慢", "", "退款没到账", "👍"],
        S.STATUS: ["", "", "rejected", ""],
        S.REASON: ["", "", "unknown_outcome_value", ""],
    })
    cleaned = clean_documents(documents)
    rejections = pd.DataFrame({S.ROW_NUMBER: [3], "column": ["是否流失"], "value": ["问 13812345678"],
                               S.REASON: ["unknown_outcome_value"]})
    table = skipped_rows(cleaned, rejections, "反馈内容")
    assert list(table.columns) == list(S.SKIPPED_ROW_COLUMNS)
    assert table.to_dict("records") == [
        {S.ROW_NUMBER: 2, S.STATUS: "no_content", "column": "反馈内容", "value": "", S.REASON: "empty_text"},
        {S.ROW_NUMBER: 3, S.STATUS: "rejected", "column": "是否流失", "value": "问 <PHONE>",
         S.REASON: "unknown_outcome_value"},
        {S.ROW_NUMBER: 4, S.STATUS: "no_content", "column": "反馈内容", "value": "👍", S.REASON: "no_content_text"},
    ]
    empty = skipped_rows(cleaned.iloc[:1], rejections.iloc[:0], "反馈内容")
    assert list(empty.columns) == list(S.SKIPPED_ROW_COLUMNS)
    assert empty.empty


@pytest.mark.parametrize(
    "text, expected",
    [
        ("座机(021)68881234", "座机<PHONE>"),
        ("电话 0755-2345678 转 8", "电话 <PHONE> 转 8"),
        ("邮箱 Wang_Fang+cx@mail.example.cn", "邮箱 <EMAIL>"),
        ("卡号6222020200112233441", "卡号6222020200112233441"),
    ],
)
def test_redact_pii_more_formats(text, expected):
    assert redact_pii(text) == expected
