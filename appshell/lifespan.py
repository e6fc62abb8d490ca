"""The ASGI lifespan protocol, as a server speaks it: startup once, shutdown once.

A shell on an ASGI app is the app's server for as long as the session lasts: it calls the app
with a ``lifespan`` scope on the session's loop, sends ``lifespan.startup`` before the first
statement and ``lifespan.shutdown`` when the session ends, and waits for the app's answer to
each. The ``state`` dict of the scope is what the app stored at startup (FastAPI's and
Starlette's ``lifespan`` yield it); every request the shell makes gets a shallow copy of it.

An app that does not speak the protocol is fine, as the ASGI spec says: one that returns, or
raises before it has read its first message, is run without a lifespan. An app that read
``lifespan.startup`` and then raised, or answered ``lifespan.startup.failed``, failed its
startup: that is the user's code failing.
"""

from __future__ import annotations

import typing as t

from .exceptions import AppShellError, format_user_exception

if t.TYPE_CHECKING:
    import asyncio

    from .clients import LazyClient

__all__ = ["AsyncParts", "Lifespan", "LifespanFailed"]

Message = dict[str, t.Any]

# How long an app that answered a shutdown may take to return before it is cancelled.
_RETURN_GRACE = 5.0


class LifespanFailed(AppShellError):
    """The app's lifespan startup or shutdown failed (exit 1).

    Shown as the app's own traceback when the app raised, else as the message the app sent
    with ``lifespan.startup.failed`` / ``lifespan.shutdown.failed``.

    :param phase: ``"startup"`` or ``"shutdown"``.
    :param message: the app's message (may be empty).
    :param original: the exception the app raised, if it raised one.
    """

    def __init__(self, phase: str, message: str, original: BaseException | None = None) -> None:
        # A framework that runs the app's hooks in a task group (Litestar, through anyio)
        # raises the one error of a hook wrapped in a group: the error is the hook's.
        while isinstance(original, BaseExceptionGroup) and len(original.exceptions) == 1:
            original = original.exceptions[0]
        if original is not None:
            # The app's own message may be a whole traceback (Starlette sends one).
            message = f"{type(original).__name__}: {original}"
        said = f": {message.strip()}" if message.strip() else " (the app gave no message)."
        super().__init__(f"The app's lifespan {phase} failed{said}")
        self.phase = phase
        self.original = original

    def traceback_text(self) -> str:
        """The app's traceback, from its first frame outside libraries; '' if it raised none."""
        if self.original is None:
            return ""
        from .shell.session import from_app_frame

        error = self.original
        error.__suppress_context__ = True
        return format_user_exception(error.with_traceback(from_app_frame(error.__traceback__)))

    def show(self, file: t.IO[t.Any] | None = None) -> None:
        import sys

        text = self.traceback_text()
        if not text:
            super().show(file)
            return
        out = file if file is not None else sys.stderr
        out.write(text)
        out.flush()

    def _render_traceback_(self) -> list[str]:
        text = self.traceback_text()
        return text.rstrip("\n").splitlines() if text else super()._render_traceback_()


