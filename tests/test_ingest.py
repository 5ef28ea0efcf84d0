import codecs

import pandas as pd
import pytest

from painpoints import schema as S
from painpoints.columns import OTHER_OUTCOME_VALUES, outcome_value_counts
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
    with pytest.raises(InputDataError, match=r"Column 'label' of x\.csv .* in 1 of its 3 filled rows, "
                                             r"first in row 2: 'maybe'.*--event-value"):
        parse_outcome(pd.Series(["yes", "maybe", "no"]), None, "x.csv", "label")


def test_parse_outcome_ambiguous_counts_rows():
    values = pd.Series(["是", "可能", "", "否", "不确定", "可能"] * 500)
    with pytest.raises(InputDataError) as raised:
        parse_outcome(values, None, "x.csv", "是否流失")
    assert raised.value.message("en").startswith(
        "Column '是否流失' of x.csv holds a value that is not a known churn value in 1,500 of its 2,500 filled rows, "
        "first in row 2: '可能'")
    assert "有 1,500 行的取值不是可识别的流失标记，第一处在第 2 行：“可能”" in raised.value.message("zh")


def test_parse_outcome_event_value():
    parsed = parse_outcome(pd.Series(["0", "1", "0", ""]), "0", "x.csv", "label")
    assert parsed.tolist()[:3] == [True, False, True]
    assert pd.isna(parsed.iloc[3])
    with pytest.raises(InputDataError, match="equals the event value 'churned'"):
        parse_outcome(pd.Series(["0", "1"]), "churned", "x.csv", "label")


def test_outcome_value_counts_name_the_other_values():
    values = pd.Series(["是", "否", " 否", "暂停", "", "是 ", "否"])
    assert outcome_value_counts(values, None) is None
    assert outcome_value_counts(values, "是") == {"event_value": "是", "event_rows": 2, "other_rows": 4,
                                                  "other_values": {"否": 3, "暂停": 1}}
    many = pd.Series([f"v{index}" for index in range(30)] + ["x"])
    counts = outcome_value_counts(many, "x")
    assert counts["other_rows"] == 30
    assert len(counts["other_values"]) == OTHER_OUTCOME_VALUES


