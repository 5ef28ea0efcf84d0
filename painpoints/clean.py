"""Clean stage: normalise text, redact personal data, find content-free rows and duplicates.

Reasons given here (``reason`` column): ``empty_text`` and ``no_content_text`` for
``no_content`` rows, ``same_text_as_row`` for ``duplicate`` rows (the pipeline appends
the row number). Rows already ``rejected`` by ingest keep their status and reason.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import unicodedata
from functools import lru_cache
from typing import Final

import pandas as pd

from painpoints import schema as S
from painpoints.errors import SettingsError

logger = logging.getLogger(__name__)

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_SPACE = re.compile(r"\s+")
# Zero-width characters and the byte-order mark are invisible, yet they make two equal
# texts differ. Control characters other than white space are left over from exports.
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]", re.UNICODE)

# Cells that carry no opinion. Compared after normalisation and lower-casing.
FILLER_TEXTS: Final = frozenset(
    {
        "好", "好的", "好好", "无", "没有", "暂无", "无意见", "没意见", "没有意见", "同上", "略", "嗯", "哦",
        "6", "66", "666", "6666", "1", "11", "111", "ok", "okay", "k", "n/a", "na", "none", "nil", "null",
        "nothing", "no comment", "no comments", "-", "test", "测试", "nan",
    }
)

PLACEHOLDERS: Final = ("<EMAIL>", "<ID_NUMBER>", "<BANK_CARD>", "<PHONE>", "<IP>")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_IP = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])")
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[ \-]?)?[2-9]\d{6,7}(?!\d)")
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def is_valid_id_number(candidate: str) -> bool:
    """Check the ISO 7064 MOD 11-2 check digit of an 18-character 身份证 number."""
    total = sum(int(digit) * weight for digit, weight in zip(candidate[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def passes_luhn(digits: str) -> bool:
    """Return True when ``digits`` passes the Luhn check used by bank card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def redact_pii(text: str) -> str:
    """Replace e-mail addresses, 身份证 numbers, bank cards, phone numbers and IPs.

    Placeholders are ``<EMAIL>``, ``<ID_NUMBER>``, ``<BANK_CARD>``, ``<PHONE>`` and
    ``<IP>``. Identity and card numbers are replaced only when their check digit is
    valid, so order numbers of the same length stay.

    >>> redact_pii("电话13812345678，邮箱 li@example.com")
    '电话<PHONE>，邮箱 <EMAIL>'
    """
    text = _EMAIL.sub("<EMAIL>", text)
    text = _IP.sub("<IP>", text)
    text = _ID_NUMBER.sub(lambda m: "<ID_NUMBER>" if is_valid_id_number(m.group()) else m.group(), text)

    def card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "<BANK_CARD>" if 13 <= len(digits) <= 19 and passes_luhn(digits) else match.group()

    # Mobile numbers go before cards: "+86 138-1234-5678" is 13 digits and can pass Luhn.
    text = _MOBILE.sub("<PHONE>", text)
    text = _CARD.sub(card, text)
    text = _LANDLINE.sub(lambda m: "<PHONE>" if len(re.sub(r"\D", "", m.group())) >= 10 else m.group(), text)
    return text