class Lifespan:
    """The lifespan of one ASGI ``app``, run on the loop that :meth:`startup` is awaited on.

    :meth:`startup` and :meth:`shutdown` are each awaited at most once, in that order.
    ``supported`` says, after startup, whether the app speaks the protocol; ``state`` is the
    scope's state dict the app filled.
    """

    def __init__(self, app: t.Callable[..., t.Awaitable[None]]) -> None:
        self.app = app
        self.state: dict[str, t.Any] = {}
        self.supported = False
        self.started = False
        self._task: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Message] | None = None  # what the app receives
        self._outbox: asyncio.Queue[Message] | None = None  # what the app sent
        self._has_read = False

    async def _receive(self) -> Message:
        assert self._inbox is not None
        message = await self._inbox.get()
        self._has_read = True
        return message

    async def _send(self, message: Message) -> None:
        assert self._outbox is not None
        await self._outbox.put(message)

    async def startup(self) -> None:
        """Call the app with a lifespan scope and wait for its answer to the startup.

        :raises LifespanFailed: the app answered ``lifespan.startup.failed``, or raised
            after reading ``lifespan.startup``.
        """
        import asyncio

        self._inbox, self._outbox = asyncio.Queue(), asyncio.Queue()
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._task = asyncio.ensure_future(self.app(scope, self._receive, self._send))
        await self._inbox.put({"type": "lifespan.startup"})
        try:
            answer = await self._answer()
        except asyncio.CancelledError:
            # The session ends before the app started (Ctrl-C, SIGTERM): the app's call
            # ends with it, rather than be named as a task left running.
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=_RETURN_GRACE)
            raise
        if answer is None:
            error = self._app_error()
            if error is not None and self._has_read:
                raise LifespanFailed("startup", str(error), error)
            return  # returned, or refused the scope: no lifespan, as the spec allows
        self.supported = True
        kind = answer.get("type")
        if kind == "lifespan.startup.failed":
            raise LifespanFailed("startup", str(answer.get("message", "")), await self._ended())
        if kind != "lifespan.startup.complete":
            raise LifespanFailed("startup", f"the app answered the startup with {kind!r}")
        self.started = True

    async def shutdown(self) -> None:
        """Send the shutdown (if the startup completed) and wait for the app to finish it.

        :raises LifespanFailed: the app answered ``lifespan.shutdown.failed``, or raised.
        """
        task = self._task
        if not self.started or task is None:
            return
        self.started = False
        assert self._inbox is not None
        answer: Message | None = None
        if not task.done():
            await self._inbox.put({"type": "lifespan.shutdown"})
            answer = await self._answer()
        kind = answer.get("type") if answer is not None else None
        error = await self._ended()
        if kind == "lifespan.shutdown.failed" or error is not None:
            message = str(answer.get("message", "")) if answer is not None else str(error)
            raise LifespanFailed("shutdown", message, error)

    async def _answer(self) -> Message | None:
        """The app's next message, or None if the app's call ended first."""
        import asyncio

        assert self._task is not None
        assert self._outbox is not None
        if self._outbox.empty() and not self._task.done():
            reading = asyncio.ensure_future(self._outbox.get())
            try:
                await asyncio.wait({reading, self._task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not reading.done():
                    reading.cancel()
            if reading.done() and not reading.cancelled():
                return reading.result()
        return self._outbox.get_nowait() if not self._outbox.empty() else None

    async def _ended(self) -> BaseException | None:
        """Give the app's call a moment to return (cancel it after that); what it raised."""
        import asyncio

        task = self._task
        assert task is not None
        if not task.done():
            await asyncio.wait({task}, timeout=_RETURN_GRACE)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        return self._app_error()

    def _app_error(self) -> BaseException | None:
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()


class AsyncParts:
    """What a session keeps open on its loop for an app: the lifespan (ASGI apps), the app
    context entered on the loop (Quart's), and ``client``.

    :param adapter: the app's adapter.
    :param lifespan: run the app's lifespan (False: ``--no-lifespan``).
    """

    def __init__(self, adapter: t.Any, *, lifespan: bool = True) -> None:
        self.adapter = adapter
        target = adapter.lifespan_app() if lifespan else None
        self.lifespan = Lifespan(target) if target is not None else None
        self._entering: t.AsyncContextManager[t.Any] | None = adapter.async_app_context()
        self.context: t.AsyncContextManager[t.Any] | None = None
        self.client: LazyClient | None = None

    def entering(self) -> t.Coroutine[t.Any, t.Any, None] | None:
        """What starting the app awaits: the lifespan startup, then the app context entered
        (None: the app has neither, and needs no loop). The session runs it on its loop in
        its own context, so that the context variables it sets are there for every
        statement; :meth:`defaults` comes after it.

        Awaiting it raises :class:`LifespanFailed` when the startup failed.
        """
        if self.lifespan is None and self._entering is None:
            return None
        return self._enter()

    async def _enter(self) -> None:
        if self.lifespan is not None:
            await self.lifespan.startup()
        context, self._entering = self._entering, None
        if context is not None:
            await context.__aenter__()
            self.context = context

    def defaults(self) -> dict[str, t.Any]:
        """The default names that come with the started app: ``client``, and the
        lifespan's ``state`` if the app has one."""
        from .clients import LazyClient, make_client

        names: dict[str, t.Any] = {}
        state: dict[str, t.Any] | None = None
        if self.lifespan is not None and self.lifespan.supported:
            state = names["state"] = self.lifespan.state
        adapter = self.adapter
        self.client = LazyClient(lambda: make_client(adapter, state))
        return {"client": self.client, **names}

    def leaving(
        self, report: t.Callable[[BaseException], None]
    ) -> t.Coroutine[t.Any, t.Any, bool] | None:
        """What stopping the app awaits (None: nothing): the client closed, the app context
        left, the shutdown run, in the reverse order of starting, each even if one before it
        raised. It returns False if one raised (each failure is given to ``report``)."""
        steps = self._exits()
        return self._leave(steps, report) if steps else None

    def _exits(self) -> list[t.Callable[[], t.Awaitable[t.Any]]]:
        steps: list[t.Callable[[], t.Awaitable[t.Any]]] = []
        made = self.client.made if self.client is not None else None
        if made is not None and hasattr(made, "aclose"):
            steps.append(made.aclose)
        context, self.context = self.context, None
        if context is not None:
            steps.append(lambda: context.__aexit__(None, None, None))
        if self.lifespan is not None:
            steps.append(self.lifespan.shutdown)
        return steps

    @staticmethod
    async def _leave(
        steps: list[t.Callable[[], t.Awaitable[t.Any]]], report: t.Callable[[BaseException], None]
    ) -> bool:
        clean = True
        for step in steps:
            try:
                await step()
            except Exception as e:
                report(e)
                clean = False
        return clean
