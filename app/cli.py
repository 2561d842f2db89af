"""Service commands of `mltrain`: serve, worker, tokens, and the HTTP client (submit, status, wait, download)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ml.errors import MltrainError

log = logging.getLogger(__name__)


class ClientError(MltrainError):
    """The server refused a request or could not be reached."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the service and client commands."""
    serve = subparsers.add_parser("serve", help="migrate, then serve the API with a supervised embedded worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="serve the API only")
    serve.set_defaults(handler=run_serve)

    sweeper = subparsers.add_parser("sweeper", help="re-queue jobs of dead workers and re-send lost messages")
    sweeper.add_argument("--interval", type=float, help="seconds between sweeps (default: a quarter lease, <= 5)")
    sweeper.add_argument("--resend-after", type=float, default=300.0, help="re-send jobs queued this long")
    sweeper.set_defaults(handler=run_sweeper_command)

    worker = subparsers.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--queues", default="cpu", help="comma-separated: cpu, gpu, data (data-set scans)")
    worker.add_argument("--concurrency", type=int, default=1)
    # solo: the job runs in the worker's main process, which sees the stop signal first (prefork forwards it).
    worker.add_argument("--pool", choices=["prefork", "solo"], default="solo")
    worker.set_defaults(handler=run_worker)

    tokens = subparsers.add_parser("tokens", help="create, list or revoke API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--owner", help="owner of the token's objects (default: the name)")
    create.set_defaults(handler=run_tokens_create)
    token_commands.add_parser("list").set_defaults(handler=run_tokens_list)
    revoke = token_commands.add_parser("revoke")
    revoke.add_argument("name")
    revoke.set_defaults(handler=run_tokens_revoke)

    submit = subparsers.add_parser("submit", help="submit a job to a running server")
    submit.add_argument("--type", choices=["train", "evaluate"], default="train")
    submit.add_argument("--model", required=True)
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", action="store_true")
    source.add_argument("--dataset-id")
    submit.add_argument("--source-job-id", help="evaluate: the train job whose models to evaluate")
    submit.add_argument("--queue", choices=["cpu", "gpu"], default="cpu")
    submit.add_argument("--idempotency-key")
    submit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="any job param (JSON value)")
    for flag, kind in (("epochs", int), ("batch-size", int), ("lr", float), ("val-split", float), ("seed", int)):
        submit.add_argument(f"--{flag}", type=kind)
    submit.set_defaults(handler=run_submit)

    registration = subparsers.add_parser(
        "register", help="register a data set folder on the server (it must lie under MLTRAIN_DATASET_ROOTS there)"
    )
    registration.add_argument("path", type=Path, help="the folder (made absolute here)")
    registration.add_argument("--name", help="default: the folder's name")
    registration.add_argument("--format", help="detected when omitted")
    registration.add_argument("--wait", action="store_true", help="wait for the scan; exit 1 if the set is invalid")
    registration.set_defaults(handler=run_register)

    for name, handler, text in (("status", run_status, "show a job"), ("wait", run_wait, "wait for a job to finish")):
        command = subparsers.add_parser(name, help=text)
        command.add_argument("job")
        command.set_defaults(handler=handler)

    download = subparsers.add_parser("download", help="download a job's artifacts")
    download.add_argument("job")
    download.add_argument("name", nargs="?")
    download.add_argument("--output", type=Path, default=Path("."))
    download.set_defaults(handler=run_download)


# ---- server side -------------------------------------------------------------------------------------------


