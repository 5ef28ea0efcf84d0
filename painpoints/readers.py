"""Read feedback exports into tables whose every cell is text.

CSV/TSV, XLSX, Parquet and JSON Lines are read without guessing types, so ids keep
their leading zeros and a number typed into a text cell stays the text it was.
Every reading problem becomes an :class:`~painpoints.errors.InputDataError` that
names the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import logging
import math
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException
from pyarrow import ArrowException

from painpoints.errors import InputDataError
from painpoints.settings import MAX_INPUT_MB, MAX_INPUT_ROWS

logger = logging.getLogger(__name__)

CSV_SUFFIXES: Final = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES: Final = (".xlsx", ".xlsm")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
JSONL_SUFFIXES: Final = (".jsonl", ".ndjson")
SUPPORTED_SUFFIXES: Final = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES

# Delimiters that Excel and helpdesk tools write: comma, semicolon (locales with a
# decimal comma), tab ("Unicode Text") and pipe.
DELIMITERS: Final = (",", ";", "\t", "|")
# Records parsed per candidate delimiter when choosing one.
_SNIFF_RECORDS: Final = 50
# Excel writes "sep=;" as the first line when asked to name the delimiter.
_SEP_LINE: Final = re.compile(r"\A\ufeff?sep=(.)\r?\n")
# Title rows above an Excel header are skipped; the header is searched for in this many rows.
_HEADER_SEARCH_ROWS: Final = 10


@dataclass(frozen=True)
class TableInfo:
    """Format, encoding and layout of a file that was read.

    Attributes
    ----------
    path, file_format : str
    encoding, delimiter, sheet : str or None
        Set for the formats that have them.
    rows : int
        Data rows read, header not counted.
    header_line : int
        1-based line (CSV) or sheet row (XLSX) of the last header row.
    extra_cells : tuple of (int, str)
        Data rows (1-based) of a CSV with more non-blank cells than the header, each
        with its extra cells joined by the delimiter. The frame keeps the first cells.
    repaired_quotes : tuple of int
        Data rows of a CSV whose quote opening a cell is never closed. The quote was
        read as a character, so the lines after it stay rows of their own.
    unclosed_quotes : tuple of (int, str)
        Data rows of a CSV into which such a quote drew the lines after it, where
        reading the quote as a character did not give rows as wide as the header;
        each with its lines as read (shortened).
    """

    path: str
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows: int = 0
    header_line: int = 1
    extra_cells: tuple[tuple[int, str], ...] = ()
    repaired_quotes: tuple[int, ...] = ()
    unclosed_quotes: tuple[tuple[int, str], ...] = ()


def decode_bytes(data: bytes, path: str) -> tuple[str, str]:
    """Decode a text file, returning ``(text, encoding)``.

    Order: a byte-order mark decides first (UTF-8, UTF-16 LE/BE). Then strict UTF-8 is
    tried, so a UTF-8 file is never misread, and then GB18030, a superset of GBK and
    GB2312. Text in which more than 1 % of the characters are NUL is taken for binary.

    Raises
    ------
    InputDataError
        When no encoding fits; the message names the file and suggests "CSV UTF-8".
    """
    boms = ((codecs.BOM_UTF8, "utf-8", "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"))
    for bom, codec, name in boms:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec, errors="strict")
            except UnicodeDecodeError as error:
                raise InputDataError("ingest.bad_encoding", path=path) from error
            return _reject_binary(text, path), name
    for name in ("utf-8", "gb18030"):
        try:
            return _reject_binary(data.decode(name, errors="strict"), path), name
        except UnicodeDecodeError:
            continue
    raise InputDataError("ingest.bad_encoding", path=path)


def _reject_binary(text: str, path: str) -> str:
    # A stray NUL in an export is removed by clean; many of them mean binary data or
    # UTF-16 without a byte-order mark.
    if text.count("\x00") > len(text) // 100:
        raise InputDataError("ingest.bad_encoding", path=path)
    return text


def cell_text(value: object) -> str:
    """Return a cell value as the text a spreadsheet shows: ``12345.0`` → ``"12345"``.

    Missing values become ``""``; dates without a time become ``YYYY-MM-DD``; nested
    JSON values become JSON text.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating, Decimal)):
        number = float(value)
        if math.isnan(number):
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        # 15 significant digits is what Excel displays, so 0.1+0.2 reads as 0.3.
        return format(number, ".15g")
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return json.dumps(items, ensure_ascii=False, default=str)
    return str(value)


