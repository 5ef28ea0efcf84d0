"""Property-based tests: arbitrary bytes, encodings and cells through ingest and clean.

The only exception allowed is the documented ``InputDataError``, and after clean every
row has exactly one status, so the counts add up to the rows read.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painpoints import schema as S
from painpoints.clean import clean_documents, has_content, normalise_text, redact_pii
from painpoints.errors import InputDataError
from painpoints.ingest import load_feedback
from painpoints.readers import read_table
from painpoints.settings import AnalysisSettings

PROPERTY_SETTINGS = settings(database=None, deadline=None, max_examples=100,
                             suppress_health_check=[HealthCheck.too_slow])
HEADER = ["工单编号", "客户ID", "反馈内容", "是否流失"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]

# Cells mix Chinese, Latin, digits, emoji, quotes, delimiters, line breaks and
# control characters; NUL is left out because a file containing it is binary.
cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("快递退款闪退客服好无是否流失的了繁體電話ABCxyz0123456789 ,;|\t\r\n\"'=+-@<>&\u3000👍😡。！")),
        st.characters(min_codepoint=1, max_codepoint=0x2FFFF, blacklist_categories=("Cs",)),
    ),
    max_size=30,
)
rows_strategy = st.lists(st.lists(cell_text, min_size=4, max_size=4), min_size=0, max_size=12)


def _counts_add_up(path: Path) -> None:
    """Load and clean ``path``; any failure must be an InputDataError."""
    try:
        feedback = load_feedback(path, AnalysisSettings())
    except InputDataError:
        return
    cleaned = clean_documents(feedback.documents)
    statuses = cleaned[S.STATUS]
    assert set(statuses) <= set(S.STATUSES) | {""}
    assert statuses.value_counts().sum() == len(cleaned) == feedback.info.rows
    assert cleaned[S.ROW_NUMBER].tolist() == list(range(1, len(cleaned) + 1))
    assert (cleaned.loc[statuses.isin(["rejected", "no_content", "duplicate"]), S.REASON] != "").all()


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".xlsx", ".parquet", ".jsonl"]))
def test_random_bytes_raise_only_input_errors(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        path.write_bytes(data)
        try:
            read_table(path)
        except InputDataError:
            return
        _counts_add_up(path)


@PROPERTY_SETTINGS
@given(rows=rows_strategy, encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_written_cells_read_back_unchanged(rows, encoding, delimiter):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    text = buffer.getvalue()
    if encoding == "gbk":
        try:
            data = text.encode("gbk")
        except UnicodeEncodeError:
            data = codecs.BOM_UTF8 + text.encode("utf-8")
    else:
        data = text.encode(encoding)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        frame, info = read_table(path)
        expected = [list(row) for row in rows]
        while expected and all(not cell.strip() for cell in expected[-1]):
            expected.pop()
        assert list(frame.columns) == HEADER
        assert info.delimiter == delimiter
        assert frame.to_numpy().tolist() == expected
        _counts_add_up(path)


# Cells without quotes, delimiters or line breaks, so a quote added to one is the
# only quoting in the file.
plain_cell = st.text(alphabet=st.sampled_from(list("快递退款闪退客服好是否ABCxyz0123 .!。")), max_size=12)


@PROPERTY_SETTINGS
@given(rows=st.lists(st.lists(plain_cell, min_size=4, max_size=4), min_size=1, max_size=12), data=st.data(),
       line_end=st.sampled_from(["\n", "\r\n"]))
def test_unclosed_quote_keeps_every_row(rows, data, line_end):
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    column = data.draw(st.integers(0, 3), label="column")
    lines = [",".join(cells) for cells in [HEADER, *rows]]
    cells = list(rows[row])
    cells[column] = '"' + cells[column]
    lines[row + 1] = ",".join(cells)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text(line_end.join(lines) + line_end, encoding="utf-8")
        frame, info = read_table(path)
        expected = [list(cells) for cells in rows]
        expected[row][column] = '"' + expected[row][column]
        while expected and all(not cell.strip() for cell in expected[-1]):
            expected.pop()
        assert frame.to_numpy().tolist() == expected
        assert info.repaired_quotes == (row + 1,)
        _counts_add_up(path)


@PROPERTY_SETTINGS
@given(rows=rows_strategy, suffix=st.sampled_from([".xlsx", ".parquet", ".jsonl"]))
def test_other_formats_read_back_cells(rows, suffix):
    # XML 1.0, which XLSX is made of, cannot hold most control characters.
    if suffix == ".xlsx":
        rows = [["".join(char for char in cell if char in "\t\n" or ord(char) >= 32) for cell in row]
                for row in rows]
    frame = pd.DataFrame(rows, columns=HEADER, dtype=object)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        if suffix == ".xlsx":
            frame.to_excel(path, index=False)
        elif suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True, force_ascii=False)
        read, _ = read_table(path)
        if suffix != ".xlsx":
            assert read.to_numpy().tolist() == [list(row) for row in rows]
        assert len(read) <= len(rows)
        _counts_add_up(path)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=200))
def test_clean_functions_never_fail(text):
    normalised = normalise_text(text)
    assert normalised == normalised.strip()
    assert "  " not in normalised
    redacted = redact_pii(normalised)
    assert isinstance(has_content(redacted), bool)


@PROPERTY_SETTINGS
@given(texts=st.lists(st.one_of(cell_text, st.sampled_from(["好", "666", "N/A", "👍", "", "快递太慢"])), max_size=20),
       outcomes=st.lists(st.sampled_from(["是", "否", "", "maybe"]), min_size=20, max_size=20))
def test_clean_statuses_add_up(texts, outcomes):
    documents = pd.DataFrame({S.ROW_NUMBER: range(1, len(texts) + 1), "raw_text": texts})
    documents[S.STATUS] = ["rejected" if outcome == "maybe" else "" for outcome in outcomes[:len(texts)]]
    documents[S.REASON] = ["unknown_outcome_value" if status else "" for status in documents[S.STATUS]]
    cleaned = clean_documents(documents)
    assert len(cleaned) == len(texts)
    assert cleaned[S.STATUS].value_counts().sum() == len(texts)
    assert (cleaned[S.STATUS] == "rejected").sum() == (documents[S.STATUS] == "rejected").sum()
    kept = cleaned[cleaned[S.STATUS] == ""]
    assert kept[S.TEXT].is_unique
