import pandas as pd
import pytest
from openpyxl import load_workbook

from painpoints.report import neutralise_formula, write_csv, write_xlsx

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1 bad", "-1 体验很差", "@SUM(A1)", "\tx", "\rx", "＝1+1", "＋1", "－1", "＠x"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_formula_prefixes_apostrophe(text):
    assert neutralise_formula(text) == "'" + text


def test_csv_keeps_numbers_numeric(tmp_path):
    frame = pd.DataFrame({"text": DANGEROUS, "score": [-3, 0, 2, 1, 1, 1, 1, 1, 1, 1],
                          "rate": [0.25] * 10})
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    back = pd.read_csv(path)
    assert back["score"].tolist()[:3] == [-3, 0, 2]
    assert back["rate"].dtype == float
    assert back["text"].tolist() == ["'" + text for text in DANGEROUS]


def test_xlsx_stores_text_not_formulas(tmp_path):
    frame = pd.DataFrame({"text": DANGEROUS, "score": list(range(-3, 7))})
    path = tmp_path / "out.xlsx"
    write_xlsx({"documents": frame}, path)
    sheet = load_workbook(path)["documents"]
    cells = [sheet.cell(row=index + 2, column=1) for index in range(len(DANGEROUS))]
    assert [cell.data_type for cell in cells] == ["s"] * len(DANGEROUS)
    # XML turns a bare CR into LF; the text still starts with it and is not a formula.
    assert [cell.value for cell in cells] == [text.replace("\r", "\n") for text in DANGEROUS]
    assert sheet.cell(row=2, column=2).value == -3
    assert sheet.cell(row=2, column=2).data_type == "n"


def test_xlsx_drops_control_characters(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx({"documents": pd.DataFrame({"text": ["早上9点订的\x08,下午1点才到"]})}, path)
    assert load_workbook(path)["documents"].cell(row=2, column=1).value == "早上9点订的,下午1点才到"


def test_xlsx_continues_a_long_table_on_more_sheets(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from painpoints import report

    monkeypatch.setattr(report, "EXCEL_MAX_ROWS", 4)  # a header and three rows per sheet
    frame = pd.DataFrame({"row_number": range(1, 8), "text": [f"第{number}条" for number in range(1, 8)]})
    path = tmp_path / "long.xlsx"
    write_xlsx({"documents": frame, "topics": frame.head(0)}, path)
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["documents", "documents (2)", "documents (3)", "topics"]
    rows = [list(sheet.values) for sheet in workbook.worksheets]
    assert [len(sheet) for sheet in rows] == [4, 4, 2, 1]
    assert all(sheet[0] == ("row_number", "text") for sheet in rows)
    assert [row[0] for sheet in rows[:3] for row in sheet[1:]] == list(range(1, 8))
    workbook.close()
