"""The CLI's help and row summaries read as words in both languages."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from painpoints import cli
from painpoints.editing import MOVED_BY_USER
from painpoints.i18n import load_catalogue, reason_text, tr

# Every reason code the stages write into the documents' `reason` column.
REASON_CODES = ("extra_cells", "missing_customer_id", "unknown_outcome_value", "empty_text", "no_content_text",
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


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_reason_code_has_words(language):
    catalogue = load_catalogue()
    for code in REASON_CODES:
        assert f"reason.{code}" in catalogue, code
        assert reason_text(code, language) not in ("", code)
    assert "42" in reason_text("same_text_as_row_42", language)


def test_summary_prints_reasons_as_words(tmp_path):
    export = tmp_path / "feedback.csv"
    texts = [f"物流太慢了，第{number}次催快递还没到" for number in range(25)] + ["666", "好"]
    pd.DataFrame({"反馈内容": texts}).to_csv(export, index=False)
    result = CliRunner().invoke(cli.app, ["analyze", str(export), "--embedding", "hashing", "--out",
                                          str(tmp_path / "out"), "--lang-ui", "en"])
    assert result.exit_code == 0, result.output
    assert reason_text("no_content_text", "en") in result.output
    assert "no_content_text" not in result.output


@pytest.mark.parametrize("language", ["zh", "en"])
def test_rerun_names_reused_stages(tmp_path, language):
    export = tmp_path / "feedback.csv"
    texts = [f"物流太慢了，第{number}次催快递还没到" for number in range(25)]
    pd.DataFrame({"反馈内容": texts}).to_csv(export, index=False)
    command = ["analyze", str(export), "--embedding", "hashing", "--out", str(tmp_path / "out"), "--lang-ui", language]
    first = CliRunner().invoke(cli.app, command)
    second = CliRunner().invoke(cli.app, command)
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    notice = tr("cli.reused_results", language, stages=tr("cli.reused_sentiment_topics", language))
    flat = re.sub(r"\s+", "", second.output)
    assert re.sub(r"\s+", "", notice) in flat
    assert re.sub(r"\s+", "", tr("cli.reused_topics", language)) not in re.sub(r"\s+", "", first.output)
