"""Outcome notes: catalogue keys in the source, run.json, and their display in the CLI and viewer."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from painpoints import cli, cli_summary
from painpoints.i18n import load_catalogue, set_language
from painpoints.outcomes import OutcomeMessage
from painpoints.outcomes._messages import KEY_PREFIX, stored_message_text
from painpoints.pipeline import run_analysis
from painpoints.report import write_outputs
from ui import _view

OUTCOMES_DIR = Path(__file__).resolve().parents[1] / "painpoints" / "outcomes"
FEEDBACK_POPULATION_EN = "population: customers with at least one non-rejected feedback row"
FEEDBACK_POPULATION_ZH = "总体：至少有一行未被剔除的反馈的客户"
# Runs saved before the notes had catalogue keys contain the English text only.
LEGACY_NOTE = FEEDBACK_POPULATION_EN


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _message_calls() -> list[tuple[str, str, set[str]]]:
    """Return (file, note name, keyword names) of every ``OutcomeMessage.of`` call in painpoints/outcomes."""
    calls = []
    for path in sorted(OUTCOMES_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "of"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "OutcomeMessage"
            ):
                assert isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}: name is not a literal"
                calls.append((path.name, node.args[0].value, {keyword.arg for keyword in node.keywords}))
    return calls


def _appended_strings() -> list[str]:
    """Return ``file:line`` of every ``messages.append`` whose argument is a string or f-string."""
    found = []
    for path in sorted(OUTCOMES_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "messages"
                and node.args
                and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))
            ):
                found.append(f"{path.name}:{node.lineno}")
    return found


# --- keys in the source ------------------------------------------------------------------


def test_every_used_note_key_in_catalogue():
    catalogue = load_catalogue()
    calls = _message_calls()
    assert len(calls) >= 30
    for file, name, _ in calls:
        assert KEY_PREFIX + name in catalogue, f"{file}: {KEY_PREFIX + name} missing from the catalogue"


def test_note_params_match_placeholders():
    catalogue = load_catalogue()
    for file, name, keywords in _message_calls():
        assert keywords == _placeholders(catalogue[KEY_PREFIX + name]["en"]), f"{file}: {name}"


def test_every_catalogue_note_is_used():
    used = {KEY_PREFIX + name for _, name, _ in _message_calls()}
    defined = {key for key in load_catalogue() if key.startswith(KEY_PREFIX)}
    assert defined == used


def test_no_plain_string_notes_left():
    assert _appended_strings() == []


# --- the message object -------------------------------------------------------------------


def test_message_text_in_both_languages():
    message = OutcomeMessage.of("trends_undated", count=5)
    assert message.key == "outcome_notes.trends_undated"
    assert message.text("en") == "trends: 5 rows without a date are left out"
    assert message.text("zh") == "趋势：5 行没有日期的反馈已被排除"
    assert str(message) == message.text("en")


def test_message_params_become_json_types():
    message = OutcomeMessage.of("no_baseline", topics=np.array([0, 3]).tolist())
    numpy_message = OutcomeMessage.of("zero_cell_corrected", topics=[np.int64(0), np.int64(-2)])
    error_message = OutcomeMessage.of("adjusted_singular_matrix", reason=np.linalg.LinAlgError("Singular matrix"))

    assert message.params == {"topics": [0, 3]}
    assert numpy_message.params == {"topics": [0, -2]}
    assert type(numpy_message.params["topics"][0]) is int
    assert error_message.params == {"reason": "Singular matrix"}
    assert numpy_message.text("en").startswith("topic(s) [0, -2]: a 2x2 cell is zero")


def test_message_round_trip_through_json():
    message = OutcomeMessage.of("covariate_conflict", column="plan", customers=3)
    stored = json.loads(json.dumps(message.to_dict(), ensure_ascii=False))

    assert stored == {
        "key": "outcome_notes.covariate_conflict",
        "params": {"column": "plan", "customers": 3},
        "en": "covariate 'plan' differs between the rows of 3 customers; "
              "the first non-missing value in input order is used",
        "zh": "协变量 “plan” 在 3 位客户的多行反馈中取值不一致，按输入顺序取第一个非缺失值",
    }
    assert OutcomeMessage.from_dict(stored) == message


def test_stored_text_follows_language():
    stored = OutcomeMessage.of("scores_missing", count=2).to_dict()
    assert stored_message_text(stored, "en") == "scores: 2 customers without a score are left out"
    assert stored_message_text(stored, "zh") == "评分：2 位没有评分的客户已被排除"


def test_stored_text_of_plain_string_unchanged():
    assert stored_message_text(LEGACY_NOTE, "zh") == LEGACY_NOTE


def test_stored_text_of_unknown_key_uses_stored_text():
    stored = {"key": "outcome_notes.renamed", "params": {}, "en": "old note", "zh": "旧说明"}
    assert stored_message_text(stored, "zh") == "旧说明"
    assert stored_message_text(stored, "en") == "old note"


# --- run.json ------------------------------------------------------------------------------


def test_run_json_stores_keyed_notes(themed_csv, settings, embedder, tmp_path):
    result = run_analysis(themed_csv, settings, embedder=embedder)
    stored = result.info["outcomes"]["messages"]

    assert [note["key"] for note in stored] == [message.key for message in result.analysis.messages]
    for note, message in zip(stored, result.analysis.messages):
        assert set(note) == {"key", "params", "en", "zh"}
        assert note["params"] == message.params
        assert note["en"] == message.text("en")
        assert note["zh"] == message.text("zh")
    assert stored[0]["en"] == FEEDBACK_POPULATION_EN
    assert stored[0]["zh"] == FEEDBACK_POPULATION_ZH

    written = write_outputs(result, tmp_path / "out")
    run_json = json.loads(written["run"].read_text(encoding="utf-8"))
    assert run_json["outcomes"]["messages"] == stored


# --- CLI -------------------------------------------------------------------------------------


def _printed_notes(notes: list, language: str, tmp_path: Path) -> list[str]:
    set_language(language)
    output = Console(record=True, width=300)
    cli_summary._print_outcome_notes(output, {"outcomes": {"messages": notes}}, tmp_path)
    return output.export_text().splitlines()


@pytest.mark.parametrize("language, expected", [
    ("en", "  · scores: 2 customers without a score are left out"),
    ("zh", "  · 评分：2 位没有评分的客户已被排除"),
])
def test_cli_notes_follow_language(language, expected, tmp_path):
    notes = [OutcomeMessage.of("scores_missing", count=2).to_dict()]
    assert _printed_notes(notes, language, tmp_path) == [expected]


def test_cli_notes_keep_brackets(tmp_path):
    notes = [OutcomeMessage.of("adjusted_separated_topics", topics=[5]).to_dict()]
    assert "perfect separation on topic(s) [5]" in _printed_notes(notes, "en", tmp_path)[0]


def test_cli_notes_truncated_after_limit(tmp_path):
    notes = [OutcomeMessage.of("survival_no_churn", topic=topic).to_dict() for topic in range(11)]
    lines = _printed_notes(notes, "zh", tmp_path)

    assert len(lines) == cli_summary.SUMMARY_NOTES + 1
    assert lines[0] == "  · 生存分析：没有客户流失，因此话题 0 的结果留空"
    assert lines[-1] == f"  …… 另有 3 条说明，见 {tmp_path / 'run.json'}"


def test_cli_notes_of_legacy_run(tmp_path):
    assert _printed_notes([LEGACY_NOTE], "zh", tmp_path) == [f"  · {LEGACY_NOTE}"]


def test_cli_summary_prints_notes_in_chinese(themed_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli.app, [
        "analyze", str(themed_csv), "--embedding", "hashing", "--min-topic-size", "5",
        "--out", str(tmp_path / "out"), "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "zh",
    ])
    assert result.exit_code == 0, result.output
    assert FEEDBACK_POPULATION_ZH in result.output
    assert FEEDBACK_POPULATION_EN not in result.output


# --- viewer helper ----------------------------------------------------------------------------


def test_view_notes_follow_language():
    info = {"outcomes": {"messages": [OutcomeMessage.of("population_feedback").to_dict()]}}
    assert _view.outcome_notes(info, "en") == [FEEDBACK_POPULATION_EN]
    assert _view.outcome_notes(info, "zh") == [FEEDBACK_POPULATION_ZH]


def test_view_notes_of_legacy_run():
    info = {"outcomes": {"messages": [LEGACY_NOTE, "unit: something older"]}}
    assert _view.outcome_notes(info, "zh") == [LEGACY_NOTE, "unit: something older"]


def test_view_notes_without_outcomes():
    assert _view.outcome_notes({"outcomes": None}, "en") == []
    assert _view.outcome_notes({}, "zh") == []
