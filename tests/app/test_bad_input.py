"""Every bad request is a 4xx that writes nothing (no row, no file), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import Base, session_scope
from tests.app.conftest import Api

JOB: dict[str, Any] = {"type": "train", "model": "groove_predictor", "synthetic": True}
NUL, SURROGATE = "\x00", "\ud800"


def _tar(*members: tuple[str | bytes, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def _symlink_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        info = tarfile.TarInfo("songs/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    return buffer.getvalue()


CSV = b"file,valence,arousal\na.wav,0.1,0.2\n"
MANY = _tar(*((f"m/{i}.mid", b"") for i in range(60)))  # over the test's MLTRAIN_MAX_ARCHIVE_MEMBERS of 50
JSON_HEADERS = {"content-type": "application/json"}


def job(**changes: Any) -> dict[str, Any]:
    """POST /jobs with JOB changed (None removes a key)."""
    body = {**JOB, **changes}
    return {"json": {k: v for k, v in body.items() if v is not None}}


def params(**values: Any) -> dict[str, Any]:
    """POST /jobs with these params."""
    return {"json": {**JOB, "params": values}}


def raw(content: bytes, content_type: str = "application/json") -> dict[str, Any]:
    """A body sent as given."""
    return {"content": content, "headers": {"content-type": content_type}}


def upload(data: bytes, filename: str = "songs.tar", **fields: str) -> dict[str, Any]:
    """A multipart upload."""
    return {"files": {"file": (filename, data, "application/octet-stream")}, "data": fields}


DATASET: dict[str, Any] = {"name": "mood", "path": "/srv/none"}
JOBS, DATASETS, UPLOAD = "/api/v1/jobs", "/api/v1/datasets", "/api/v1/datasets/upload"
MISSING = "0" * 32

CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    # job params: every field, nested ones included, of the wrong type or out of range
    *[
        ("params-" + ascii(name).strip("'"), "POST", JOBS, params(**{name: value}))
        for name, value in (
            ("epochs", "5"),
            ("epochs", True),
            ("epochs", 1.5),
            ("epochs", 0),
            ("epochs", 10**9),
            ("epochs", None),
            ("batch_size", 0),
            ("batch_size", []),
            ("lr", "fast"),
            ("lr", 0),
            ("lr", -1e-3),
            ("lr", True),
            ("weight_decay", 2),
            ("weight_decay", "x"),
            ("lr_schedule", 3),
            ("lr_schedule", "step"),
            ("warmup_epochs", -1),
            ("min_lr_ratio", 1.5),
            ("plateau_patience", -1),
            ("grad_clip", "x"),
            ("val_split", 0),
            ("val_split", 1),
            ("test_split", None),
            ("early_stopping_patience", 0.5),
            ("min_delta", -1),
            ("checkpoint_every", "10"),
            ("seed", -1),
            ("seed", 2**32),
            ("device", "tpu"),
            ("device", NUL),
            ("threads", 0),
            ("normalize", None),
            ("normalize", "zscore"),
            ("synthetic_samples", 1),
            ("lookahead_seconds", 3),
            ("architecture", [1]),
            ("architecture", "big"),
            ("architecture", 3),
            ("architecture", {"groove_predictor": [64]}),
            ("architecture", {"groove_predictor": {"fc9": 3}}),
            ("architecture", {"groove_predictor": {"fc1": 0}}),
            ("architecture", {"groove_predictor": {"fc1": "64"}}),
            ("architecture", {"drum_machine": {"fc1": 3}}),
            ("learning_rates", [0.1]),
            ("learning_rates", "x"),
            ("learning_rates", {"groove_predictor": "x"}),
            ("learning_rates", {"drum_machine": 0.1}),
            ("learning_rates", {"groove_predictor": 0}),
            ("weight_decays", 0.1),
            ("weight_decays", {"groove_predictor": 2}),
            ("augmentation", "x"),
            ("augmentation", [1]),
            ("augmentation", 3),
            ("augmentation", {"copies": 1.5}),
            ("augmentation", {"copies": 17}),
            ("augmentation", {"copies": True}),
            ("augmentation", {"reverb": 1}),
            ("augmentation", {"mel_gain_db": -1}),
            ("augmentation", {"transpose_semitones": "2"}),
            ("epochz", 3),
            (SURROGATE, 1),
            (NUL, 1),
        )
    ],
    ("params-split-sum", "POST", JOBS, params(val_split=0.5, test_split=0.5)),
    ("params-list", "POST", JOBS, job(params=[1])),
    ("params-string", "POST", JOBS, job(params="epochs=3")),
    # the job itself
    ("job-both-sources", "POST", JOBS, job(dataset_id=MISSING)),
    ("job-no-source", "POST", JOBS, job(synthetic=False)),
    ("job-empty-dataset-id", "POST", JOBS, job(synthetic=None, dataset_id="")),
    ("job-unknown-dataset", "POST", JOBS, job(synthetic=None, dataset_id=MISSING)),
    ("job-nul-dataset-id", "POST", JOBS, job(synthetic=None, dataset_id="ab" + NUL)),
    ("job-surrogate-dataset-id", "POST", JOBS, job(synthetic=None, dataset_id=SURROGATE)),
    ("job-long-dataset-id", "POST", JOBS, job(synthetic=None, dataset_id="a" * 33)),
    ("job-evaluate-no-source", "POST", JOBS, job(type="evaluate")),
    ("job-evaluate-nul-source", "POST", JOBS, job(type="evaluate", source_job_id=NUL)),
    ("job-evaluate-unknown-source", "POST", JOBS, job(type="evaluate", source_job_id=MISSING)),
    ("job-train-with-source", "POST", JOBS, job(source_job_id=MISSING)),
    ("job-unknown-model", "POST", JOBS, job(model="drum_machine")),
    ("job-nul-model", "POST", JOBS, job(model=NUL)),
    ("job-validate-type", "POST", JOBS, job(type="validate")),
    ("job-queue", "POST", JOBS, job(queue="data")),
    ("job-owner", "POST", JOBS, job(owner="mallory")),
    ("job-status", "POST", JOBS, job(status="succeeded")),
    ("job-synthetic-string", "POST", JOBS, job(synthetic="yes")),
    ("job-surrogate-key", "POST", JOBS, raw(b'{"type": "train", "model": "all", "synthetic": true, "\\ud800": 1}')),
    (
        "job-surrogate-param-key",
        "POST",
        JOBS,
        raw(b'{"type":"train","model":"all","synthetic":true,"params":{"\\udfff":1}}'),
    ),
    ("job-not-json", "POST", JOBS, raw(b"{not json")),
    ("job-not-utf8", "POST", JOBS, raw(b'{"type": "\xff\xfe"}')),
    ("job-json-array", "POST", JOBS, raw(b"[1, 2]")),
    ("job-json-string", "POST", JOBS, raw(b'"train"')),
    ("job-empty-body", "POST", JOBS, raw(b"")),
    ("job-text-plain", "POST", JOBS, raw(b"type=train", "text/plain")),
    ("job-form", "POST", JOBS, raw(b"type=train&model=%00", "application/x-www-form-urlencoded")),
    ("job-huge-json", "POST", JOBS, raw(b'{"type": "' + b"a" * (2 << 20) + b'"}')),
    ("job-idempotency-key-long", "POST", JOBS, {**job(), "headers": {"Idempotency-Key": "k" * 201}}),
    # data-set registration
    ("dataset-nul-name", "POST", DATASETS, {"json": {**DATASET, "name": "mo" + NUL + "od"}}),
    ("dataset-surrogate-name", "POST", DATASETS, raw(b'{"name": "\\ud83d", "path": "/srv/none"}')),
    ("dataset-nul-path", "POST", DATASETS, {"json": {**DATASET, "path": "/srv" + NUL}}),
    ("dataset-nul-format", "POST", DATASETS, {"json": {**DATASET, "format": NUL}}),
    ("dataset-relative-path", "POST", DATASETS, {"json": {**DATASET, "path": "datasets"}}),
    ("dataset-outside-roots", "POST", DATASETS, {"json": {**DATASET, "path": "/etc"}}),
    ("dataset-empty-name", "POST", DATASETS, {"json": {**DATASET, "name": ""}}),
    ("dataset-long-name", "POST", DATASETS, {"json": {**DATASET, "name": "n" * 201}}),
    ("dataset-name-number", "POST", DATASETS, {"json": {**DATASET, "name": 3}}),
    ("dataset-no-path", "POST", DATASETS, {"json": {"name": "mood"}}),
    ("dataset-extra-field", "POST", DATASETS, {"json": {**DATASET, "owner": "mallory"}}),
    ("dataset-not-json", "POST", DATASETS, raw(b"name=mood")),
    # uploads: archives that must be refused with nothing left on disk
    ("upload-zip-slip", "POST", UPLOAD, upload(_zip(("ok/labels.csv", CSV), ("../../evil.txt", b"x")), "s.zip")),
    ("upload-zip-absolute", "POST", UPLOAD, upload(_zip(("ok/a.txt", b"x"), ("/tmp/evil.txt", b"x")), "s.zip")),
    (
        "upload-zip-drive",
        "POST",
        UPLOAD,
        upload(
            _zip(
                ("C:/evil.txt", b"x"),
            ),
            "s.zip",
        ),
    ),
    ("upload-tar-slip", "POST", UPLOAD, upload(_tar(("ok/a.txt", b"x"), ("ok/../../evil.txt", b"x")))),
    ("upload-tar-symlink", "POST", UPLOAD, upload(_symlink_tar())),
    ("upload-tar-not-utf8", "POST", UPLOAD, upload(_tar(("ok/a.txt", b"x"), (b"ok/\xff\xfe.mid", b"x")))),
    (
        "upload-tar-not-utf8-dir",
        "POST",
        UPLOAD,
        upload(
            _tar(
                (b"\xe9t\xe9/a.mid", b"x"),
            )
        ),
    ),
    ("upload-too-many-members", "POST", UPLOAD, upload(MANY)),
    ("upload-not-archive", "POST", UPLOAD, upload(b"just text", "songs.rar")),
    ("upload-empty", "POST", UPLOAD, upload(b"")),
    (
        "upload-no-layout",
        "POST",
        UPLOAD,
        upload(
            _tar(
                ("readme.txt", b"hello"),
            )
        ),
    ),
    ("upload-no-file-part", "POST", UPLOAD, {"data": {"name": "mood"}, "files": {"other": ("a", b"x")}}),
    (
        "upload-nul-name-field",
        "POST",
        UPLOAD,
        upload(
            _tar(
                ("a/labels.csv", CSV),
            ),
            name="m" + NUL,
        ),
    ),
    (
        "upload-nul-filename",
        "POST",
        UPLOAD,
        upload(
            _tar(
                ("a/labels.csv", CSV),
            ),
            filename="s" + NUL + ".tar",
        ),
    ),
    (
        "upload-nul-name-query",
        "POST",
        UPLOAD + "?name=m%00",
        upload(
            _tar(
                ("a/labels.csv", CSV),
            )
        ),
    ),
    (
        "upload-long-format",
        "POST",
        UPLOAD,
        upload(
            _tar(
                ("a/labels.csv", CSV),
            ),
            format="f" * 51,
        ),
    ),
    ("upload-too-large", "POST", UPLOAD, upload(b"\x00" * ((1 << 20) + 1))),
    (
        "upload-raw-json-type",
        "POST",
        UPLOAD,
        raw(
            _tar(
                ("a/labels.csv", CSV),
            )
        ),
    ),
    # query and path parameters
    ("query-nul-model", "GET", JOBS + "?model=a%00b", {}),
    ("query-nul-name", "GET", JOBS + "?mo%00del=a", {}),
    ("query-bad-status", "GET", JOBS + "?status=bogus", {}),
    ("query-nul-status", "GET", JOBS + "?status=%00", {}),
    ("query-limit-zero", "GET", JOBS + "?limit=0", {}),
    ("query-limit-text", "GET", JOBS + "?limit=abc", {}),
    ("query-offset-huge", "GET", DATASETS + "?offset=10000000000", {}),
    ("query-limit-nul", "GET", DATASETS + "?limit=1%00", {}),
    ("path-nul-job", "GET", JOBS + "/a%00b", {}),
    ("path-nul-metrics", "GET", JOBS + "/%00/metrics", {}),
    ("path-nul-events", "GET", JOBS + "/%00/events", {}),
    ("path-nul-artifacts", "GET", JOBS + "/%00/artifacts", {}),
    ("path-nul-artifact-name", "GET", JOBS + f"/{MISSING}/artifacts/a%00.json", {}),
    ("path-nul-cancel", "POST", JOBS + "/%00/cancel", {}),
    ("path-nul-dataset", "GET", DATASETS + "/%00", {}),
    ("path-nul-delete", "DELETE", DATASETS + "/x%00", {}),
    ("path-surrogate-job", "GET", JOBS + "/%ED%A0%80", {}),
    ("path-missing-job", "GET", JOBS + f"/{MISSING}", {}),
    ("path-missing-cancel", "POST", JOBS + f"/{MISSING}/cancel", {}),
    ("path-missing-delete", "DELETE", DATASETS + f"/{MISSING}", {}),
    # methods
    ("method-delete-jobs", "DELETE", JOBS, {}),
    ("method-put-job", "PUT", JOBS + f"/{MISSING}", {}),
    ("method-get-upload", "GET", UPLOAD, {}),
]


def _counts(api: Api) -> dict[str, int]:
    with session_scope(api.settings.database_url, read_only=True) as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def _files(root: Path) -> set[str]:
    """Every file and folder under root, except the SQLite database's own files."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not p.name.startswith("mltrain.db") and "pytest" not in p.name
    }


