"""Running an analysis on a file uploaded in the viewer, without Streamlit calls."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from painpoints.embed import Embedder, load_registry
from painpoints.pipeline import run_analysis
from painpoints.readers import SUPPORTED_SUFFIXES
from painpoints.settings import MAX_UPLOAD_MB, AnalysisSettings, ColumnMapping
from painpoints.store import save_run

# The uploader takes extensions without the dot.
UPLOAD_TYPES: Final = tuple(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


def embedding_choices() -> list[str]:
    """Return ``auto`` followed by the backends of the model registry."""
    return ["auto", *load_registry()]


def analyse_upload(
    data: bytes,
    filename: str,
    store: Path,
    *,
    outcome_column: str | None = None,
    event_value: str | None = None,
    embedding: str = "auto",
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> str:
    """Analyse uploaded bytes as if they were the file ``filename`` and save the run.

    The bytes are written under the original file name in a temporary folder, so the
    format is chosen by its extension and messages name the uploaded file.

    Returns
    -------
    str
        The id of the saved run.

    Raises
    ------
    painpoints.errors.PainpointsError
        For every problem with the file or the settings, as ``painpoints analyze``.
    """
    settings = AnalysisSettings(
        columns=ColumnMapping(outcome=outcome_column or None),
        event_value=event_value or None,
        embedding=embedding,
        cache_dir=cache_dir,
    )
    with tempfile.TemporaryDirectory(prefix="painpoints-upload-") as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(data)
        result = run_analysis(path, settings, embedder=embedder, progress=progress)
    result.info["input_path"] = Path(filename).name
    return save_run(result, store)


def upload_limit_mb() -> int:
    """Return the viewer's upload limit in MB (also set in ``.streamlit/config.toml``)."""
    return MAX_UPLOAD_MB