def _unique_headers(headers: list[str]) -> list[str]:
    """Strip headers, name blank ones ``column_<n>`` and number repeats ``name.1``."""
    result: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers, start=1):
        name = str(header).replace("\ufeff", "").strip() or f"column_{index}"
        candidate, repeat = name, 0
        while candidate in seen:
            repeat += 1
            candidate = f"{name}.{repeat}"
        seen.add(candidate)
        result.append(candidate)
    return result


def _is_blank(record: list[str]) -> bool:
    return all(not cell.strip() for cell in record)


def _records_to_frame(records: list[list[str]], width: int) -> pd.DataFrame:
    while records and _is_blank(records[-1]):
        records.pop()
    padded = [record + [""] * (width - len(record)) for record in records]
    return pd.DataFrame(padded, columns=range(width), dtype=object)


def _choose_delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter that splits the first records into the most consistent widths."""
    sample = text[:200_000]
    best, best_score = ("\t" if suffix == ".tsv" else ","), (0.0, 1)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        widths: list[int] = []
        try:
            for record in reader:
                if record:
                    widths.append(len(record))
                if len(widths) >= _SNIFF_RECORDS:
                    break
        except csv.Error:
            pass  # the sample can end inside a quoted field; the records before it count
        if not widths or widths[0] < 2:
            continue
        consistency = sum(width == widths[0] for width in widths) / len(widths)
        score = (consistency, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


class _Lines:
    """The physical lines of a text, fed one at a time to a csv reader that can be sent back."""

    def __init__(self, text: str) -> None:
        # newline="" splits at \n, \r and \r\n and keeps the endings, as csv expects.
        self.lines = io.StringIO(text, newline="").readlines()
        self.position = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


def _breaks_quoting(span: list[str], delimiter: str) -> bool:
    """Return whether these lines break strict CSV quoting (a quote left open, text after a closing quote)."""
    try:
        for _ in csv.reader(span, delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return True
    return False


def _stray_quote_cells(record: list[str], span: list[str], width: int, delimiter: str) -> list[str] | None:
    """Return a record's first line read with its opening quote as a character, or ``None``.

    A quote that opens a cell and is never closed makes the csv module read the lines
    after it into that cell, up to the next quote anywhere in the file. The caller
    has found that the record's lines ``span`` break strict quoting. The record is
    taken for such a case on two conditions, with the quote read as a character. The
    first line gives at least ``width`` cells, and more when the text after the quote
    contains a delimiter. Each line between the first and the last gives exactly
    ``width``. The last line is left out because the quote that closed the cell there
    may be a stray one too, and the caller reads that line again.
    """
    opened = next((index for index, cell in enumerate(record) if "\n" in cell or "\r" in cell), None)
    if opened is None:
        if len(span) > 1 or not record:
            return None
        opened = len(record) - 1  # the file ends inside the quoted cell, on the same line
    rest_of_line = re.split(r"[\r\n]", record[opened], maxsplit=1)[0]
    if '"' in rest_of_line or not span[0].rstrip("\r\n").endswith('"' + rest_of_line):
        return None  # not an opening quote followed by that line's raw text
    cells = record[:opened] + ('"' + rest_of_line).split(delimiter)
    following = [row for row in csv.reader(span[1:-1], delimiter=delimiter) if row]
    if len(cells) < width or any(len(row) != width for row in following):
        return None
    return cells


def _shorten(value: str, limit: int = 300) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _read_csv(text: str, suffix: str) -> tuple[pd.DataFrame, str, int, tuple[tuple[int, str], ...],
                                               tuple[int, ...], tuple[tuple[int, str], ...]]:
    header_line = 1
    named = _SEP_LINE.match(text)
    if named:
        delimiter = named.group(1)
        text = text[named.end():]
        header_line = 2
    else:
        delimiter = _choose_delimiter(text, suffix)

    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    previous_limit = csv.field_size_limit()
    # The default limit of 131,072 characters per field rejects long pasted texts;
    # the file size limit already bounds a field.
    csv.field_size_limit(2**31 - 1)
    header: list[str] | None = None
    body: list[list[str]] = []
    repaired: list[int] = []
    unclosed: list[tuple[int, str]] = []
    try:
        while True:
            first = lines.position
            try:
                record = next(reader)
            except StopIteration:
                break
            if not record:
                continue
            if header is None:
                header = record
                continue
            # A quote left open swallows the following lines, or on the last line the line end.
            examine = lines.position - first > 1 or lines.position == len(lines.lines)
            span = lines.lines[first:lines.position] if examine else None
            if span and _breaks_quoting(span, delimiter):
                cells = _stray_quote_cells(record, span, len(header), delimiter)
                if cells is not None:
                    # Read on from the line after the quote; the reader is between records.
                    record, lines.position = cells, first + 1
                    repaired.append(len(body) + 1)
                elif any(line.count(delimiter) >= max(1, len(header) - 1) for line in span[1:]):
                    # Lines that look like rows of their own were read into one cell.
                    unclosed.append((len(body) + 1, _shorten("".join(span).rstrip("\r\n"))))
            body.append(record)
    finally:
        csv.field_size_limit(previous_limit)
    if header is None:
        return pd.DataFrame(), delimiter, header_line, (), (), ()

    width = len(header)
    extra: list[tuple[int, str]] = []
    for row_number, record in enumerate(body, start=1):
        if len(record) > width:
            overflow = record[width:]
            if not _is_blank(overflow):
                extra.append((row_number, delimiter.join(overflow)))
            del record[width:]

    frame = _records_to_frame(body, width)
    frame.columns = _unique_headers(header)
    return frame, delimiter, header_line, tuple(extra), tuple(repaired), tuple(unclosed)


def _read_excel(path: Path, sheet: str | int | None, shown: str) -> tuple[pd.DataFrame, str, int]:
    """Read one sheet with openpyxl, skipping title rows and filling merged header cells.

    A merged cell that reaches into the header (a title spanning columns, or a
    two-level header) gives its value to every header cell it covers, and the levels
    of a two-level header are joined with ``_`` (``反馈_内容``). Merged cells below the
    header are left as Excel stores them: the value in the first cell only.

    NOTE: the header is the first row with two or more filled cells, so a header row
    with a single filled cell is skipped like a title row.
    """
    from openpyxl import load_workbook

    # read_only mode does not expose merged cells, so the whole workbook is loaded.
    workbook = load_workbook(path, data_only=True)
    try:
        names = workbook.sheetnames
        if sheet is None:
            chosen = names[0]
        elif isinstance(sheet, int) or str(sheet).isdigit():
            index = int(sheet)
            if index >= len(names):
                raise InputDataError("ingest.sheet_not_found", path=shown, sheet=sheet, sheets=", ".join(names))
            chosen = names[index]
        elif sheet in names:
            chosen = sheet
        else:
            raise InputDataError("ingest.sheet_not_found", path=shown, sheet=sheet, sheets=", ".join(names))
        worksheet = workbook[chosen]
        rows = [[cell_text(value) for value in row] for row in worksheet.iter_rows(values_only=True)]
        merged = [(r.min_row, r.max_row, r.min_col, r.max_col) for r in worksheet.merged_cells.ranges]
    finally:
        workbook.close()
    if not rows:
        return pd.DataFrame(), chosen, 1
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]

    # The header is the first row with at least two filled cells; a merged title has one.
    needed = min(2, width)
    first = next((index for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS])
                  if sum(bool(cell.strip()) for cell in row) >= needed), 0)
    last = first
    for min_row, max_row, _, _ in merged:
        if min_row - 1 == first and max_row - 1 > last:
            last = max_row - 1
    header_rows = [list(row) for row in rows[first:last + 1]]
    for min_row, max_row, min_col, max_col in merged:
        top, left = min_row - 1, min_col - 1
        if max_row - 1 < first or top > last:
            continue
        value = rows[top][left]
        for row_index in range(max(top, first), min(max_row - 1, last) + 1):
            for column in range(left, min(max_col, width)):
                header_rows[row_index - first][column] = value
    headers = []
    for column in range(width):
        parts: list[str] = []
        for row in header_rows:
            part = row[column].strip()
            if part and part not in parts:
                parts.append(part)
        headers.append("_".join(parts))
    frame = _records_to_frame(rows[last + 1:], width)
    frame.columns = _unique_headers(headers)
    return frame, chosen, last + 1


def _read_jsonl(text: str, shown: str) -> pd.DataFrame:
    records: list[dict] = []
    # Only LF ends a record: str.splitlines would also split at U+0085 or U+2028 inside a value.
    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputDataError("ingest.bad_json_line", path=shown, line=line_number, detail=error.msg) from error
        if not isinstance(record, dict):
            raise InputDataError("ingest.bad_json_line", path=shown, line=line_number,
                                 detail=f"expected an object, got {type(record).__name__}")
        records.append(record)
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(map(str, record)))
    data = [[cell_text(record.get(column)) for column in columns] for record in records]
    frame = pd.DataFrame(data, columns=range(len(columns)), dtype=object)
    frame.columns = _unique_headers(list(columns))
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    text = pd.DataFrame({index: frame.iloc[:, index].map(cell_text) for index in range(frame.shape[1])},
                        index=range(len(frame)), dtype=object)
    text.columns = _unique_headers([str(column) for column in frame.columns])
    return text


def _unreadable(shown: str, error: BaseException) -> InputDataError:
    detail = (str(error).splitlines() or [type(error).__name__])[0][:300]
    return InputDataError("ingest.unreadable", path=shown, detail=detail)


def read_table(path: str | Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, TableInfo]:
    """Read a CSV/TSV, XLSX, Parquet or JSON Lines file with every cell as text.

    Parameters
    ----------
    path : str or Path
    sheet : str or int, optional
        Excel sheet name or 0-based index; the first sheet by default.

    Returns
    -------
    frame : pandas.DataFrame
        Object columns of ``str``, empty cells as ``""``, unique non-blank headers.
        A file without a data row gives a frame with no rows.
    info : TableInfo

    Raises
    ------
    InputDataError
        Missing file, unsupported format, a file over ``MAX_INPUT_MB`` or
        ``MAX_INPUT_ROWS``, undecodable bytes, an unknown sheet or an unreadable table.
    """
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise InputDataError("ingest.file_not_found", path=shown)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputDataError(
            "ingest.unsupported_format", path=shown, suffix=suffix or "?", supported=" ".join(SUPPORTED_SUFFIXES)
        )
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_INPUT_MB:
        raise InputDataError("ingest.file_too_large", path=shown, size=round(size_mb), limit=MAX_INPUT_MB)

    encoding = delimiter = sheet_name = None
    header_line, extra, repaired, unclosed = 1, (), (), ()
    try:
        if suffix in CSV_SUFFIXES:
            text, encoding = decode_bytes(path.read_bytes(), shown)
            frame, delimiter, header_line, extra, repaired, unclosed = _read_csv(text, suffix)
            file_format = "tsv" if delimiter == "\t" else "csv"
        elif suffix in EXCEL_SUFFIXES:
            frame, sheet_name, header_line = _read_excel(path, sheet, shown)
            file_format = "xlsx"
        elif suffix in PARQUET_SUFFIXES:
            frame = _read_parquet(path)
            file_format = "parquet"
        else:
            text, encoding = decode_bytes(path.read_bytes(), shown)
            frame = _read_jsonl(text, shown)
            file_format = "jsonl"
    except InputDataError:
        raise
    # What pandas, openpyxl and pyarrow raise for damaged or mislabelled files.
    except (ValueError, KeyError, OSError, IndexError, zipfile.BadZipFile, csv.Error,
            InvalidFileException, ArrowException) as error:
        raise _unreadable(shown, error) from error

    if len(frame) > MAX_INPUT_ROWS:
        raise InputDataError("ingest.too_many_rows", path=shown, rows=len(frame), limit=MAX_INPUT_ROWS)
    info = TableInfo(shown, file_format, encoding, delimiter, sheet_name, len(frame), header_line, extra,
                     repaired, unclosed)
    if repaired:
        logger.warning("%s: a quote opening a cell is never closed in rows %s; read it as a character",
                       shown, ", ".join(map(str, repaired)))
    logger.info("read %s: %d rows, %d columns (%s, %s)", shown, len(frame), frame.shape[1], file_format, encoding)
    return frame, info
