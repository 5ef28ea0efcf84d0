"""Support for the browser test: system packages, the Streamlit server, and page waits.

The browser is Debian's Chromium (``/usr/bin/chromium``) driven by Playwright for
Python; Playwright's own browser downloads are never used. Chinese text needs the
Noto CJK fonts, otherwise Chromium draws empty boxes in the screenshots.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

REPOSITORY: Final = Path(__file__).resolve().parents[1]
APP_SCRIPT: Final = REPOSITORY / "ui" / "app.py"
CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
CJK_FONT_FAMILY: Final = "Noto Sans CJK"
APT_PACKAGES: Final = ("chromium", "fonts-noto-cjk")
HOST: Final = "127.0.0.1"

# Seconds. Streamlit imports pandas, DuckDB and the viewer before it listens, and the
# limits leave room for a busy 2-core CI machine.
SERVER_START_TIMEOUT: Final = 90.0
APT_TIMEOUT: Final = 900.0


def missing_system_packages() -> list[str]:
    """Return the Debian packages of ``APT_PACKAGES`` whose files are missing here."""
    missing = []
    if not CHROMIUM.exists():
        missing.append("chromium")
    if not has_cjk_font():
        missing.append("fonts-noto-cjk")
    return missing


def has_cjk_font() -> bool:
    """Return whether fontconfig lists a Noto Sans CJK font."""
    if shutil.which("fc-list") is None:
        return False
    listing = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    return CJK_FONT_FAMILY.lower() in listing.lower()


def install_system_packages(packages: list[str]) -> str | None:
    """Install ``packages`` with apt-get, running ``apt-get update`` when the first try fails.

    Returns
    -------
    str | None
        ``None`` when the packages are installed, else the reason they cannot be
        (not root, or no apt-get), for the caller to skip with.

    Raises
    ------
    RuntimeError
        If apt-get ran and failed even after ``apt-get update``, with the end of its output.
    """
    if shutil.which("apt-get") is None:
        return f"{', '.join(packages)} missing and apt-get is not available to install them"
    if os.geteuid() != 0:
        return f"{', '.join(packages)} missing and installing them with apt-get needs root"

    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    result = _run_apt(install, environment)
    if result.returncode != 0:
        _run_apt(["apt-get", "update"], environment)
        result = _run_apt(install, environment)
    if result.returncode != 0:
        raise RuntimeError(f"'{' '.join(install)}' failed with exit code {result.returncode}:\n"
                           f"{result.stdout[-2000:]}")
    return None


def _run_apt(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=environment, capture_output=True, text=True,
                          timeout=APT_TIMEOUT, check=False)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(store: Path, home: Path, log_path: Path) -> Iterator[str]:
    """Run the viewer on 127.0.0.1 with the run store ``store``; yield its base URL.

    The server runs in its own process group, so stopping the group also stops
    anything Streamlit started. Its output goes to ``log_path``, and the error raised
    when the server fails to start ends with the last lines of that log.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.address", HOST, "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        "--", "--store", str(store),
    ]
    environment = {**os.environ, "PAINPOINTS_HOME": str(home), "PAINPOINTS_STORE": str(store)}
    environment.pop("PAINPOINTS_LANG", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base_url = f"http://{HOST}:{port}"
        wait_until_healthy(base_url, process, log_path)
        yield base_url
    finally:
        stop_process_group(process)


def wait_until_healthy(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Wait until Streamlit's health endpoint returns ``ok``.

    Raises
    ------
    RuntimeError
        If the server exits or does not respond within ``SERVER_START_TIMEOUT`` seconds.
    """
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Streamlit exited with code {process.returncode}; log:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Streamlit did not respond on {base_url} within {SERVER_START_TIMEOUT:.0f} s; "
                       f"log:\n{_tail(log_path)}")


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop ``process`` and its process group: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-characters:]


def save_screenshot(page, path: Path) -> None:
    """Save the visible part of ``page`` as a 256-colour PNG, about a third of the full-colour size."""
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot()))
    image.convert("RGB").quantize(colors=256).save(path, optimize=True)
