import codecs

import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.errors import InputDataError
from painpoints.ingest import (
    decode_bytes,
    detect_columns,
    load_customers,
    load_feedback,
    parse_outcome,
    read_table,
)
from painpoints.settings import AnalysisSettings, ColumnMapping

ROWS = [
    ("工单编号", "反馈内容", "是否流失", "客户ID"),
    ("T1", "快递太慢了😡", "是", "007"),
    ("T2", "退款没到账", "否", "008"),
    ("T3", "客服电话打不通", "否", "007"),
]


def _csv_text(rows=ROWS) -> str:
    return "\r\n".join(",".join(row) for row in rows) + "\r\n"


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("gb18030", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
     ("utf-16-be", codecs.BOM_UTF16_BE)],
)
def test_read_table_encodings_give_same_table(tmp_path, encoding, prefix):
    path = tmp_path / "export.csv"
    path.write_bytes(prefix + _csv_text().encode(encoding))
    frame, info = read_table(path)
    assert list(frame.columns) == ["工单编号", "反馈内容", "是否流失", "客户ID"]
    assert frame["反馈内容"].tolist() == ["快递太慢了😡", "退款没到账", "客服电话打不通"]
    assert frame["客户ID"].tolist() == ["007", "008", "007"]
    assert info.rows == 3


def test_gbk_without_bom_is_decoded(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(_csv_text([r for r in ROWS]).replace("😡", "").encode("gbk"))
    frame, info = read_table(path)
    assert info.encoding == "gb18030"
    assert frame.columns[0] == "工单编号"


def test_undecodable_file_names_file_and_fix(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe\xfa" * 3 + b"\x81\x20" * 10)
    with pytest.raises(InputDataError, match=r"bad\.csv.*CSV UTF-8"):
        decode_bytes(b"\x81\x20\xff" * 10, str(path))


def test_semicolon_and_tab_delimiters(tmp_path):
    for delimiter, suffix in ((";", ".csv"), ("\t", ".tsv")):
        path = tmp_path / f"export{suffix}"
        path.write_text("\n".join(delimiter.join(row) for row in ROWS), encoding="utf-8")
        frame, info = read_table(path)
        assert info.delimiter == delimiter
        assert frame.shape == (3, 4)


def test_quoted_line_breaks_keep_row_count(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes('id,text\r\n1,"a\rb"\r\n2,"c\nd"\r\n3,plain\r\n'.encode())
    frame, _ = read_table(path)
    assert len(frame) == 3
    assert frame.loc[1, "text"] == "c\nd"


def test_xlsx_numbers_read_as_text(tmp_path):
    path = tmp_path / "export.xlsx"
    pd.DataFrame({"客户ID": ["00042"], "反馈内容": [12345], "是否流失": ["是"]}).to_excel(path, index=False)
    frame, info = read_table(path)
    assert info.file_format == "xlsx"
    assert frame.loc[0, "反馈内容"] == "12345"
    assert frame.loc[0, "客户ID"] == "00042"


def test_missing_file_and_unsupported_suffix(tmp_path):
    with pytest.raises(InputDataError, match="File not found"):
        read_table(tmp_path / "nope.csv")
    odd = tmp_path / "export.docx"
    odd.write_text("x")
    with pytest.raises(InputDataError, match=r"\.docx are not supported"):
        read_table(odd)


def test_detect_columns_chinese_and_english_headers():
    chinese = pd.DataFrame(columns=["工单编号", "客户ID", "创建时间", "反馈内容", "是否流失", "月消费"])
    assert detect_columns(chinese, ColumnMapping(), "x") == ColumnMapping(
        text="反馈内容", ticket_id="工单编号", customer_id="客户ID", date="创建时间", outcome="是否流失", value="月消费")
    english = pd.DataFrame(columns=["customerID", "tenure", "MonthlyCharges", "Churn", "CustomerFeedback"])
    mapping = detect_columns(english, ColumnMapping(), "x")
    assert (mapping.text, mapping.customer_id, mapping.outcome, mapping.value) == (
        "CustomerFeedback", "customerID", "Churn", "MonthlyCharges")


def test_detect_columns_falls_back_to_longest_text():
    frame = pd.DataFrame({"a": ["1", "2"], "b": ["the parcel never arrived at all", "refund is late again"]})
    assert detect_columns(frame, ColumnMapping(), "x").text == "b"


def test_override_must_exist():
    frame = pd.DataFrame(columns=["review", "label"])
    with pytest.raises(InputDataError, match=r"Column 'comment' not found in x\. Columns in the file: review, label"):
        detect_columns(frame, ColumnMapping(text="comment"), "x")


def test_parse_outcome_spellings():
    values = pd.Series(["是", "否", "1", "0", "TRUE", "no", "Y", "已流失", "未流失", ""])
    parsed = parse_outcome(values, None, "x.csv", "churn")
    assert parsed.tolist()[:9] == [True, False, True, False, True, False, True, True, False]
    assert parsed.isna().tolist() == [False] * 9 + [True]


def test_parse_outcome_ambiguous_lists_values():
    with pytest.raises(InputDataError, match=r"Row 2, column 'label' of x\.csv holds 'maybe'.*--event-value"):
        parse_outcome(pd.Series(["yes", "maybe", "no"]), None, "x.csv", "label")


def test_parse_outcome_event_value():
    parsed = parse_outcome(pd.Series(["0", "1", "0", ""]), "0", "x.csv", "label")
    assert parsed.tolist()[:3] == [True, False, True]
    assert pd.isna(parsed.iloc[3])
    with pytest.raises(InputDataError, match="equals the event value 'churned'"):
        parse_outcome(pd.Series(["0", "1"]), "churned", "x.csv", "label")


def test_load_feedback_keeps_ids_and_maps(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    documents = feedback.documents
    assert documents[S.ROW_NUMBER].tolist() == [1, 2, 3]
    assert documents[S.CUSTOMER_ID].tolist() == ["007", "008", "007"]
    assert documents[S.TICKET_ID].tolist() == ["T1", "T2", "T3"]
    assert documents[S.CHURNED].tolist() == [True, False, False]
    assert feedback.has_customer_column


def test_load_feedback_without_customer_column(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("label,review\n1,好吃\n0,太慢了\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="no outcome column was found"):
        load_feedback(path, AnalysisSettings(event_value="0"))
    feedback = load_feedback(path, AnalysisSettings(event_value="0", columns=ColumnMapping(outcome="label")))
    assert not feedback.has_customer_column
    assert feedback.documents[S.CUSTOMER_ID].tolist() == ["row-1", "row-2"]
    assert feedback.documents[S.CHURNED].tolist() == [False, True]


def test_load_customers_joins_and_rejects_repeats(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("客户ID,是否流失,月消费,tenure\n007,是,¥1,299.5,3\n010,否,59,20\n", encoding="utf-8")
    path.write_text('客户ID,是否流失,月消费,tenure\n007,是,"¥1,299.5",3\n010,否,59,20\n', encoding="utf-8")
    customers, mapping, _ = load_customers(path, AnalysisSettings(), covariates=("tenure",))
    assert customers[S.CUSTOMER_ID].tolist() == ["007", "010"]
    assert customers[S.VALUE].tolist() == [1299.5, 59.0]
    assert customers["tenure"].tolist() == ["3", "20"]
    assert mapping.outcome == "是否流失"
    path.write_text("客户ID,是否流失\n007,是\n007,否\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"Customer id '007' appears twice.*row 2"):
        load_customers(path, AnalysisSettings())
