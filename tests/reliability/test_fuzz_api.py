"""Schemathesis against the app's own OpenAPI schema, with auth: every check (no 5xx, statuses, headers and bodies
match the schema, schema-violating input is refused, the token is enforced), positive and negative cases per
operation, then stateful sequences that follow the schema's links from a created job, data set and sweep."""

from __future__ import annotations

import json
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi._hypothesis import get_schema_for_location
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.stateful.state_machine import APIStateMachine, StepResult

from app.api.deps import get_enqueuer
from app.config import Settings
from app.db import session_scope
from app.main import create_app
from app.migrate import upgrade
from app.services.tokens import create_token
from tests.fixtures.audio_sets import write_audio_labels
from tests.integration.conftest import free_port

# schemathesis 3 resolves $refs through jsonschema's deprecated RefResolver; nothing of ours is involved.
pytestmark = pytest.mark.filterwarnings("ignore:jsonschema.RefResolver is deprecated:DeprecationWarning")
AUTH: dict[str, str] = {}
FUZZ_CASES = 40
STATEFUL_SEQUENCES = 30
JOB = {"type": "train", "model": "all", "synthetic": True, "params": {"epochs": 2}}
DATASET: dict[str, Any] = {"name": "fuzz-clips"}  # the path is the fixture's folder
SWEEP = {
    "model": "groove_predictor",
    "synthetic": True,
    "params": {"epochs": 2, "synthetic_samples": 64, "batch_size": 16},
    "space": {"lr": {"grid": [0.001, 0.01]}},
    "strategy": "grid",
}


def sent_query_is_valid(case: schemathesis.Case, url: str) -> bool:
    """Whether the query string as sent fits the operation: a one-element list or a number for a string goes out
    as a valid `offset=0` or `model=5`, and only those negative cases (the query their only negation) pass this."""
    meta = case.meta
    if meta is None or meta.query is None or not meta.query.is_negative:
        return False
    operation = case.operation
    # Metadata marks a location negative even where the operation has nothing to negate (no body, no cookies).
    for part, present in ((meta.body, operation.body), (meta.path_parameters, operation.path_parameters),
                          (meta.cookies, operation.cookies)):  # fmt: skip
        if part is not None and part.is_negative and present:
            return False
    validator = operation.schema.validator_cls  # type: ignore[attr-defined]
    if meta.headers is not None and meta.headers.is_negative and operation.headers:
        # A negated Authorization goes out as the test's token, so only the other declared headers count.
        declared = get_schema_for_location(operation, "header", operation.headers)
        ours = {name.lower() for name in AUTH}
        declared["properties"] = {k: v for k, v in declared.get("properties", {}).items() if k.lower() not in ours}
        declared["required"] = [k for k in declared.get("required", []) if k.lower() not in ours]
        names = {name.lower(): name for name in declared["properties"]}
        sent_headers = {names[k.lower()]: v for k, v in (case.headers or {}).items() if k.lower() in names}
        if not validator(declared).is_valid(sent_headers):
            return False
    schema = get_schema_for_location(operation, "query", operation.query)
    sent: dict[str, list[str]] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        sent.setdefault(name, []).append(value)
    properties: dict[str, Any] = schema.get("properties", {})
    if set(sent) - set(properties) or set(schema.get("required", ())) - set(sent):
        return False
    for name, values in sent.items():
        decoded = [decode(value) for value in values]
        single = properties[name].get("type") != "array"
        if single and len(values) != 1:
            return False
        candidates = (values[0], decoded[0]) if single else (values, decoded)
        if not any(validator(properties[name]).is_valid(candidate) for candidate in candidates):
            return False
    return True