@pytest.mark.parametrize(("case", "method", "url", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_a_4xx_that_writes_nothing(
    api: Api, tmp_path: Path, case: str, method: str, url: str, kwargs: dict[str, Any]
) -> None:
    headers = api.token("alice")
    api.settings.max_archive_members = 50
    # The upload root is the server's standing folder (like objects/ and uploads/, which the app makes at start);
    # the first upload creates it, so it exists here before the snapshot: what must not appear is anything in it.
    api.settings.upload_root.mkdir(parents=True, exist_ok=True)
    before_rows, before_files = _counts(api), _files(tmp_path)
    kwargs = {**kwargs, "headers": {**headers, **kwargs.get("headers", {})}}
    if "json" in kwargs:  # httpx cannot encode a lone surrogate; json.dumps escapes it as \\ud800, as a client would
        kwargs = {
            **kwargs,
            "content": json.dumps(kwargs.pop("json")).encode(),
            "headers": {**kwargs["headers"], **JSON_HEADERS},
        }
    response = api.client.request(method, url, **kwargs)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail, response.text
    if response.status_code == 405:
        assert response.headers.get("allow"), "a 405 names the allowed methods"
    assert _counts(api) == before_rows, f"{case} wrote rows"
    assert _files(tmp_path) == before_files, f"{case} left files: {_files(tmp_path) - before_files}"
    assert api.enqueued == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"params": {"architecture": [1]}}, "params.architecture"),
        ({"params": {"augmentation": "x"}}, "params.augmentation"),
        ({"params": {"learning_rates": {"groove_predictor": "x"}}}, "params.learning_rates.groove_predictor"),
        ({"params": {"device": "cpu" + NUL}}, "params.device"),
        ({"dataset_id": NUL, "synthetic": None}, "dataset_id"),
    ],
)
def test_the_message_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    content = json.dumps({k: v for k, v in {**JOB, **body}.items() if v is not None}).encode()
    response = api.client.post(JOBS, content=content, headers={**api.token("alice"), **JSON_HEADERS})
    assert response.status_code == 422 and response.json()["detail"].startswith(field), response.text