def _settings() -> Any:
    from pydantic import ValidationError

    from app.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        raise MltrainError(f"bad configuration: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None


def ensure_admin_token(settings: Any) -> str | None:
    """Create the first token if the database has none; save it 0600 to settings.token_file and return it."""
    from app.db import session_scope
    from app.services.tokens import create_token, has_tokens

    with session_scope(settings.database_url) as session:
        if has_tokens(session):
            return None
        token = create_token(session, name="admin")
    path = Path(settings.token_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


STOP_GRACE_SECONDS = 8.0  # a worker stops its job at the next batch and exits well within this; then SIGKILL
STABLE_SECONDS = 30.0  # a child that ran this long resets the restart backoff


class WorkerSupervisor:
    """Keeps one `mltrain worker` child alive: restarts it with backoff if it dies; stops it on exit."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.restarts = 0
        self.thread = threading.Thread(target=self._loop, name="worker-supervisor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        from worker.shutdown import parent_death_signal

        # The kernel SIGTERMs the worker when `serve` dies, even by SIGKILL: it stops gracefully (releasing its
        # job) instead of living on as an orphan.
        return subprocess.Popen(self.command, preexec_fn=parent_death_signal(signal.SIGTERM))

    def start(self) -> None:
        """Start the child and the watching thread (which also spawns every restart: PDEATHSIG follows it)."""
        self.thread.start()

    def _loop(self) -> None:
        # The thread that forks is the child's "parent" for PR_SET_PDEATHSIG: this thread spawns every child and
        # only returns once its child has exited, so a graceful stop is never cut short by the thread ending.
        backoff = 1.0
        self.process = self._spawn()
        started = time.monotonic()
        while True:
            if self.stopping.wait(0.2):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=STOP_GRACE_SECONDS + 2)
                return
            if self.process.poll() is None:
                continue
            if time.monotonic() - started > STABLE_SECONDS:
                backoff = 1.0
            log.warning("embedded worker exited with %s; restarting in %.0f s", self.process.returncode, backoff)
            if self.stopping.wait(backoff):
                return
            self.process = self._spawn()
            started = time.monotonic()
            self.restarts += 1
            backoff = min(backoff * 2, 30.0)

    def terminate(self) -> None:
        """Ask the child to stop (warm shutdown: its job stops at the next batch and is released)."""
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        """Wait for the child until the monotonic `deadline`, then kill it."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.warning("embedded worker did not stop in time; killing it")
            self.process.kill()
            self.process.wait(timeout=5)
        self.thread.join(timeout=1)

    def stop(self) -> None:
        """terminate(), then wait up to STOP_GRACE_SECONDS."""
        self.terminate()
        self.wait(time.monotonic() + STOP_GRACE_SECONDS)


def run_serve(args: argparse.Namespace) -> int:
    """Handler of `mltrain serve`."""
    import uvicorn

    from app.main import create_app
    from app.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    token = ensure_admin_token(settings)
    if token:
        print(f"created the first API token (saved in {settings.token_file}):\n  {token}", flush=True)
    else:
        print(f"API tokens exist; the first one is saved in {settings.token_file}", flush=True)
    root = settings.dataset_roots[0]
    print(
        f"next, in another terminal: .venv/bin/mltrain datasets example {root / 'example'} && "
        f".venv/bin/mltrain register {root / 'example' / 'maestro'} --wait  (README: Walkthrough)",
        flush=True,
    )
    stop_sweeper = threading.Event()
    from worker.sweeper import default_enqueue, interval_for, run_sweeper

    threading.Thread(
        target=run_sweeper,
        args=(settings, default_enqueue(settings), stop_sweeper),
        kwargs={"interval": interval_for(settings.lease_seconds)},
        name="sweeper",
        daemon=True,
    ).start()
    supervisors: list[WorkerSupervisor] = []
    if not args.no_worker:
        executable = str(Path(sys.executable).parent / "mltrain")
        # Two workers: training jobs one at a time, and data-set scans beside them, so a registration is never
        # stuck behind a long training.
        for queues in ("cpu,gpu", "data"):
            command = [executable, "worker", "--queues", queues, "--concurrency", "1", "--pool", "solo"]
            supervisors.append(WorkerSupervisor(command))
            supervisors[-1].start()
    try:
        # Open event streams (the dashboard's SSE) would hold a graceful shutdown forever: cut them after 2 s.
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=2)
    finally:
        stop_sweeper.set()
        for supervisor in supervisors:  # all at once: the workers stop in parallel
            supervisor.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for supervisor in supervisors:
            supervisor.wait(deadline)
    return 0


def run_sweeper_command(args: argparse.Namespace) -> int:
    """Handler of `mltrain sweeper`: sweep until interrupted."""
    from worker.sweeper import default_enqueue, interval_for, run_sweeper

    settings = _settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interval = args.interval if args.interval is not None else interval_for(settings.lease_seconds)
    run_sweeper(settings, default_enqueue(settings), stop, interval=interval, resend_after=args.resend_after)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """Handler of `mltrain worker`."""
    settings = _settings()
    settings.object_dir.mkdir(parents=True, exist_ok=True)
    from worker.celery_app import celery_app

    argv = ["worker", "--loglevel", "INFO", "--queues", args.queues, "--concurrency", str(args.concurrency)]
    argv += ["--pool", args.pool, "--without-gossip", "--without-mingle", "--without-heartbeat"]
    celery_app.worker_main(argv)
    return 0


def run_tokens_create(args: argparse.Namespace) -> int:
    """Handler of `mltrain tokens create`."""
    from app.db import session_scope
    from app.migrate import upgrade
    from app.services.tokens import create_token

    settings = _settings()
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        token = _domain(lambda: create_token(session, name=args.name, owner=args.owner))
    print(token)
    return 0


def run_tokens_list(args: argparse.Namespace) -> int:
    """Handler of `mltrain tokens list`."""
    from app.db import session_scope
    from app.services.tokens import list_tokens

    with session_scope(_settings().database_url) as session:
        for row in list_tokens(session):
            state = "revoked" if row.revoked_at else "active"
            print(f"{row.name}\towner={row.owner}\t{row.prefix}...\t{state}")
    return 0


def run_tokens_revoke(args: argparse.Namespace) -> int:
    """Handler of `mltrain tokens revoke`."""
    from app.db import session_scope
    from app.services.tokens import revoke_token

    with session_scope(_settings().database_url) as session:
        _domain(lambda: revoke_token(session, name=args.name))
    print(f"revoked {args.name}")
    return 0


def _domain(call: Any) -> Any:
    from app.errors import DomainError

    try:
        return call()
    except DomainError as exc:
        raise MltrainError(exc.detail) from None


# ---- client side -------------------------------------------------------------------------------------------


def _client() -> Any:
    import httpx

    url = os.environ.get("MLTRAIN_URL", "http://127.0.0.1:8000").rstrip("/")
    token = os.environ.get("MLTRAIN_TOKEN")
    if not token:
        path = Path(os.environ.get("MLTRAIN_TOKEN_FILE", "var/admin-token"))
        token = path.read_text().strip() if path.is_file() else None
    if not token:
        raise ClientError("no API token: set MLTRAIN_TOKEN (see `mltrain tokens create`)")
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _request(method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with _client() as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach the server: {exc}") from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        raise ClientError(f"HTTP {response.status_code}: {detail}")
    return response


def run_submit(args: argparse.Namespace) -> int:
    """Handler of `mltrain submit`."""
    params: dict[str, Any] = {}
    for item in args.param:
        name, _, value = item.partition("=")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    for name in ("epochs", "batch_size", "lr", "val_split", "seed"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    body: dict[str, Any] = {"type": args.type, "model": args.model, "params": params, "queue": args.queue}
    if args.synthetic:
        body["synthetic"] = True
    else:
        body["dataset_id"] = args.dataset_id
    if args.source_job_id:
        body["source_job_id"] = args.source_job_id
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    job = _request("POST", "/jobs", json=body, headers=headers).json()
    print(job["id"])
    return 0


def _describe_dataset(dataset: dict[str, Any]) -> str:
    scan = dataset.get("validation") or {}
    if dataset["status"] == "validating":
        total = scan.get("files_total")
        return f"{dataset['id']} validating: {scan.get('files_seen', 0)}/{total if total is not None else '?'} files"
    if dataset["status"] == "invalid":
        return f"{dataset['id']} invalid: {dataset['error']}"
    report = dataset["report"] or {}
    below = f" in {report['subfolder']}/" if report.get("subfolder") else ""
    return (
        f"{dataset['id']} ready: {dataset['format']}{below}, {dataset['usable']} usable of "
        f"{report.get('files_found', 0)} files"
    )


def run_register(args: argparse.Namespace) -> int:
    """Handler of `mltrain register`: the data set's id on stdout; with --wait, its scan and status on stderr."""
    body = {"name": args.name or args.path.absolute().name, "path": str(args.path.absolute())}
    if args.format:
        body["format"] = args.format
    dataset = _request("POST", "/datasets", json=body).json()
    print(dataset["id"], flush=True)
    if not args.wait:
        return 0
    tty, last = sys.stderr.isatty(), ""
    while dataset["status"] == "validating":
        line = _describe_dataset(dataset)
        if tty and line != last:
            sys.stderr.write("\r" + line + "   ")
            sys.stderr.flush()
            last = line
        time.sleep(0.5)
        dataset = _request("GET", f"/datasets/{dataset['id']}").json()
    sys.stderr.write(("\r" if last else "") + _describe_dataset(dataset) + "\n")
    return 0 if dataset["status"] == "ready" else 1


def _describe(job: dict[str, Any]) -> str:
    progress = job["progress"]
    where = ""
    if progress["current_model"]:
        where = f" {progress['current_model']} epoch {progress['epoch']}/{progress['total_epochs']}"
    eta = f" eta {progress['eta_seconds']:.0f}s" if progress.get("eta_seconds") else ""
    error = f" error: {job['error']}" if job.get("error") else ""
    return f"{job['id']} {job['status']} {progress['fraction'] * 100:.0f}%{where}{eta}{error}"


def run_status(args: argparse.Namespace) -> int:
    """Handler of `mltrain status`."""
    print(_describe(_request("GET", f"/jobs/{args.job}").json()))
    return 0


def run_wait(args: argparse.Namespace) -> int:
    """Handler of `mltrain wait`: poll until the job finishes; exit 0 only if it succeeded."""
    tty = sys.stderr.isatty()
    last = ""
    while True:
        job = _request("GET", f"/jobs/{args.job}").json()
        line = _describe(job)
        if line != last:
            sys.stderr.write(("\r" + line + "   ") if tty else line + "\n")
            sys.stderr.flush()
            last = line
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if tty:
                sys.stderr.write("\n")
            print(job["status"])
            for line in _evaluation_lines(job):
                print(line)
            return 0 if job["status"] == "succeeded" else 1
        time.sleep(1.0)


def _evaluation_lines(job: dict[str, Any]) -> list[str]:
    """Per model of a finished job: its test loss beside the baselines (train and evaluate jobs)."""
    from ml.cli.train import format_headline
    from ml.scoring import headline

    result = job.get("result") or {}
    if "evaluation" in result:  # an evaluate job: the full evaluation per model
        figures = {key: headline(value) for key, value in result["evaluation"].items()}
    else:
        figures = {key: m["evaluation"] for key, m in result.get("models", {}).items() if m.get("evaluation")}
    return [f"  {key}: {format_headline(value)}" for key, value in figures.items()]


def run_download(args: argparse.Namespace) -> int:
    """Handler of `mltrain download`."""
    artifacts = _request("GET", f"/jobs/{args.job}/artifacts").json()
    names = [a["name"] for a in artifacts if args.name in (None, a["name"])]
    if not names:
        raise ClientError(
            f"job {args.job} has no artifact {args.name!r}" if args.name else f"job {args.job} has no artifacts"
        )
    args.output.mkdir(parents=True, exist_ok=True)
    for name in names:
        response = _request("GET", f"/jobs/{args.job}/artifacts/{name}")
        target = args.output / Path(name).name
        target.write_bytes(response.content)
        print(target)
    return 0