def normalise_text(text: str) -> str:
    """Strip HTML, decode entities, apply Unicode NFKC and collapse all white space.

    NFKC turns full-width letters, digits and punctuation into their half-width
    forms and U+3000 into a plain space.
    """
    text = html.unescape(_TAG.sub(" ", text))
    text = html.unescape(text)  # double-escaped exports ("&amp;nbsp;")
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _t2s_converter():
    try:
        import opencc
    except ImportError as error:
        raise SettingsError("clean.opencc_missing") from error
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified ones with OpenCC's ``t2s`` table.

    >>> to_simplified("客服電話打不通")
    '客服电话打不通'
    """
    return _t2s_converter().convert(text)


def detect_language(text: str) -> str:
    """Return ``"zh"`` when at least a fifth of the letters are Chinese, ``"en"`` for Latin text."""
    chinese = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if chinese and chinese >= 0.2 * (chinese + latin_words):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return "other"


def has_content(text: str) -> bool:
    """Return False for blank, emoji- or punctuation-only and filler texts (好, 666, N/A)."""
    without_placeholders = text
    for placeholder in PLACEHOLDERS:
        without_placeholders = without_placeholders.replace(placeholder, " ")
    stripped = without_placeholders.strip()
    if not _LETTER_OR_DIGIT.search(stripped):
        return False
    folded = re.sub(r"[\s.!?。！？~～,，]+$", "", stripped.lower())
    return folded not in FILLER_TEXTS


def text_hash(text: str) -> str:
    """Return a stable hash of a cleaned text (SHA-1, hex), used for caching and ordering."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def clean_documents(documents: pd.DataFrame, redact: bool = True, simplify: bool = False) -> pd.DataFrame:
    """Clean the ingested rows and give each a first status.

    Parameters
    ----------
    documents : pandas.DataFrame
        Output of ingest with a ``raw_text`` column, and optionally ``status`` and
        ``reason`` columns in which ingest marked ``rejected`` rows.
    redact : bool
        Replace personal data with placeholders before any later stage reads the text.
    simplify : bool
        Convert traditional Chinese characters to simplified ones (OpenCC ``t2s``).

    Returns
    -------
    pandas.DataFrame
        ``documents`` without ``raw_text`` and with ``text`` (cleaned, also for rejected
        rows), ``language``, ``text_hash``, ``status`` (``rejected``, ``no_content``,
        ``duplicate`` or empty when the row goes on to topic modelling), ``reason``
        and ``duplicate_of`` (row number of the first row with the same text, else <NA>).

    Raises
    ------
    SettingsError
        When ``simplify`` is set and the ``opencc`` package is not installed.
    """
    cleaned = documents.copy()
    texts = cleaned.pop("raw_text").astype(str).map(normalise_text)
    if simplify:
        texts = texts.map(to_simplified)
    if redact:
        texts = texts.map(redact_pii)
    cleaned[S.TEXT] = texts
    cleaned[S.LANGUAGE] = texts.map(detect_language)
    cleaned[S.TEXT_HASH] = texts.map(text_hash)
    if S.STATUS not in cleaned.columns:
        cleaned[S.STATUS] = ""
    if S.REASON not in cleaned.columns:
        cleaned[S.REASON] = ""
    open_rows = cleaned[S.STATUS].eq("")
    empty = open_rows & ~texts.map(has_content)
    cleaned.loc[empty, S.STATUS] = "no_content"
    cleaned.loc[empty & texts.eq(""), S.REASON] = "empty_text"
    cleaned.loc[empty & texts.ne(""), S.REASON] = "no_content_text"
    content = open_rows & ~empty

    duplicates = mark_repeated_texts(cleaned, content)
    logger.info(
        "cleaned %d rows: %d rejected by ingest, %d without content, %d duplicates of an earlier row",
        len(cleaned), int((~open_rows).sum()), int(empty.sum()), duplicates,
    )
    return cleaned


def skipped_rows(cleaned: pd.DataFrame, rejections: pd.DataFrame, text_column: str, redact: bool = True) -> pd.DataFrame:
    """List the rows that were not used for topics and why, one line per problem.

    Parameters
    ----------
    cleaned : pandas.DataFrame
        Output of :func:`clean_documents`.
    rejections : pandas.DataFrame
        ``row_number``, ``column``, ``value``, ``reason`` lines of ingest's rejected rows.
    text_column : str
        Input column of the text, named on the ``no_content`` lines.
    redact : bool
        Redact personal data in the rejected cell values as in the texts.

    Returns
    -------
    pandas.DataFrame
        ``schema.SKIPPED_ROW_COLUMNS`` (row_number, status, column, value, reason),
        sorted by row. ``value`` is the cleaned text of a ``no_content`` row and the
        cell as read (redacted) of a ``rejected`` one.
    """
    values = rejections["value"].astype(str)
    rejected = pd.DataFrame({
        S.ROW_NUMBER: rejections[S.ROW_NUMBER].astype("int64").to_numpy(),
        S.STATUS: "rejected",
        "column": rejections["column"].astype(str).to_numpy(),
        "value": (values.map(redact_pii) if redact else values).to_numpy(),
        S.REASON: rejections[S.REASON].astype(str).to_numpy(),
    })
    empty = cleaned[cleaned[S.STATUS] == "no_content"]
    no_content = pd.DataFrame({
        S.ROW_NUMBER: empty[S.ROW_NUMBER].astype("int64").to_numpy(),
        S.STATUS: "no_content",
        "column": text_column,
        "value": empty[S.TEXT].astype(str).to_numpy(),
        S.REASON: empty[S.REASON].astype(str).to_numpy(),
    })
    frames = [frame for frame in (rejected, no_content) if len(frame)]
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype="int64" if column == S.ROW_NUMBER else object)
                             for column in S.SKIPPED_ROW_COLUMNS})
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(S.ROW_NUMBER, kind="stable").reset_index(drop=True)[list(S.SKIPPED_ROW_COLUMNS)]


def mark_repeated_texts(cleaned: pd.DataFrame, content: pd.Series) -> int:
    """Mark repeated texts among the ``content`` rows of ``cleaned`` in place and return their count.

    The row with the lowest row number keeps its text. Every later row with the same
    text hash becomes ``duplicate`` and points to it in ``duplicate_of``.
    """
    first_rows = cleaned.loc[content].groupby(S.TEXT_HASH, sort=False)[S.ROW_NUMBER].transform("min")
    cleaned[S.DUPLICATE_OF] = pd.array([pd.NA] * len(cleaned), dtype="Int64")
    repeated = first_rows[first_rows != cleaned.loc[content, S.ROW_NUMBER]]
    cleaned.loc[repeated.index, S.DUPLICATE_OF] = repeated.astype("int64")
    cleaned.loc[repeated.index, S.STATUS] = "duplicate"
    cleaned.loc[repeated.index, S.REASON] = S.DUPLICATE_REASON
    return len(repeated)
