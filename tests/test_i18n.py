import re
import string

import pytest

from painpoints.errors import InputDataError
from painpoints.i18n import UI_LANGUAGES, load_catalogue, normalise_language, set_language, tr


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_key_has_both_languages():
    for key, entry in load_catalogue().items():
        for language in UI_LANGUAGES:
            assert entry.get(language, "").strip(), f"{key} lacks {language}"


def test_placeholders_match_between_languages():
    for key, entry in load_catalogue().items():
        assert _placeholders(entry["en"]) == _placeholders(entry["zh"]), key


def test_chinese_entries_are_chinese():
    for key, entry in load_catalogue().items():
        assert re.search(r"[\u4e00-\u9fff]", entry["zh"]), f"{key}: zh text has no Chinese"


def test_error_message_follows_language():
    error = InputDataError("ingest.file_not_found", path="x.csv")
    assert error.message("en") == "File not found: x.csv. Check the path and try again."
    assert error.message("zh") == "找不到文件：x.csv。请检查路径后重试。"
    set_language("zh")
    assert "找不到文件" in error.message()


@pytest.mark.parametrize("code, expected", [("zh-CN", "zh"), ("zh_TW", "zh"), ("en-US", "en"), ("EN", "en")])
def test_normalise_language(code, expected):
    assert normalise_language(code) == expected


def test_normalise_language_rejects_other():
    with pytest.raises(ValueError, match="invalid interface language 'fr'"):
        normalise_language("fr")


def test_tr_unknown_key_raises():
    with pytest.raises(KeyError):
        tr("no.such.key")
