"""Column roles of a feedback export: find them from the headers and parse their values.

Headers are matched after :func:`normalise_header`, so ``客户 ID``, ``customer_id`` and
``Customer-ID`` are one spelling. Values arrive as text (see :mod:`painpoints.readers`).
"""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

from painpoints.errors import InputDataError
from painpoints.settings import ColumnMapping

# Normalised header spellings (lower case, no spaces, underscores, dashes or brackets)
# seen in Chinese and English helpdesk, survey and CRM exports.
HEADER_CANDIDATES: Final[dict[str, tuple[str, ...]]] = {
    "text": (
        "反馈内容", "反馈", "评论", "评论内容", "评价", "评价内容", "工单内容", "内容", "留言",
        "意见", "问题描述", "描述", "文本", "用户反馈", "客户反馈", "投诉内容", "备注",
        "问题内容", "咨询内容", "反馈描述", "评价详情", "客户留言", "用户留言", "回访内容",
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
        "客户编码", "用户账号", "customerno", "customernumber", "accountnumber",
    ),
    "date": (
        "日期", "创建时间", "提交时间", "反馈时间", "评论时间", "时间", "创建日期",
        "date", "createdat", "created", "createddate", "timestamp", "submittedat", "time",
        "反馈日期", "提交日期", "评论日期", "createtime", "createdtime", "datetime",
    ),
    "outcome": (
        "是否流失", "流失", "流失标记", "已流失", "churn", "churned", "ischurned", "churnflag",
        "attrition", "exited", "是否已流失", "流失状态", "是否退订", "churnstatus", "churnlabel",
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
# Unknown outcome spellings up to this share of the filled cells are typos: those rows
# are rejected and the rest analysed. More than that means the column needs --event-value.
MAX_UNKNOWN_OUTCOME_SHARE: Final = 0.10


def normalise_header(header: str) -> str:
    """Return ``header`` lower-cased without spaces, ``_``, ``-``, ``.`` or brackets."""
    return re.sub(r"[\s_\-.()（）\[\]【】:：/]+", "", str(header)).lower()


def find_column(frame: pd.DataFrame, role: str, taken: set[str]) -> str | None:
    """Return the first column outside ``taken`` whose header is a known spelling of ``role``."""
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
            found = find_column(frame, role, taken)
            resolved[role] = found
            if found:
                taken.add(found)
    if resolved["text"] is None:
        resolved["text"] = _longest_text_column(frame, taken)
    if resolved["text"] is None:
        raise InputDataError("ingest.no_text_column", path=path, columns=", ".join(map(str, frame.columns)))
    return ColumnMapping(**resolved)


def unknown_outcomes(values: pd.Series, event_value: str | None) -> pd.Series:
    """Return True for the non-blank cells that are no known outcome spelling.

    With ``event_value`` every non-blank cell is known (equal to it or not).
    """
    cleaned = values.astype(str).str.strip()
    if event_value is not None:
        return pd.Series(False, index=values.index)
    lowered = cleaned.str.lower()
    return ~(lowered.isin(EVENT_SPELLINGS) | lowered.isin(NON_EVENT_SPELLINGS) | cleaned.eq(""))


# Other outcome values named per run in run.json and the summary; the rest are counted.
OTHER_OUTCOME_VALUES: Final = 10


def _is_event_value(cleaned: pd.Series, event_value: str) -> pd.Series:
    """Return True for the stripped cells equal to ``event_value``, ignoring case."""
    expected = str(event_value).strip()
    return cleaned.eq(expected) | cleaned.str.lower().eq(expected.lower())


def outcome_value_counts(values: pd.Series, event_value: str | None) -> dict | None:
    """Count what an outcome column holds when ``event_value`` decides the event.

    Returns None without ``event_value``. Otherwise ``{"event_value", "event_rows",
    "other_rows", "other_values"}``, where ``other_values`` maps the most frequent
    other cells (at most ``OTHER_OUTCOME_VALUES``) to their row counts; blank cells
    count in neither. Every other value counts as no event, so a misspelled
    ``--event-value`` variant shows here.
    """
    if event_value is None:
        return None
    cleaned = values.astype(str).str.strip()
    filled = cleaned[cleaned.ne("")]
    event = _is_event_value(filled, event_value)
    others = filled[~event].value_counts()
    return {"event_value": str(event_value).strip(), "event_rows": int(event.sum()), "other_rows": int((~event).sum()),
            "other_values": {str(value): int(count) for value, count in others.head(OTHER_OUTCOME_VALUES).items()}}


def parse_outcome(
    values: pd.Series, event_value: str | None, path: str, column: str, max_unknown_share: float = 0.0
) -> pd.Series:
    """Turn an outcome column into a nullable boolean (True = the event, e.g. churned).

    Without ``event_value`` the usual spellings are recognised (是/否, 1/0, true/false,
    yes/no, Y/N, 已流失/未流失, churned/retained). With it, cells equal to
    ``event_value`` are events and every other non-blank cell is not. Blank cells are
    unknown (``<NA>``), and so are unknown spellings while they are at most
    ``max_unknown_share`` of the non-blank cells.

    Raises
    ------
    InputDataError
        When more cells than ``max_unknown_share`` allows are neither spelling; the
        message counts those rows and names the values found and the first row
        holding an unknown one.
        When no cell equals ``event_value``.
    """
    cleaned = values.astype(str).str.strip()
    blank = cleaned.eq("")
    if event_value is not None:
        wanted = str(event_value).strip()
        result = _is_event_value(cleaned, wanted)
        if not result[~blank].any():
            raise InputDataError(
                "ingest.event_value_absent",
                path=path,
                column=column,
                value=wanted,
                found=", ".join(sorted(cleaned[~blank].unique())[:20]),
            )
        return result.astype("boolean").mask(blank)
    events = cleaned.str.lower().isin(EVENT_SPELLINGS)
    unknown = unknown_outcomes(values, None)
    if unknown.sum() > max_unknown_share * (~blank).sum():
        first = int(unknown.to_numpy().nonzero()[0][0])
        raise InputDataError(
            "ingest.ambiguous_outcome",
            path=path,
            column=column,
            row=first + 1,
            value=cleaned.iloc[first],
            count=int(unknown.sum()),
            filled=int((~blank).sum()),
            found=", ".join(sorted(cleaned[~blank].unique())[:20]),
        )
    return events.astype("boolean").mask(blank | unknown)


def parse_number(values: pd.Series) -> pd.Series:
    """Parse money-like text (``¥1,299.00``, ``29.9元``) to float; others become NaN."""
    stripped = values.astype(str).str.replace(r"[¥￥$€£,\s元]", "", regex=True)
    return pd.to_numeric(stripped, errors="coerce").astype(float)


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates in the common export spellings; unparsable cells become NaT."""
    cleaned = values.astype(str).str.strip().str.replace(r"[年月]", "-", regex=True).str.replace("日", "", regex=False)
    return pd.to_datetime(cleaned, errors="coerce", format="mixed")
