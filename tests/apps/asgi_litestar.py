"""A Litestar app with two handlers on one path, a router and a websocket."""

from litestar import Litestar, Router, WebSocket, get, post, websocket


@get("/")
async def index() -> str:
    return "index"


@get("/books/{book_id:int}", name="book")
async def read_book(book_id: int) -> dict[str, int]:
    return {"id": book_id}


@post("/books/{book_id:int}")
async def update_book(book_id: int) -> dict[str, int]:
    return {"id": book_id}


@websocket("/live")
async def live(socket: WebSocket) -> None:
    await socket.accept()


app = Litestar([index, Router("/api", route_handlers=[read_book, update_book]), live])
