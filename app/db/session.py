"""Engine and session factory: SQLite in WAL mode with immediate write transactions, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout waits instead of failing on a locked database.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Take over transaction control: pysqlite's implicit BEGIN would start a deferred transaction that can
    # deadlock when two connections both upgrade from read to write.
    dbapi_connection.isolation_level = None


READ_ONLY = "mltrain_read_only"


def _sqlite_begin(connection: Any) -> None:
    # Write transactions take the write lock up front (IMMEDIATE): two writers then queue on busy_timeout instead
    # of deadlocking on a read->write upgrade. Read-only sessions (session_factory(url, read_only=True)) start a
    # deferred transaction, so under WAL they run beside a writer without waiting for it.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# More connections than the API's thread pool has threads (anyio's default: 40). A sync route whose session
# dependency holds a connection still needs a pool thread to finish (FastAPI validates the response in another
# thread-pool call); with fewer connections than threads, a burst could park every thread waiting for a
# connection while the holders wait for a thread: frozen until the pool timeout. With more, no thread waits.
POOL = {"pool_size": 10, "max_overflow": 35}


def make_engine(url: str, **pool: Any) -> Engine:
    """Create an engine for `url` with the right per-dialect settings; `pool` overrides the pool's sizing (tests)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **{**POOL, **pool})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, **{"pool_pre_ping": True, **POOL, **pool})


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


_FACTORIES: dict[tuple[str, bool], sessionmaker[Session]] = {}


def session_factory(url: str, *, read_only: bool = False) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine of `url`; read_only sessions must not write (SQLite: deferred BEGIN).

    One per (url, read_only) per process: building a sessionmaker and an execution-options engine wrapper makes
    SQLAlchemy set up its events again, which was a fifth of an API request's time.
    """
    key = (url, read_only)
    if key not in _FACTORIES:
        engine = get_engine(url)
        bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
        _FACTORIES[key] = sessionmaker(bind=bind, expire_on_commit=False)
    return _FACTORIES[key]


@contextmanager
def session_scope(url: str, *, read_only: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(url, read_only=read_only)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Forget pooled connections inherited through fork (each worker process opens its own)."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
