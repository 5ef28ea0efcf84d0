"""Message catalogue: every string a user reads, in Simplified Chinese and English.

The texts live in ``locales/catalogue.toml``; each key has an ``en`` and a ``zh``
entry with the same ``{placeholders}``. ``tests/test_i18n.py`` checks that no key
lacks a language.
"""

from __future__ import annotations

import locale
import os
import string
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal, get_args

from painpoints.schema import DUPLICATE_REASON, DUPLICATE_REASON_PREFIX

UiLanguage = Literal["en", "zh"]
UI_LANGUAGES: Final[tuple[str, ...]] = get_args(UiLanguage)
CATALOGUE_PATH: Final = Path(__file__).parent / "locales" / "catalogue.toml"

_current: list[str] = []


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, dict[str, str]]:
    """Return the catalogue flattened to ``{"section.key": {"en": ..., "zh": ...}}``."""
    with CATALOGUE_PATH.open("rb") as handle:
        nested = tomllib.load(handle)
    flat: dict[str, dict[str, str]] = {}

    def walk(prefix: str, node: dict) -> None:
        for name, child in node.items():
            key = f"{prefix}.{name}" if prefix else name
            if isinstance(child, dict) and not set(child) <= set(UI_LANGUAGES):
                walk(key, child)
            else:
                flat[key] = child

    walk("", nested)
    return flat


def detect_language() -> UiLanguage:
    """Pick the interface language from ``PAINPOINTS_LANG``, then the locale.

    Chinese locales (``zh_CN``, ``zh_TW``, ``zh``) give ``"zh"``; anything else ``"en"``.
    """
    for candidate in (
        os.environ.get("PAINPOINTS_LANG"),
        os.environ.get("LC_ALL"),
        os.environ.get("LC_MESSAGES"),
        os.environ.get("LANG"),
        locale.getlocale()[0],
    ):
        if candidate:
            return "zh" if candidate.lower().startswith("zh") else "en"
    return "en"


def set_language(language: str | None) -> UiLanguage:
    """Set the process-wide interface language; ``None`` detects it again."""
    chosen = normalise_language(language) if language else detect_language()
    _current[:] = [chosen]
    return chosen


def get_language() -> UiLanguage:
    """Return the interface language in use."""
    if not _current:
        set_language(None)
    return _current[0]  # type: ignore[return-value]


def normalise_language(language: str) -> UiLanguage:
    """Map ``zh-CN``, ``zh_CN``, ``zh``, ``en-US`` … to ``"zh"`` or ``"en"``.

    Raises
    ------
    ValueError
        If the language is neither Chinese nor English.
    """
    code = language.strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    raise ValueError(
        f"invalid interface language {language!r}: expected one of {', '.join(UI_LANGUAGES)}"
    )


def quote(value: object, language: str | None = None) -> str:
    """Quote ``value`` as ``{value!r}`` does in a catalogue text of ``language``.

    ``repr`` shows a value exactly, spaces and control characters included, between
    ASCII quotes, which read as stray marks in a Chinese sentence. In Chinese a string
    goes between “ ” instead, with the same escapes inside.
    """
    chosen = normalise_language(language) if language else get_language()
    if chosen == "zh" and isinstance(value, str):
        return f"“{repr(value)[1:-1]}”"
    return repr(value)


class _ChineseQuotes(string.Formatter):
    """Format a catalogue text as ``str.format`` does, but quote ``{name!r}`` strings as :func:`quote` does in Chinese."""

    def convert_field(self, value: object, conversion: str | None) -> object:
        if conversion == "r":
            return quote(value, "zh")
        return super().convert_field(value, conversion)


_CHINESE_QUOTES: Final = _ChineseQuotes()


def tr(key: str, language: str | None = None, **params: object) -> str:
    """Return the catalogue text for ``key`` in ``language``, formatted with ``params``.

    In Chinese, a ``{name!r}`` string is quoted with “ ” instead of ASCII quotes.

    Raises
    ------
    KeyError
        If the key is not in the catalogue (a programming error, not a user error).
    """
    entry = load_catalogue()[key]
    chosen = normalise_language(language) if language else get_language()
    if chosen == "zh":
        return _CHINESE_QUOTES.format(entry[chosen], **params)
    return entry[chosen].format(**params)


def reason_text(code: str, language: str | None = None) -> str:
    """Return the words for a documents ``reason`` code, or the code itself when it has none.

    >>> reason_text("same_text_as_row_12", "en")
    'has the same text as row 12'
    >>> reason_text("some_future_code", "en")
    'some_future_code'
    """
    row = code.removeprefix(DUPLICATE_REASON_PREFIX)
    if row != code and row.isdigit():
        return tr(f"reason.{DUPLICATE_REASON}", language, row=row)
    if f"reason.{code}" in load_catalogue():
        return tr(f"reason.{code}", language)
    return code
