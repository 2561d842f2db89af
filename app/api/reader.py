"""Read routes' one helper: authenticate and read in one read-only session, in one thread-pool call.

A read route is `async` and awaits `reader(lambda session, owner: ...)`, where the function returns the response
model built inside the session. Against sync routes with a yield-session dependency and a sync owner dependency
this saves a session and four thread-pool hops per request, and no pooled connection is held while the request
waits for anything else: the session is opened, used and closed within the one worker-thread call, so a
cancelled or disconnected request cannot leave a connection checked out, and a request that holds one never
queues for a thread-pool slot (the yield dependency's session stayed checked out while FastAPI validated the
response in another pool thread: with every thread waiting on the connection pool, that could wedge the server
until pool_timeout).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.api.auth import Credentials
from app.api.deps import CredentialsDep
from app.db import session_scope

T = TypeVar("T")
Read = Callable[[Session, str], T]


@dataclass(frozen=True)
class Reader:
    """Runs read functions for the request's caller: each call re-checks the credentials (revocation is immediate)."""

    credentials: Credentials

    async def __call__(self, read: Read[T]) -> T:
        """read(session, owner) in a worker thread, in one read-only session that also authenticates."""
        return await run_in_threadpool(self.run, read)

    def run(self, read: Read[T]) -> T:
        """The blocking part of __call__: the session is closed before this returns."""
        url = self.credentials.settings.database_url
        with session_scope(url, read_only=True) as session:
            caller = self.credentials.identify(session)
            result = read(session, caller.owner)
        # After the read session closed: the (rare) write never waits inside a read transaction.
        caller.record_use(url)
        return result


async def get_reader(credentials: CredentialsDep) -> Reader:
    """The request's Reader (async: headers only, no thread-pool hop)."""
    return Reader(credentials)


ReaderDep = Annotated[Reader, Depends(get_reader)]
