"""Ctrl+C ends a run with exit code 130 and leaves the store and --out as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from painpoints import cli
from painpoints.i18n import tr
from painpoints.store import list_runs, load_run

from .conftest import THEMES_ZH

# Seconds to wait for the subprocess to reach the topics stage, and then to exit.
STAGE_TIMEOUT = 240
EXIT_TIMEOUT = 60


def _first_run(tmp_path: Path, themed_csv: Path, store: Path) -> pd.DataFrame:
    """Analyse the small themed file into ``store`` and return its stored documents."""
    result = CliRunner().invoke(cli.app, ["analyze", str(themed_csv), "--embedding", "hashing", "--min-topic-size",
                                          "5", "--out", str(tmp_path / "first"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return load_run(store).documents


def _large_export(path: Path, copies: int) -> Path:
    """Write ``copies`` variants of every themed text, made distinct by an order number."""
    texts = [f"{text}，订单号{copy:05d}" for copy in range(copies) for texts in THEMES_ZH.values() for text in texts]
    pd.DataFrame({"反馈内容": texts}).to_csv(path, index=False)
    return path


def _assert_store_unchanged(store: Path, first_documents: pd.DataFrame) -> None:
    runs = list_runs(store)
    assert len(runs) == 1
    stored = load_run(store, runs["run_id"].iloc[0]).documents
    pd.testing.assert_frame_equal(stored, first_documents)


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir())
    assert not list(out.parent.glob(f".{out.name}-partial-*"))


def test_sigint_mid_run_keeps_store_and_out(tmp_path, themed_csv):
    store = tmp_path / "runs.duckdb"
    first_documents = _first_run(tmp_path, themed_csv, store)
    export = _large_export(tmp_path / "large.csv", copies=75)
    out = tmp_path / "second"

    command = [sys.executable, "-m", "painpoints.cli", "analyze", str(export), "--embedding", "hashing", "--out",
               str(out), "--store", str(store), "--lang-ui", "en", "--verbose"]
    environment = {**os.environ, "COLUMNS": "200", "PAINPOINTS_HOME": str(tmp_path / "home")}
    # A shell that starts jobs in the background ignores SIGINT, and Python keeps that setting.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stderr_lines: list[str] = []
    embedded = threading.Event()

    def read_stderr() -> None:
        for line in process.stderr:
            stderr_lines.append(line)
            if "embedded" in line:
                embedded.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        # The embedding log line comes just before the topics stage, which takes several
        # seconds for 3,000 texts (UMAP and HDBSCAN compile with numba in a new process).
        assert embedded.wait(STAGE_TIMEOUT), "".join(stderr_lines)
        time.sleep(1.0)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        returncode = process.wait(EXIT_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(5)
    stderr = "".join(stderr_lines)

    assert returncode == 130, stderr
    assert tr("cli.interrupted", "en") in " ".join(stderr.split())
    assert "Traceback" not in stderr
    _assert_store_unchanged(store, first_documents)
    _assert_nothing_written(out)


def test_interrupt_while_writing_outputs(tmp_path, themed_csv, monkeypatch):
    store = tmp_path / "runs.duckdb"
    first_documents = _first_run(tmp_path, themed_csv, store)
    out = tmp_path / "second"

    from painpoints import report

    def write_then_interrupt(result, folder):
        (Path(folder) / "documents.csv").write_text("partial", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_outputs", write_then_interrupt)
    result = CliRunner().invoke(cli.app, ["analyze", str(themed_csv), "--embedding", "hashing", "--min-topic-size",
                                          "5", "--out", str(out), "--store", str(store)])
    assert result.exit_code == 130, result.output
    assert tr("cli.interrupted", "en") in " ".join(result.output.split())
    _assert_store_unchanged(store, first_documents)
    _assert_nothing_written(out)


def test_sigint_deferred_while_saving():
    # A shell that starts a job in the background makes it ignore SIGINT, so the handler
    # to come back is the one found before, not always Python's default one.
    before = signal.getsignal(signal.SIGINT)
    received = []
    with cli._sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        received.append("still running")
    assert received == ["still running"]
    assert signal.getsignal(signal.SIGINT) is before


def test_interrupt_in_destructor_is_kept(monkeypatch, capsys):
    # The handler replaces sys.unraisablehook; monkeypatch puts the original back.
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    interrupted = threading.Event()

    class Swallower:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)

    before = signal.getsignal(signal.SIGINT)
    with cli._sigint_not_swallowed(interrupted):
        # The KeyboardInterrupt raised inside __del__ is swallowed there, as in numba's compiler.
        Swallower()
        swallowed = interrupted.is_set()

    assert swallowed
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before
