"""A FastAPI app whose lifespan opens a database and records its startup and shutdown in
``lifespan.log`` beside this file: tests copy it into their folder and count the lines."""

import contextlib
import os

import aiosqlite
from fastapi import FastAPI, Request

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lifespan.log")


def record(what):
    with open(LOG, "a") as f:
        f.write(what + "\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    async with aiosqlite.connect(":memory:") as db:
        await db.execute("create table items (name text)")
        await db.execute("insert into items values ('opened by the lifespan')")
        record("startup")
        yield {"db": db, "items": ["opened by the lifespan"]}
        record("shutdown")


app = FastAPI(lifespan=lifespan)


@app.get("/items")
async def items(request: Request):
    async with request.state.db.execute("select name from items") as rows:
        return [name for (name,) in await rows.fetchall()]


@app.get("/answer")
async def answer():
    return {"answer": 42}
