"""Ingest stage: read a feedback export, map its columns and parse the outcome.

Every value is read as text first, so ids keep their leading zeros and nothing is
guessed before the column roles are known.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from painpoints import schema as S
from painpoints.errors import InputDataError
from painpoints.settings import MAX_INPUT_ROWS, AnalysisSettings, ColumnMapping

logger = logging.getLogger(__name__)

CSV_SUFFIXES: Final = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES: Final = (".xlsx", ".xlsm")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
JSONL_SUFFIXES: Final = (".jsonl", ".ndjson")
SUPPORTED_SUFFIXES: Final = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES

# Normalised header spellings (lower case, no spaces, underscores, dashes or brackets)
# seen in Chinese and English helpdesk, survey and CRM exports.
HEADER_CANDIDATES: Final[dict[str, tuple[str, ...]]] = {
    "text": (
        "反馈内容", "反馈", "评论", "评论内容", "评价", "评价内容", "工单内容", "内容", "留言",
        "意见", "问题描述", "描述", "文本", "用户反馈", "客户反馈", "投诉内容", "备注",
        "text", "comment", "comments", "feedback", "customerfeedback", "review", "reviewtext",
        "content", "message", "body", "description", "verbatim", "response", "answer",
    ),
    "ticket_id": (
        "工单编号", "工单号", "工单id", "编号", "序号", "评论id", "反馈id", "问卷编号",
        "ticketid", "ticket", "ticketnumber", "id", "responseid", "reviewid", "caseid",
    ),
    "customer_id": (
        "客户id", "客户编号", "客户号", "用户id", "用户编号", "会员id", "会员编号", "账号",
        "customerid", "customer", "clientid", "userid", "accountid", "memberid",
    ),
    "date": (
        "日期", "创建时间", "提交时间", "反馈时间", "评论时间", "时间", "创建日期",
        "date", "createdat", "created", "createddate", "timestamp", "submittedat", "time",
    ),
    "outcome": (
        "是否流失", "流失", "流失标记", "已流失", "churn", "churned", "ischurned", "churnflag",
        "attrition", "exited",
    ),
    "value": (
        "月消费", "月收入", "月费", "月均消费", "客户价值", "生命周期价值", "arpu", "clv", "ltv",
        "monthlyrevenue", "monthlycharges", "revenue", "value", "customervalue", "mrr",
    ),
}

EVENT_SPELLINGS: Final = frozenset(
    {"是", "1", "1.0", "true", "yes", "y", "t", "已流失", "流失", "churned", "churn", "lost", "left"}
)
NON_EVENT_SPELLINGS: Final = frozenset(
    {"否", "0", "0.0", "false", "no", "n", "f", "未流失", "留存", "retained", "active", "stayed", "kept"}
)


@dataclass(frozen=True)
class TableInfo:
    """How a file was read."""

    path: str
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows: int = 0


@dataclass(frozen=True)
class Feedback:
    """A feedback export after ingest.

    Attributes
    ----------
    documents : pandas.DataFrame
        One row per input row with ``row_number``, ``ticket_id``, ``customer_id``,
        ``raw_text``, ``date``, ``churned`` (nullable boolean) and ``value`` (float),
        plus the covariate columns requested, in input order.
    mapping : ColumnMapping
        The input column used for each role after auto-detection.
    info : TableInfo
    has_customer_column : bool
        False when each row stands for its own customer.
    """

    documents: pd.DataFrame
    mapping: ColumnMapping
    info: TableInfo
    has_customer_column: bool


def normalise_header(header: str) -> str:
    """Return ``header`` lower-cased without spaces, ``_``, ``-``, ``.`` or brackets."""
    return re.sub(r"[\s_\-.()（）\[\]【】:：/]+", "", str(header)).lower()


def decode_bytes(data: bytes, path: str) -> tuple[str, str]:
    """Decode a text file, returning ``(text, encoding)``.

    Order: a byte-order mark decides first (UTF-8, UTF-16 LE/BE); then strict UTF-8,
    so a UTF-8 file is never misread; then GB18030, a superset of GBK and GB2312.

    Raises
    ------
    InputDataError
        When no encoding fits; the message names the file and suggests "CSV UTF-8".
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(name), "utf-16"
            except UnicodeDecodeError as error:
                raise InputDataError("ingest.bad_encoding", path=path) from error
    for name in ("utf-8", "gb18030"):
        try:
            return data.decode(name, errors="strict"), name
        except UnicodeDecodeError:
            continue
    raise InputDataError("ingest.bad_encoding", path=path)


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        counts = {sep: first_line.count(sep) for sep in (",", "\t", ";", "|")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_table(path: str | Path, sheet: str | None = None) -> tuple[pd.DataFrame, TableInfo]:
    """Read a CSV/TSV, XLSX, Parquet or JSON Lines file with every cell as text.

    Parameters
    ----------
    path : str or Path
    sheet : str, optional
        Excel sheet name or 0-based index; the first sheet by default.

    Returns
    -------
    frame : pandas.DataFrame
        Object columns, empty cells as ``""``, headers stripped of spaces.
    info : TableInfo

    Raises
    ------
    InputDataError
        Missing file, unsupported format, undecodable bytes or an unreadable table.
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

    encoding = delimiter = sheet_name = None
    try:
        if suffix in CSV_SUFFIXES:
            text, encoding = decode_bytes(path.read_bytes(), shown)
            delimiter = _sniff_delimiter(text, suffix)
            frame = pd.read_csv(
                io.StringIO(text, newline=""),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=False,
            )
            file_format = "tsv" if delimiter == "\t" else "csv"
        elif suffix in EXCEL_SUFFIXES:
            chosen = sheet if sheet is not None else 0
            if isinstance(chosen, str) and chosen.isdigit():
                chosen = int(chosen)
            frame = pd.read_excel(path, sheet_name=chosen, dtype=str, keep_default_na=False, na_filter=False)
            sheet_name = str(chosen)
            file_format = "xlsx"
        elif suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path).astype("string").fillna("").astype(object)
            file_format = "parquet"
        else:
            frame = pd.read_json(path, lines=True, dtype=False).astype("string").fillna("").astype(object)
            file_format = "jsonl"
    except InputDataError:
        raise
    except (ValueError, KeyError, OSError, pd.errors.ParserError) as error:
        raise InputDataError("ingest.unreadable", path=shown, detail=str(error).splitlines()[0][:300]) from error

    frame.columns = [str(column).strip().lstrip("\ufeff") for column in frame.columns]
    if len(frame) > MAX_INPUT_ROWS:
        raise InputDataError("ingest.too_many_rows", path=shown, rows=len(frame), limit=MAX_INPUT_ROWS)
    frame = frame.fillna("").astype(str)
    info = TableInfo(shown, file_format, encoding, delimiter, sheet_name, len(frame))
    logger.info("read %s: %d rows, %d columns (%s, %s)", shown, len(frame), frame.shape[1], file_format, encoding)
    return frame, info


def _find_column(frame: pd.DataFrame, role: str, taken: set[str]) -> str | None:
    by_normal = {normalise_header(column): column for column in frame.columns if column not in taken}
    for candidate in HEADER_CANDIDATES[role]:
        if candidate in by_normal:
            return by_normal[candidate]
    return None


def _longest_text_column(frame: pd.DataFrame, taken: set[str]) -> str | None:
    """Return the column whose non-numeric cells are longest on average (the likely text)."""
    best, best_length = None, 0.0
    for column in frame.columns:
        if column in taken:
            continue
        values = frame[column].astype(str)
        values = values[(values != "") & pd.to_numeric(values, errors="coerce").isna()]
        if values.empty:
            continue
        mean_length = values.str.len().mean()
        if mean_length > best_length:
            best, best_length = column, mean_length
    return best if best_length >= 4 else None


def detect_columns(frame: pd.DataFrame, overrides: ColumnMapping, path: str) -> ColumnMapping:
    """Resolve each role to a column: the user's choice first, then known headers.

    The text column falls back to the column with the longest non-numeric cells.

    Raises
    ------
    InputDataError
        When a named column is not in the file, or no text column can be found.
    """
    resolved: dict[str, str | None] = {}
    for role in ("text", "ticket_id", "customer_id", "date", "outcome", "value"):
        chosen = getattr(overrides, role)
        if chosen is not None and chosen not in frame.columns:
            raise InputDataError(
                "ingest.column_not_found",
                path=path,
                column=chosen,
                columns=", ".join(map(str, frame.columns)),
            )
        resolved[role] = chosen
    taken = {column for column in resolved.values() if column}
    for role in resolved:
        if resolved[role] is None:
            found = _find_column(frame, role, taken)
            resolved[role] = found
            if found:
                taken.add(found)
    if resolved["text"] is None:
        resolved["text"] = _longest_text_column(frame, taken)
    if resolved["text"] is None:
        raise InputDataError("ingest.no_text_column", path=path, columns=", ".join(map(str, frame.columns)))
    return ColumnMapping(**resolved)


def parse_outcome(values: pd.Series, event_value: str | None, path: str, column: str) -> pd.Series:
    """Turn an outcome column into a nullable boolean (True = the event, e.g. churned).

    Without ``event_value`` the usual spellings are recognised (是/否, 1/0, true/false,
    yes/no, Y/N, 已流失/未流失, churned/retained). With it, cells equal to
    ``event_value`` are events and every other non-blank cell is not. Blank cells are
    unknown (``<NA>``).

    Raises
    ------
    InputDataError
        When a cell is neither spelling; the message lists the values found and the
        first row holding an unknown one.
    """
    cleaned = values.astype(str).str.strip()
    blank = cleaned.eq("")
    if event_value is not None:
        wanted = str(event_value).strip()
        result = cleaned.eq(wanted) | cleaned.str.lower().eq(wanted.lower())
        if not result[~blank].any():
            raise InputDataError(
                "ingest.event_value_absent",
                path=path,
                column=column,
                value=wanted,
                found=", ".join(sorted(cleaned[~blank].unique())[:20]),
            )
        return result.astype("boolean").mask(blank)
    lowered = cleaned.str.lower()
    events = lowered.isin(EVENT_SPELLINGS)
    non_events = lowered.isin(NON_EVENT_SPELLINGS)
    unknown = ~(events | non_events | blank)
    if unknown.any():
        first = int(unknown.to_numpy().nonzero()[0][0])
        raise InputDataError(
            "ingest.ambiguous_outcome",
            path=path,
            column=column,
            row=first + 1,
            value=cleaned.iloc[first],
            found=", ".join(sorted(cleaned[~blank].unique())[:20]),
        )
    return events.astype("boolean").mask(blank)


def parse_number(values: pd.Series) -> pd.Series:
    """Parse money-like text (``¥1,299.00``, ``29.9元``) to float; others become NaN."""
    stripped = values.astype(str).str.replace(r"[¥￥$€£,\s元]", "", regex=True)
    return pd.to_numeric(stripped, errors="coerce").astype(float)


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates in the common export spellings; unparsable cells become NaT."""
    cleaned = values.astype(str).str.strip().str.replace(r"[年月]", "-", regex=True).str.replace("日", "", regex=False)
    return pd.to_datetime(cleaned, errors="coerce", format="mixed")


def load_feedback(path: str | Path, settings: AnalysisSettings, covariates: tuple[str, ...] = ()) -> Feedback:
    """Read and map a feedback export.

    Parameters
    ----------
    path : str or Path
    settings : AnalysisSettings
        Column overrides, sheet and event value.
    covariates : tuple of str
        Columns to carry through for adjusted models when they are in this file.

    Returns
    -------
    Feedback
        See :class:`Feedback` for the columns of ``documents``.

    Raises
    ------
    InputDataError
    """
    frame, info = read_table(path, settings.sheet)
    if frame.empty:
        raise InputDataError("ingest.empty_file", path=info.path)
    mapping = detect_columns(frame, settings.columns, info.path)

    documents = pd.DataFrame({S.ROW_NUMBER: range(1, len(frame) + 1)})
    documents["raw_text"] = frame[mapping.text].astype(str).to_numpy()
    if mapping.ticket_id:
        ticket = frame[mapping.ticket_id].astype(str).str.strip()
        documents[S.TICKET_ID] = ticket.where(ticket != "", documents[S.ROW_NUMBER].astype(str)).to_numpy()
    else:
        documents[S.TICKET_ID] = documents[S.ROW_NUMBER].astype(str)
    has_customer_column = mapping.customer_id is not None
    if has_customer_column:
        customer = frame[mapping.customer_id].astype(str).str.strip()
        fallback = "row-" + documents[S.ROW_NUMBER].astype(str)
        documents[S.CUSTOMER_ID] = customer.where(customer != "", fallback).to_numpy()
    else:
        documents[S.CUSTOMER_ID] = ("row-" + documents[S.ROW_NUMBER].astype(str)).to_numpy()
    documents[S.DATE] = parse_dates(frame[mapping.date]).to_numpy() if mapping.date else pd.NaT
    if mapping.outcome:
        documents[S.CHURNED] = parse_outcome(frame[mapping.outcome], settings.event_value, info.path, mapping.outcome).to_numpy()
    elif settings.event_value is not None:
        raise InputDataError("ingest.no_outcome_column", path=info.path, value=settings.event_value,
                             columns=", ".join(map(str, frame.columns)))
    else:
        documents[S.CHURNED] = pd.array([pd.NA] * len(frame), dtype="boolean")
    documents[S.VALUE] = parse_number(frame[mapping.value]).to_numpy() if mapping.value else float("nan")
    for covariate in covariates:
        if covariate in frame.columns:
            documents[covariate] = frame[covariate].to_numpy()
    logger.info("mapped columns of %s: %s", info.path, mapping)
    return Feedback(documents, mapping, info, has_customer_column)


def load_customers(
    path: str | Path,
    settings: AnalysisSettings,
    covariates: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, ColumnMapping, TableInfo]:
    """Read a customers file: one row per customer with the outcome, value and covariates.

    Returns
    -------
    customers : pandas.DataFrame
        ``customer_id`` (str), ``churned`` (nullable boolean), ``value`` (float) and the
        covariate columns found in the file.
    mapping : ColumnMapping
    info : TableInfo

    Raises
    ------
    InputDataError
        When the file has no customer id column or repeats a customer id.
    """
    frame, info = read_table(path, None)
    # The feedback file's column flags apply here too when the customers file has that column.
    resolved: dict[str, str | None] = {}
    taken: set[str] = set()
    for role in ("customer_id", "outcome", "value"):
        named = getattr(settings.columns, role)
        column = named if named in frame.columns else _find_column(frame, role, taken)
        resolved[role] = column
        if column:
            taken.add(column)
    if resolved["customer_id"] is None:
        raise InputDataError("ingest.no_customer_column", path=info.path, columns=", ".join(frame.columns))
    customers = pd.DataFrame({S.CUSTOMER_ID: frame[resolved["customer_id"]].astype(str).str.strip()})
    repeated = customers[S.CUSTOMER_ID].duplicated()
    if repeated.any():
        first = int(repeated.to_numpy().nonzero()[0][0])
        raise InputDataError(
            "ingest.duplicate_customer", path=info.path, row=first + 1, column=resolved["customer_id"],
            value=customers[S.CUSTOMER_ID].iloc[first],
        )
    if resolved["outcome"]:
        customers[S.CHURNED] = parse_outcome(frame[resolved["outcome"]], settings.event_value, info.path,
                                             resolved["outcome"]).to_numpy()
    else:
        customers[S.CHURNED] = pd.array([pd.NA] * len(frame), dtype="boolean")
    customers[S.VALUE] = parse_number(frame[resolved["value"]]).to_numpy() if resolved["value"] else float("nan")
    for covariate in covariates:
        if covariate in frame.columns:
            customers[covariate] = frame[covariate].to_numpy()
    mapping = ColumnMapping(customer_id=resolved["customer_id"], outcome=resolved["outcome"], value=resolved["value"])
    return customers, mapping, info
