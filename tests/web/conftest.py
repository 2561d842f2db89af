"""A real dashboard stack for browser tests: uvicorn + a solo worker on SQLite, and Debian's Chromium via Playwright.

The browser is never downloaded: `make browser` installs Debian's chromium. Without it (or without playwright) the
browser tests skip locally and fail under CI=true, where they must run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import dispose_engines, session_scope
from app.migrate import upgrade
from app.services.tokens import create_token

CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent
SCREENSHOTS = os.environ.get("MLTRAIN_SCREENSHOTS")  # a folder: the flow test saves the main pages there
# Jobs of the browser tests: seconds on one core.
START_SECONDS = 120.0  # the machine may be busy with other work: starting is slow then, not broken
JOB_SECONDS = 120.0
QUICK_PARAMS = {"epochs": "12", "synthetic_samples": "512", "batch_size": "16", "early_stopping_patience": "0"}


def _need_browser() -> None:
    """Skip (locally) or fail (CI=true) without playwright or Debian's chromium."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (make browser, i.e. apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(base_url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass
class Server:
    """The running dashboard: its URL, a token per owner, where data sets may be registered, and job ids made."""

    base_url: str
    database_url: str
    tmp: Path
    dataset_root: Path
    tokens: dict[str, str]
    processes: list[subprocess.Popen[bytes]]
    jobs: list[str] = field(default_factory=list)

    def token(self, owner: str) -> str:
        """A token for `owner` (made on first use)."""
        if owner not in self.tokens:
            with session_scope(self.database_url) as session:
                self.tokens[owner] = create_token(session, name=f"{owner}-{uuid.uuid4().hex[:6]}", owner=owner)
        return self.tokens[owner]

    def api(self, owner: str = "alice") -> httpx.Client:
        """An API client with `owner`'s bearer token."""
        headers = {"Authorization": f"Bearer {self.token(owner)}"}
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=30)

    @contextlib.contextmanager
    def signed_in(self, owner: str = "alice") -> Iterator[httpx.Client]:
        """An HTTP client holding `owner`'s session cookie, signed in through the form like a browser."""
        with httpx.Client(base_url=self.base_url, timeout=30, follow_redirects=True) as client:
            page = client.get("/signin")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf, page.text
            form = {"csrf_token": csrf.group(1), "token": self.token(owner), "next": "/"}
            response = client.post("/signin", data=form)
            assert response.status_code == 200 and "Sign out" in response.text, response.text[:500]
            yield client

    def logs(self) -> str:
        """The tail of the API and worker logs (for failure messages)."""
        return "\n".join(
            f"--- {name}\n{(self.tmp / name).read_text(errors='replace')[-3000:]}" for name in ("api.log", "worker.log")
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn (app.main:create_app) and a solo worker on SQLite + kombu's SQLAlchemy broker, on a free port."""
    tmp = tmp_path_factory.mktemp("web")
    roots = tmp / "datasets"
    roots.mkdir()
    database_url = f"sqlite:///{tmp / 'mltrain.db'}"
    env = {
        **os.environ,
        "MLTRAIN_DATABASE_URL": database_url,
        "MLTRAIN_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.db'}",
        "MLTRAIN_OBJECT_DIR": str(tmp / "objects"),
        "MLTRAIN_UPLOAD_DIR": str(tmp / "uploads"),
        "MLTRAIN_DATASET_ROOTS": str(roots),
        "MLTRAIN_EVENTS_POLL_SECONDS": "0.2",
        "MLTRAIN_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    upgrade(database_url)
    port = free_port()
    api = _spawn(
        [str(BIN / "python"), "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
        env,
        tmp / "api.log",
    )
    # cpu: training; data: data-set scans where registration validates in the background.
    worker = _spawn([str(BIN / "mltrain"), "worker", "--pool", "solo", "--queues", "cpu,data"], env, tmp / "worker.log")
    running = Server(f"http://127.0.0.1:{port}", database_url, tmp, roots, {}, [api, worker])
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(running.base_url):
            if time.monotonic() > deadline or api.poll() is not None:
                pytest.fail("the API did not start:\n" + running.logs())
            time.sleep(0.2)
        # Jobs are timed from their submission: wait until the worker consumes (its start imports a lot).
        while "ready." not in (tmp / "worker.log").read_text(errors="replace"):
            if time.monotonic() > deadline or worker.poll() is not None:
                pytest.fail("the worker did not start:\n" + running.logs())
            time.sleep(0.2)
        yield running
    finally:
        for process in running.processes:
            _stop(process)
        dispose_engines()


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280x800, with every page error collected in `page.errors`."""
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda msg: tab.errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()


def sign_in(page: Any, server: Server, owner: str = "alice") -> None:
    """Sign in through the form."""
    page.goto("/signin")
    page.get_by_label("API token").fill(server.token(owner))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.base_url + "/")


def screenshot(page: Any, name: str) -> None:
    """Save the page as docs/images-style PNG when MLTRAIN_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)
