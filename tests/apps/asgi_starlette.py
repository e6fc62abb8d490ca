"""A Starlette app with a class endpoint, a named mounted sub-app and a host."""

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, Router


async def homepage(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("home")


class Users(HTTPEndpoint):
    async def get(self, request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("users")

    async def post(self, request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("made")


admin = Starlette(routes=[Route("/stats", homepage, name="stats", methods=["GET", "POST"])])

application = Starlette(
    routes=[
        Route("/", homepage),
        Route("/users", Users),
        Mount("/admin", app=admin, name="admin"),
        Host("api.example.com", app=Router([Route("/status", homepage, name="status")])),
    ]
)
