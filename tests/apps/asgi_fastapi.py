"""A FastAPI app with a router included under a prefix, a websocket and a mounted sub-app."""

from fastapi import APIRouter, FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
items = APIRouter(prefix="/items")


@items.get("/{item_id}", name="read-item")
async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@items.post("/")
async def create_item() -> dict[str, str]:
    return {}


@app.websocket("/ws")
async def feed(websocket: WebSocket) -> None:
    await websocket.accept()


async def legacy_index(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("legacy")


app.include_router(items, prefix="/v1")
app.mount("/legacy", Starlette(routes=[Route("/", legacy_index)]), name="legacy")
