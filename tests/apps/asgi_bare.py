"""A bare ASGI callable and, beside it, async callables that only look like ASGI apps."""


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"bare"})


async def two_args(scope, receive):  # type: ignore[no-untyped-def]
    pass


class Handler:
    async def __call__(self, scope):  # type: ignore[no-untyped-def]
        pass


handler = Handler()