def test_event_value_counts_per_input_file(tmp_path):
    feedback = load_feedback(_write(tmp_path / "f.csv", "review,label\n好吃,0\n太慢了,1\n凉了,2\n"),
                             AnalysisSettings(event_value="1", columns=ColumnMapping(outcome="label")))
    assert feedback.outcome_values == {"event_value": "1", "event_rows": 1, "other_rows": 2,
                                       "other_values": {"0": 1, "2": 1}}
    _, _, _, counts = load_customers(_write(tmp_path / "c.csv", "客户ID,状态\n1,流失\n2,在网\n3,冻结\n4,在网\n"),
                                     AnalysisSettings(event_value="流失", columns=ColumnMapping(outcome="状态")))
    assert counts == {"event_value": "流失", "event_rows": 1, "other_rows": 3, "other_values": {"在网": 2, "冻结": 1}}


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


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
    customers, mapping, _, _ = load_customers(path, AnalysisSettings(), covariates=("tenure",))
    assert customers[S.CUSTOMER_ID].tolist() == ["007", "010"]
    assert customers[S.VALUE].tolist() == [1299.5, 59.0]
    assert customers["tenure"].tolist() == ["3", "20"]
    assert mapping.outcome == "是否流失"
    path.write_text("客户ID,是否流失\n007,是\n007,否\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"Customer id '007' appears twice.*row 2"):
        load_customers(path, AnalysisSettings())


def test_excel_unicode_text_is_utf16_tab_separated(tmp_path):
    path = tmp_path / "unicode.txt"
    body = "\r\n".join("\t".join(row) for row in ROWS) + "\r\n"
    path.write_bytes(codecs.BOM_UTF16_LE + body.encode("utf-16-le"))
    frame, info = read_table(path)
    assert (info.encoding, info.delimiter) == ("utf-16", "\t")
    assert frame["客户ID"].tolist() == ["007", "008", "007"]


def test_sep_line_names_the_delimiter(tmp_path):
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\n" + "\r\n".join(";".join(row) for row in ROWS), encoding="utf-8")
    frame, info = read_table(path)
    assert info.delimiter == ";"
    assert info.header_line == 2
    assert list(frame.columns) == list(ROWS[0])


def test_blank_and_repeated_headers_get_names(tmp_path):
    path = tmp_path / "headers.csv"
    path.write_text("反馈内容,,反馈内容\n快递慢,x,y\n", encoding="utf-8")
    frame, _ = read_table(path)
    assert list(frame.columns) == ["反馈内容", "column_2", "反馈内容.1"]


def test_short_rows_padded_and_trailing_blank_rows_dropped(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,text,churn\n1,快递慢\n2,,\n3,退款,否\n,,\n,,\n", encoding="utf-8")
    frame, info = read_table(path)
    assert frame.to_numpy().tolist() == [["1", "快递慢", ""], ["2", "", ""], ["3", "退款", "否"]]
    assert info.extra_cells == ()


def test_extra_cells_reject_the_row(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("工单编号,反馈内容,是否流失\nT1,快递慢,是\nT2,退款,没到账,否\nT3,闪退,否,,\n", encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    assert feedback.documents[S.STATUS].tolist() == ["", "rejected", ""]
    assert feedback.rejections.to_dict("records") == [
        {S.ROW_NUMBER: 2, "column": "", "value": "否", S.REASON: "extra_cells"}]


@pytest.mark.parametrize("name, body, texts", [
    # The quote runs to the end of the file.
    ("to_end", 'T1,"快递太慢,是\nT2,退款没到账,否\nT3,闪退,否\n', ['"快递太慢', "退款没到账", "闪退"]),
    # The quote ends at the next row's correctly quoted cell.
    ("to_next_quote", 'T1,"快递太慢,是\nT2,"退款, 没到账",否\nT3,闪退,否\n', ['"快递太慢', "退款, 没到账", "闪退"]),
    # CRLF line ends, and the quote in the middle of the file.
    ("crlf", 'T1,物流,否\r\nT2,"快递太慢,是\r\nT3,闪退,否\r\n', ["物流", '"快递太慢', "闪退"]),
])
def test_unclosed_quote_read_as_character(tmp_path, name, body, texts):
    path = tmp_path / f"{name}.csv"
    path.write_text("工单编号,反馈内容,是否流失\n" + body, encoding="utf-8")
    frame, info = read_table(path)
    assert frame["反馈内容"].tolist() == texts
    assert frame["工单编号"].tolist() == ["T1", "T2", "T3"]
    assert info.repaired_quotes == ((2,) if name == "crlf" else (1,))
    assert info.unclosed_quotes == ()


@pytest.mark.parametrize("end", ["\n", ""])
def test_unclosed_quote_on_the_last_line(tmp_path, end):
    path = tmp_path / "last_line.csv"
    path.write_text('id,text,churned\n1,fine,0\n2,"refund is slow,1' + end, encoding="utf-8")
    frame, info = read_table(path)
    assert frame.to_numpy().tolist() == [["1", "fine", "0"], ["2", '"refund is slow', "1"]]
    assert info.repaired_quotes == (2,)


def test_unclosed_quote_in_last_column(tmp_path):
    path = tmp_path / "last.csv"
    path.write_text('id,churned,text\n1,0,"the app crashes\n2,1,refund is slow\n3,0,fine\n', encoding="utf-8")
    frame, info = read_table(path)
    assert frame["text"].tolist() == ['"the app crashes', "refund is slow", "fine"]
    assert info.repaired_quotes == (1,)


def test_unclosed_quote_before_delimiter(tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text('工单编号,反馈内容,是否流失\nT1,"快递, 太慢,是\nT2,退款没到账,否\n', encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    assert feedback.info.repaired_quotes == (1,)
    assert feedback.documents[S.TICKET_ID].tolist() == ["T1", "T2"]
    assert feedback.documents[S.STATUS].tolist() == ["rejected", ""]
    assert feedback.rejections[S.REASON].tolist() == ["extra_cells"]


def test_quoted_line_breaks_with_delimiters(tmp_path):
    # Each inner line has as many cells as the header, but the quoting is correct.
    path = tmp_path / "two_columns.csv"
    path.write_text('id,text\n1,"first line\nsecond, line"\n2,"a\nb, c\nd, e"\n', encoding="utf-8")
    frame, info = read_table(path)
    assert frame["text"].tolist() == ["first line\nsecond, line", "a\nb, c\nd, e"]
    assert info.repaired_quotes == ()
    assert info.unclosed_quotes == ()


def test_unclosed_quote_unrepairable(tmp_path):
    # The row after the quote is shorter than the header, so reading the quote as a
    # character does not give rows of the header's width. The row is rejected, and its
    # value contains the lines read into its cell.
    path = tmp_path / "short.csv"
    path.write_text('工单编号,反馈内容,是否流失\nT1,"快递太慢,是\nT2,退款没到账\nT3,闪退,否\n', encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    assert len(feedback.documents) == 1
    assert feedback.info.unclosed_quotes == ((1, 'T1,"快递太慢,是\nT2,退款没到账\nT3,闪退,否'),)
    rejection = feedback.rejections.iloc[0]
    assert (rejection[S.ROW_NUMBER], rejection[S.REASON]) == (1, "unclosed_quote")
    assert "T3,闪退,否" in rejection["value"]


def test_unknown_outcome_rejects_row_when_rare(tmp_path):
    rows = [("工单编号", "反馈内容", "是否流失")] + [(f"T{i}", f"快递慢{i}", "是" if i % 2 else "否") for i in range(12)]
    rows[5] = ("T4", "退款没到账", "不确定")
    path = tmp_path / "typo.csv"
    path.write_text(_csv_text(rows), encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    documents = feedback.documents
    assert documents.loc[4, S.STATUS] == "rejected"
    assert documents.loc[4, S.REASON] == "unknown_outcome_value"
    assert pd.isna(documents.loc[4, S.CHURNED])
    assert feedback.rejections.iloc[0].tolist() == [5, "是否流失", "不确定", "unknown_outcome_value"]
    rows[2] = ("T1", "闪退", "也许")
    path.write_text(_csv_text(rows), encoding="utf-8")
    with pytest.raises(InputDataError, match=r"Column '是否流失' .* in 2 of its 12 filled rows, first in row 2: '也许'"):
        load_feedback(path, AnalysisSettings())


def test_blank_customer_id_rejects_row(tmp_path):
    path = tmp_path / "blank_customer.csv"
    path.write_text("客户ID,反馈内容\n007,快递慢\n,退款没到账\n", encoding="utf-8")
    feedback = load_feedback(path, AnalysisSettings())
    assert feedback.documents[S.STATUS].tolist() == ["", "rejected"]
    assert feedback.documents[S.REASON].tolist() == ["", "missing_customer_id"]
    assert feedback.rejections["column"].tolist() == ["客户ID"]


def _merged_header_workbook(path):
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    first.title = "说明"
    first.append(["这一页只有说明"])
    sheet = workbook.create_sheet("工单")
    sheet.append(["2025年第一季度工单导出"])
    sheet.merge_cells("A1:D1")
    sheet.append(["工单编号", "反馈", None, "是否流失"])
    sheet.append([None, "内容", "时间", None])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:C2")
    sheet.merge_cells("D2:D3")
    sheet.append(["T1", "快递太慢", "2025-01-02", "是"])
    sheet.append(["T2", 12345, "2025-01-03", 0])
    sheet.append(["T3", "退款没到账", "2025-01-04", 1.0])
    workbook.save(path)


def test_xlsx_title_row_and_merged_two_level_header(tmp_path):
    path = tmp_path / "merged.xlsx"
    _merged_header_workbook(path)
    frame, info = read_table(path, sheet="工单")
    assert list(frame.columns) == ["工单编号", "反馈_内容", "反馈_时间", "是否流失"]
    assert info.header_line == 3
    assert frame["反馈_内容"].tolist() == ["快递太慢", "12345", "退款没到账"]
    assert frame["是否流失"].tolist() == ["是", "0", "1"]
    mapping = detect_columns(frame, ColumnMapping(), "x")
    assert (mapping.text, mapping.ticket_id, mapping.date, mapping.outcome) == (
        "反馈_内容", "工单编号", "反馈_时间", "是否流失")
    assert read_table(path, sheet="1")[0].shape == (3, 4)
    assert read_table(path)[1].sheet == "说明"


def test_xlsx_unknown_sheet_lists_sheets(tmp_path):
    path = tmp_path / "merged.xlsx"
    _merged_header_workbook(path)
    with pytest.raises(InputDataError, match=r"Sheet 'Sheet9' not found.*说明, 工单"):
        read_table(path, sheet="Sheet9")
    with pytest.raises(InputDataError, match="Sheet 5 not found"):
        read_table(path, sheet=5)


def test_parquet_and_jsonl_cells_as_text(tmp_path):
    frame = pd.DataFrame({"客户ID": ["007", "010"], "反馈内容": ["快递慢", None], "评分": [3.0, 4.5],
                          "是否流失": [True, False]})
    parquet = tmp_path / "export.parquet"
    frame.to_parquet(parquet)
    read, _ = read_table(parquet)
    assert read.to_numpy().tolist() == [["007", "快递慢", "3", "TRUE"], ["010", "", "4.5", "FALSE"]]
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text('{"客户ID": "007", "反馈内容": "快递慢", "标签": ["物流"]}\n\n{"客户ID": "010", "评分": 4}\n',
                     encoding="utf-8")
    read, _ = read_table(jsonl)
    assert list(read.columns) == ["客户ID", "反馈内容", "标签", "评分"]
    assert read.to_numpy().tolist() == [["007", "快递慢", '["物流"]', ""], ["010", "", "", "4"]]


def test_jsonl_bad_line_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputDataError, match=r"Line 2 of .*bad\.jsonl is not a JSON object"):
        read_table(path)


def test_file_over_size_limit_is_rejected(tmp_path, monkeypatch):
    import painpoints.readers

    path = tmp_path / "big.csv"
    path.write_bytes(b"text\n" + b"x" * 2**20 * 2)
    monkeypatch.setattr(painpoints.readers, "MAX_INPUT_MB", 1)
    with pytest.raises(InputDataError, match=r"big\.csv is 2 MB, more than the limit of 1 MB"):
        read_table(path)


def test_binary_file_is_an_encoding_error(tmp_path):
    path = tmp_path / "renamed.csv"
    path.write_bytes(b"id,text\n1,\x00\x00abc\n")
    with pytest.raises(InputDataError, match="CSV UTF-8"):
        read_table(path)


def test_damaged_xlsx_is_unreadable(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputDataError, match=r"Cannot read the table in .*broken\.xlsx"):
        read_table(path)


def test_stray_nul_is_removed_by_clean(tmp_path):
    path = tmp_path / "nul.csv"
    other_rows = "".join(f"T{index},退款申请提交两周了还没有处理，客服也联系不上\n" for index in range(2, 6))
    path.write_bytes(f"工单编号,反馈内容\nT1,快递\x00太慢了\n{other_rows}".encode("utf-8"))
    feedback = load_feedback(path, AnalysisSettings())
    from painpoints.clean import clean_documents

    assert clean_documents(feedback.documents)[S.TEXT].tolist()[0] == "快递 太慢了"


def test_delimiter_found_when_sample_ends_in_quotes(tmp_path):
    path = tmp_path / "long.csv"
    long_text = "快递太慢;" * 30_000
    rows = ["id;text;churn", *(f'{index};"{long_text}";是' for index in range(3))]
    path.write_text("\n".join(rows), encoding="utf-8")
    frame, info = read_table(path)
    assert info.delimiter == ";"
    assert frame.shape == (3, 3)


def test_customers_file_skips_blank_ids(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("客户ID,是否流失\n007,是\n,否\n,是\n010,否\n", encoding="utf-8")
    customers, _, _, _ = load_customers(path, AnalysisSettings())
    assert customers[S.CUSTOMER_ID].tolist() == ["007", "010"]
    assert customers[S.CHURNED].tolist() == [True, False]


@pytest.mark.parametrize(
    "header, role",
    [("工单内容", "text"), ("问题内容", "text"), ("用户ID", "customer_id"), ("客户编码", "customer_id"),
     ("是否流失", "outcome"), ("流失", "outcome"), ("churned", "outcome"), ("日期", "date"),
     ("创建时间", "date"), ("Created At", "date")],
)
def test_header_spellings_map_to_roles(header, role):
    frame = pd.DataFrame(columns=[header] if role == "text" else [header, "反馈内容"])
    assert getattr(detect_columns(frame, ColumnMapping(), "x"), role) == header


def test_empty_file_without_header_says_so(tmp_path):
    path = _write(tmp_path / "empty.csv", "")
    with pytest.raises(InputDataError, match="is empty: it has neither a header nor data rows"):
        load_feedback(path, AnalysisSettings())
    header_only = _write(tmp_path / "header.csv", "反馈内容,是否流失\n")
    with pytest.raises(InputDataError, match="contains no data rows"):
        load_feedback(header_only, AnalysisSettings())
