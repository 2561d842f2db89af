"""The baseline for bench.service_latency: plain FastAPI + SQLAlchemy, nothing of app/ imported.

`uvicorn bench.plain_app:create_app --factory` with BENCH_PLAIN_DATABASE_URL set: GET /items/{id} reads one row by
primary key (ORM session per request, as in FastAPI's SQL tutorial); GET /const returns a constant.
"""

# No `from __future__ import annotations`: FastAPI must resolve the local get_session in the annotation.
import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))


def engine_for(url: str):  # type: ignore[no-untyped-def]
    """Same pool sizing as app.db (PostgreSQL 10 + 20 overflow); SQLite connections shared across threads."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    return create_engine(url, pool_size=10, max_overflow=20)


def create_app() -> FastAPI:
    engine = engine_for(os.environ["BENCH_PLAIN_DATABASE_URL"])
    app = FastAPI()

    def get_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    @app.get("/items/{item_id}")
    def read_item(item_id: int, session: Annotated[Session, Depends(get_session)]) -> dict[str, object]:
        item = session.get(Item, item_id)
        if item is None:
            raise HTTPException(404)
        return {"id": item.id, "name": item.name, "status": item.status}

    @app.get("/const")
    def const() -> dict[str, str]:
        return {"status": "ok"}

    return app
