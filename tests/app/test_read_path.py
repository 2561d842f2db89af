"""The read routes' fast path: one thread-pool call per request, no pooled connection held across a wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import select

from app.db import ApiToken, session_scope
from app.db import session as db_session
from app.services.tokens import hash_token, revoke_token
from app.web import auth as web_auth
from tests.app.conftest import Api

TRAIN = {"type": "train", "model": "dynamics_engine", "synthetic": True, "params": {"epochs": 1}}


def _job(api: Api, headers: dict[str, str]) -> str:
    response = api.client.post("/api/v1/jobs", json=TRAIN, headers=headers)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _get_all(api: Api, paths: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=30) as client:
        return list(await asyncio.gather(*(client.get(path) for path in paths)))


def _read_paths(job_id: str, dataset_id: str) -> list[str]:
    return [f"/api/v1/jobs/{job_id}", "/api/v1/jobs", f"/api/v1/jobs/{job_id}/metrics",
            f"/api/v1/jobs/{job_id}/artifacts", f"/api/v1/datasets/{dataset_id}", "/api/v1/datasets"]  # fmt: skip


def test_each_read_is_one_thread_pool_call(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = api.token("alice")
    job_id = _job(api, headers)
    folder = api.settings.dataset_roots[0] / "clips"
    folder.mkdir()
    (folder / "labels.csv").write_text("filename,valence,arousal\nmissing.wav,0.1,0.2\n")
    registered = api.client.post(
        "/api/v1/datasets", json={"name": "clips", "path": str(folder), "format": "audio-labels"}, headers=headers
    )
    assert registered.status_code == 202, registered.text
    dataset_id = registered.json()["id"]
    calls: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        target = getattr(func, "func", func)  # run_in_threadpool passes a functools.partial
        calls.append(getattr(target, "__qualname__", repr(target)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    for path in _read_paths(job_id, dataset_id):
        calls.clear()
        (response,) = asyncio.run(_get_all(api, [path], headers))
        assert response.status_code == 200, (path, response.text)
        assert calls == ["Reader.run"], (path, calls)


def test_reads_do_not_wedge_a_one_connection_pool(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """One pool thread and one pooled connection, 30 concurrent reads: each finishes (none waits out pool_timeout).

    With a sync route and a yield-session dependency, a request kept its connection while it queued for a pool thread
    to validate its response, and the pool thread was taken by a request waiting for that connection.
    """
    headers = api.token("alice")
    job_id = _job(api, headers)
    url = api.settings.database_url
    monkeypatch.setitem(
        db_session._ENGINES, url, db_session.make_engine(url, pool_size=1, max_overflow=0, pool_timeout=5)
    )
    monkeypatch.setattr(db_session, "_FACTORIES", {})

    async def main() -> list[httpx.Response]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        return await _get_all(api, [f"/api/v1/jobs/{job_id}", "/api/v1/jobs"] * 15, headers)

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 30
    assert db_session._ENGINES[url].pool.checkedout() == 0  # type: ignore[attr-defined]
    db_session._ENGINES[url].dispose()


def test_reads_check_credentials_on_every_request(api: Api) -> None:
    """Owner isolation, immediate revocation and the dashboard cookie (GET only) hold on the combined read."""
    alice, bob = api.token("alice"), api.token("bob")
    job_id = _job(api, alice)
    assert api.client.get(f"/api/v1/jobs/{job_id}", headers=bob).status_code == 404
    assert api.client.get(f"/api/v1/jobs/{job_id}").status_code == 401
    assert api.client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": "Bearer nope"}).status_code == 401
    bad_cookie = {"Cookie": f"{web_auth.COOKIE_NAME}=bad.cookie"}
    assert api.client.get(f"/api/v1/jobs/{job_id}", headers=bad_cookie).status_code == 401
    token = alice["Authorization"].removeprefix("Bearer ")
    with session_scope(api.settings.database_url) as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        cookie = {"Cookie": f"{web_auth.COOKIE_NAME}={web_auth.make_cookie(api.settings, row)}"}
    assert api.client.get(f"/api/v1/jobs/{job_id}", headers=cookie).status_code == 200
    assert api.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=cookie).status_code == 401  # GET only
    with session_scope(api.settings.database_url) as session:
        revoke_token(session, name=row.name)
    for credentials in (alice, cookie):
        assert api.client.get(f"/api/v1/jobs/{job_id}", headers=credentials).status_code == 401