def test_nul_in_a_path_id_names_the_parameter(api: Api) -> None:
    response = api.client.get(JOBS + "/a%00b", headers=api.token("alice"))
    assert response.status_code == 422 and response.json()["detail"] == "job_id: contains a NUL byte"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("?limt=5", "query limt: not a parameter of this operation (its parameters: limit, model, offset, status,"),
        ("?=false", "query (empty name): not a parameter of this operation"),
        ("?limit=1&limit=2", "query limit: given more than once; it takes one value"),
    ],
)
def test_unknown_or_repeated_query_parameters_are_refused(api: Api, query: str, detail: str) -> None:
    response = api.client.get(JOBS + query, headers=api.token("alice"))
    assert response.status_code == 422 and response.json()["detail"].startswith(detail), response.text


def test_declared_query_parameters_and_other_paths_still_pass(api: Api) -> None:
    alice = api.token("alice")
    assert api.client.get(JOBS + "?limit=5&offset=0&status=queued", headers=alice).status_code == 200
    assert api.client.get("/api/v1/nope?x=1", headers=alice).status_code == 404  # no operation: its 404 first
    assert api.client.get("/healthz?probe=1").status_code == 200  # outside the API: not checked
    assert api.client.post(JOBS + "?x=1", json=JOB, headers=alice).status_code == 422  # every method of the API