def decode(text: str) -> Any:
    """A query value as the app may read it: JSON if it parses (0, true, null), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def negative_data_rejection_as_sent(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """negative_data_rejection, except for negative cases that are valid requests on the wire."""
    if sent_query_is_valid(case, response.request.url):
        return None
    return negative_data_rejection(ctx, response, case)


# Every check but content_type_conformance: uvicorn itself answers a request it cannot parse (e.g. a header `0:`
# with an empty value) with a text/plain 400 "Invalid HTTP request received." before the app runs, and no route's
# schema can describe that; at 150 cases an operation those 400s were its only failures.
CHECKS = (not_a_server_error, status_code_conformance, response_headers_conformance, response_schema_conformance,
          ignored_auth, negative_data_rejection_as_sent)  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], str]]:
    """The app on a real uvicorn on loopback: (its OpenAPI document, its base URL)."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    clips = write_audio_labels(tmp / "datasets" / "clips")  # a layout registration recognises
    config = Settings(
        database_url=f"sqlite:///{tmp / 'fuzz.db'}",
        broker_url="memory://",
        object_dir=tmp / "objects",
        dataset_roots=[tmp / "datasets"],
        max_upload_bytes=1 << 16,
        max_active_jobs_per_owner=100_000,  # the fuzzers queue many jobs no worker takes; the limit has its own tests
        events_poll_seconds=0.1,
        events_max_seconds=0.5,  # no worker runs: a real job's event stream would last until this timeout
    )
    upgrade(config.database_url)
    with session_scope(config.database_url) as session:
        AUTH["Authorization"] = f"Bearer {create_token(session, name=f'fuzz-{uuid.uuid4().hex[:6]}')}"
    DATASET["path"] = str(clips)
    app = create_app(config)
    app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: None  # no broker: record nothing
    # A real server on loopback: schemathesis' in-process ASGI client leaks streams on every call.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield app.openapi(), f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def as_openapi30(value: Any) -> Any:
    """`value` with 3.1's numeric exclusive bounds in 3.0's spelling (`minimum` + `exclusiveMinimum: true`)."""
    # schemathesis 3's negative mutations read a 3.1 `exclusiveMinimum: 0` the 3.0 way and fail (KeyError 'minimum').
    if isinstance(value, list):
        return [as_openapi30(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: as_openapi30(item) for key, item in value.items()}
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        limit = out.get(bound)
        if isinstance(limit, int | float) and not isinstance(limit, bool) and plain not in out:
            out[plain], out[bound] = limit, True
    return out


def load(document: dict[str, Any], base_url: str, *methods: DataGenerationMethod) -> BaseSchema:
    """The schemathesis schema of `document`."""
    # FastAPI emits OpenAPI 3.1; schemathesis 3 checks it with its 3.0 rules (close enough for these checks).
    return schemathesis.from_dict(
        as_openapi30(document), base_url=base_url, force_schema_version="30", data_generation_methods=list(methods)
    )


@pytest.fixture(scope="module")
def fuzz_app(fuzz_server: tuple[dict[str, Any], str]) -> BaseSchema:
    """The schema for the per-operation test: positive and negative cases."""
    return load(*fuzz_server, DataGenerationMethod.positive, DataGenerationMethod.negative)


with warnings.catch_warnings():
    # schemathesis 3.39 warns about its own default filtration arguments here.
    warnings.simplefilter("ignore", DeprecationWarning)
    schema = schemathesis.from_pytest_fixture("fuzz_app")


@schema.parametrize()
@settings(max_examples=FUZZ_CASES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_schema_conformance(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=30)


def workflow(schema: BaseSchema) -> type[APIStateMachine]:
    """The state machine of the schema's links, every sequence starting from a created job, data set and sweep."""
    catch_all: Bundle[StepResult] = Bundle("catch_all")  # hypothesis stores a rule's result only if it has a target

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        """Each call with the token in its headers, checked with CHECKS (and use_after_free, which step adds)."""

        # Random creations rarely pass the services' own checks (a real folder, a valid space), so each sequence
        # starts from valid ones, made through the API and checked like any other call.
        @initialize(target=catch_all)
        def create_job(self) -> StepResult:
            """POST /jobs with a valid synthetic training job."""
            return self.create("/api/v1/jobs", JOB)

        @initialize(target=catch_all)
        def register_dataset(self) -> StepResult:
            """POST /datasets with a folder under the allowed root."""
            return self.create("/api/v1/datasets", DATASET)

        @initialize(target=catch_all)
        def submit_sweep(self) -> StepResult:
            """POST /sweeps with a valid grid."""
            return self.create("/api/v1/sweeps", SWEEP)

        def create(self, path: str, body: dict[str, Any]) -> StepResult:
            """The checked result of a valid creation (a 202 whose id the links hand on)."""
            # Empty headers, not None: ignored_auth puts an invalid token into them when it replays the call.
            case = self.schema[path]["POST"].make_case(body=body, media_type="application/json", headers={})
            result = self.step(case)
            assert result is not None and result.response.status_code == 202, result and result.response.text
            return result

        def _add_results_to_targets(self, targets: tuple[str, ...], results: list[Any]) -> None:
            # schemathesis 3 routes each result to the bundle of its links by overriding _add_result_to_targets,
            # which this hypothesis no longer calls: every result then landed in catch_all, the entry rules'
            # precondition (no bundle filled) turned false and no link rule could run ("No progress can be made").
            for result in results:
                target = self._get_target_for_result(result)
                if target is not None:
                    super()._add_results_to_targets((target,), [result])

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            """The token and a timeout for each call (fresh: ignored_auth replays with a copy minus the token)."""
            return {"headers": dict(AUTH), "timeout": 30}

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: tuple[Any, ...] = ()
        ) -> None:
            """CHECKS; `headers` tells ignored_auth the token was ours (explicit), so it replays without it."""
            case.validate_response(
                response,
                checks=CHECKS,
                additional_checks=additional_checks,
                headers=AUTH,
                transport_kwargs=self._transport_kwargs,
            )

    return Workflow


def test_stateful_links(fuzz_server: tuple[dict[str, Any], str]) -> None:
    """Sequences that follow the links: a created job, data set and sweep, then their operations with those ids."""
    # Positive data only: the linked operations take nothing but the path id, which the link replaces, so a negative
    # case would be a valid call that negative_data_rejection then flags; the per-operation test covers bad input.
    machine = workflow(load(*fuzz_server, DataGenerationMethod.positive))
    machine.run(
        settings=settings(
            max_examples=STATEFUL_SEQUENCES,
            stateful_step_count=8,  # the three creations, then up to five linked calls
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
