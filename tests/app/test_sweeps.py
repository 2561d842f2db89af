"""/sweeps in process: bad input is a 422 naming the fix, owners are isolated, cancel, and a whole grid sweep run
by the real worker code (batch jobs, then the best trial as a train job whose bundle downloads)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from app.db import Job, session_scope
from tests.app.conftest import Api
from tests.fixtures.audio_sets import write_audio_labels

TINY = {"epochs": 2, "synthetic_samples": 64, "batch_size": 16, "early_stopping_patience": 0}
GRID = {"lr": {"grid": [0.001, 0.01]}, "weight_decay": {"grid": [0.0, 0.1]}}
MODEL = "groove_predictor"


def sweep_body(**changes: Any) -> dict[str, Any]:
    """A 4-trial grid sweep in two batches on synthetic data."""
    body = {"model": MODEL, "synthetic": True, "params": TINY, "space": GRID, "strategy": "grid", "batch_size": 2}
    return {**body, **changes}


def run_queued(api: Api) -> list[str | None]:
    """Run enqueued jobs in this process (as a cpu worker would) until the queue is empty, new ones included."""
    from worker import runner

    sent: list[str] = []
    original = runner._send_again
    runner._send_again = lambda job_id, settings: sent.append(job_id)  # type: ignore[assignment]
    statuses = []
    try:
        while api.enqueued or sent:
            job_id = api.enqueued.pop(0)[0] if api.enqueued else sent.pop(0)
            statuses.append(runner.execute_job(job_id, api.settings))
    finally:
        runner._send_again = original  # type: ignore[assignment]
    return statuses


BAD = [
    ({"space": {}}, "the search space is empty"),
    ({"space": {"lr": {"low": 0.1, "high": 0.01}}, "strategy": "random", "trials": 2}, "empty or inverted"),
    ({"space": {"lr": {"low": 0.01, "high": 0.01}}, "strategy": "random", "trials": 2}, "empty or inverted"),
    ({"space": {"bogus": {"grid": [1, 2]}}}, "unknown search parameter 'bogus'"),
    ({"trials": 5}, "5 trials asked but the grid has only 4 points"),
    ({"space": {"weight_decay": {"low": 0.0, "high": 0.1, "log": True}}, "strategy": "tpe", "trials": 2},
     "a log range needs low > 0"),
    ({"space": {"lr": {"low": 1e-4, "high": 1e-2}}}, "the grid strategy needs a grid or choices"),
    ({"space": {"fc1": {"grid": [0, 8]}}}, "fc1"),
    ({"params": {"epochs": 0}}, "params.epochs"),
    ({"space": {"epochs": {"grid": [2, 999]}}}, "epochs must be at most 500"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_sweeps_are_422_with_the_message(api: Api, changes: dict[str, Any], message: str) -> None:
    response = api.client.post("/api/v1/sweeps", json=sweep_body(**changes), headers=api.token("alice"))
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert api.enqueued == []


def test_another_owners_sweep_is_404_and_cancel_ends_a_queued_sweep(api: Api) -> None:
    alice, bob = api.token("alice"), api.token("bob")
    created = api.client.post("/api/v1/sweeps", json=sweep_body(), headers=alice)
    assert created.status_code == 202, created.text
    sweep = created.json()
    assert (sweep["status"], sweep["trial_count"], sweep["batch_size"], len(sweep["batches"])) == ("queued", 4, 2, 2)
    assert [queue for _, queue in api.enqueued] == ["cpu", "cpu"]
    for method, path in (("get", ""), ("post", "/cancel"), ("post", "/retrain")):
        assert api.client.request(method, f"/api/v1/sweeps/{sweep['id']}{path}", headers=bob).status_code == 404
    assert api.client.get("/api/v1/sweeps", headers=bob).json() == {"data": [], "count": 0}
    listed = api.client.get("/api/v1/sweeps", headers=alice).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == sweep["id"]
    cancelled = api.client.post(f"/api/v1/sweeps/{sweep['id']}/cancel", headers=alice)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert {b["status"] for b in cancelled.json()["batches"]} == {"cancelled"}
    assert run_queued(api) == [None, None]  # cancelled batch jobs are not claimed
    assert api.client.post(f"/api/v1/sweeps/{sweep['id']}/cancel", headers=alice).status_code == 409


def test_a_dataset_still_validating_is_409(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    registered = api.client.post("/api/v1/datasets", json={"name": "m", "path": str(folder)}, headers=alice)
    body = sweep_body(synthetic=False, dataset_id=registered.json()["id"], model="emotion_recognizer")
    response = api.client.post("/api/v1/sweeps", json=body, headers=alice)
    assert response.status_code == 409 and "still validating" in response.json()["detail"]


def test_a_grid_sweep_runs_in_batches_and_its_best_trial_is_a_train_job_with_a_bundle(api: Api) -> None:
    alice = api.token("alice")
    sweep_id = api.client.post("/api/v1/sweeps", json=sweep_body(), headers=alice).json()["id"]
    assert run_queued(api) == ["succeeded", "succeeded", "succeeded"]  # two batches, then the best trial's job
    sweep = api.client.get(f"/api/v1/sweeps/{sweep_id}", headers=alice).json()
    assert sweep["status"] == "succeeded", sweep["error"]
    trials = sweep["trials"]
    assert sorted(tuple(sorted(t["params"].items())) for t in trials) == sorted(
        (("lr", lr), ("weight_decay", wd)) for lr in (0.001, 0.01) for wd in (0.0, 0.1)
    )
    assert {(t["status"], t["epochs"]) for t in trials} == {("complete", 2)}
    assert [len(b["trials"]) for b in sweep["batches"]] == [2, 2]
    best = min(trials, key=lambda t: (t["objective"], t["number"]))
    assert sweep["best"]["number"] == best["number"]
    job = api.client.get(f"/api/v1/jobs/{sweep['best_job_id']}", headers=alice).json()
    assert (job["type"], job["status"]) == ("train", "succeeded")
    assert job["params"]["lr"] == best["params"]["lr"] and job["result"]["models"][MODEL]["epochs_run"] == 2
    metrics = api.client.get(f"/api/v1/jobs/{sweep['best_job_id']}/metrics", headers=alice).json()
    assert [m["epoch"] for m in metrics] == [1, 2]  # the trial's curve, re-inserted from its checkpoint
    bundle = api.client.get(f"/api/v1/jobs/{sweep['best_job_id']}/bundle", headers=alice)
    assert bundle.status_code == 200, bundle.text
    assert f"models/{MODEL}.json" in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    retrain = api.client.post(f"/api/v1/sweeps/{sweep_id}/retrain", headers=alice)
    assert retrain.status_code == 202, retrain.text
    params = retrain.json()["params"]
    assert (params["epochs"], params["early_stopping_patience"], params["val_split"]) == (best["best_epoch"], 0, 0.05)
    with session_scope(api.settings.database_url) as session:
        assert session.get(Job, retrain.json()["id"]).sweep_id is None  # type: ignore[union-attr]


def test_cancel_of_a_running_sweep_waits_for_its_running_batch(api: Api) -> None:
    from app import jobstate, sweepstate

    alice = api.token("alice")
    sweep = api.client.post("/api/v1/sweeps", json=sweep_body(), headers=alice).json()
    running, queued = (b["job_id"] for b in sweep["batches"])
    with session_scope(api.settings.database_url) as session:
        attempt = jobstate.claim(session, job_id=running, lease_owner="test:1", lease_seconds=60)
    cancelling = api.client.post(f"/api/v1/sweeps/{sweep['id']}/cancel", headers=alice).json()
    assert (cancelling["status"], cancelling["cancel_requested"]) == ("queued", True)
    assert [b["status"] for b in cancelling["batches"]] == ["running", "cancelled"]
    with session_scope(api.settings.database_url) as session:
        assert session.get(Job, running).cancel_requested  # type: ignore[union-attr]
        assert attempt is not None and jobstate.finish(session, job_id=running, attempt=attempt, status="cancelled")
        assert sweepstate.advance(session, sweep_id=sweep["id"]) == []  # what the worker's finish does
    done = api.client.get(f"/api/v1/sweeps/{sweep['id']}", headers=alice).json()
    assert (done["status"], done["best_job_id"], done["error"]) == ("cancelled", None, "cancelled by request")
    assert queued
