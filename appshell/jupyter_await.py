"""Awaited attaches in IPython and Jupyter: ASGI apps, whose lifespan runs on the kernel's loop.

A cell runs inside the kernel's running event loop, so a magic cannot wait for a coroutine.
:class:`AwaitTransformer`, an input transformer the extension registers on load (and removes
on unload), turns the lines that have to wait into awaited calls before IPython compiles the
cell: ``%appshell`` lines that attach an ASGI app, or detach or replace one attached that way,
``%unload_ext appshell`` while one is attached, and ``%%appshell_request`` cells of an app whose
test request is entered on the loop (Quart's). Flask and other WSGI apps stay plain magics.
Either way the app context is pushed in the session's context, where every later cell runs.
:func:`attach` and :func:`detach` are the same for code (``await appshell.attach("main:app")``).
"""

from __future__ import annotations

import contextlib
import re
import typing as t

from .exceptions import MagicError

if t.TYPE_CHECKING:
    from .jupyter import Notebook, Summary

__all__ = [
    "AwaitTransformer",
    "attach",
    "detach",
    "magic_async",
    "request_async",
    "shell_loop",
    "unload_async",
]

_MAGIC = re.compile(r"(?P<indent>\s*)%appshell(?:\s+(?P<args>.*?))?\s*")
_REQUEST = re.compile(r"%%appshell_request(?:[ \t]+(?P<args>.*?))?\s*")
_UNLOAD = re.compile(r"(?P<indent>\s*)%unload_ext\s+appshell\s*")
_CALL = 'await __import__("appshell.jupyter_await", fromlist=["_"]).{0}(get_ipython(), {1!r})'


def _request_call(args: str, body: list[str]) -> str:
    """A ``%%appshell_request ARGS`` cell as one awaited call, its body a string literal of
    one line per line of the cell (a syntax error in it shows when the body runs)."""
    literal = "".join(f"    {line!r}\n" for line in body)
    call = _CALL.format("request_async", args)
    return f"{call[:-1]}, (\n{literal}    ''\n))\n"


def shell_loop(shell: t.Any) -> t.Any:
    """The event loop ``shell``'s cells run on (running or not).

    A kernel (ipykernel's shell has a ``kernel``) runs its cells on the loop set for its
    main thread, which it starts once it has loaded its extensions; a terminal IPython
    awaits on a loop of its own.
    """
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if getattr(shell, "kernel", None) is not None:
        import warnings

        with warnings.catch_warnings(), contextlib.suppress(RuntimeError, DeprecationWarning):
            # Python 3.12 warns (3.14 raises) only when no loop was set: then none was made.
            warnings.simplefilter("error", DeprecationWarning)
            return asyncio.get_event_loop()
    from IPython.core.async_helpers import get_asyncio_loop

    return get_asyncio_loop()  # type: ignore[no-untyped-call]


class AwaitTransformer:
    """The cleanup input transformer: rewrites the lines that attach or detach by awaiting.

    It never raises: a line it cannot judge (bad options, an app that does not load) is
    left to the magic, which reports it.
    """

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook

    def __call__(self, lines: list[str]) -> list[str]:
        if not getattr(self.notebook.shell, "autoawait", True):
            return lines
        request = _REQUEST.fullmatch(lines[0].rstrip("\r\n")) if lines else None
        if request is not None and self._request_awaits():
            return [_request_call(request["args"] or "", lines[1:])]
        return [self._rewrite(line) for line in lines]

    def _request_awaits(self) -> bool:
        from .shell.magics import request_awaits

        try:
            return request_awaits(self.notebook)
        except Exception:
            return False  # the magic itself reports what is wrong

    def _rewrite(self, line: str) -> str:
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        magic = _MAGIC.fullmatch(body)
        if magic is not None and self._awaits(magic["args"] or ""):
            return magic["indent"] + _CALL.format("magic_async", magic["args"] or "") + end
        unload = _UNLOAD.fullmatch(body)
        if unload is not None and self.notebook.awaited():
            return unload["indent"] + _CALL.format("unload_async", "") + end
        return line

    def _awaits(self, args: str) -> bool:
        from .shell.magics import parse_options

        notebook = self.notebook
        try:
            detach, request = parse_options(args)
            if detach or (not args.strip() and notebook.attachment is not None):
                return notebook.awaited()
            if notebook.awaited():
                return True  # replacing an app attached by awaiting
            session = notebook.session_for(request)
        except (Exception, SystemExit):
            return False
        notebook.loaded = (request, session.info)
        return session.opening_awaits()


async def magic_async(shell: t.Any, line: str) -> t.Any:
    """``%appshell LINE`` as an awaited call (what :class:`AwaitTransformer` writes)."""
    from .shell.magics import parse_options

    notebook = _notebook(shell)
    detach, request = parse_options(line)
    if detach:
        print(await notebook.adetach(say=True))
        return None
    if not line.strip() and notebook.attachment is not None:
        return notebook.status()
    return await notebook.aattach(request)


async def unload_async(shell: t.Any, _line: str = "") -> None:
    """``%unload_ext appshell`` as an awaited call: detach by awaiting, then unload."""
    await _notebook(shell).adetach(say=False)
    shell.extension_manager.unload_extension("appshell")


async def request_async(shell: t.Any, line: str, cell: str) -> None:
    """A ``%%appshell_request LINE`` cell as an awaited call (what :class:`AwaitTransformer`
    writes for an app whose test request is entered on the loop, Quart's)."""
    __tracebackhide__ = True  # IPython leaves this frame out of the tracebacks it shows
    from .shell import magics

    _notebook(shell)
    found = magics.installed(shell)
    assert found is not None  # _notebook found it
    await found.appshell_request_async(line, cell)


async def attach(
    app: str | None = None,
    *,
    env_file: str | None = None,
    profile: str | None = None,
    strict: bool = False,
    sandbox: bool | None = None,
    read_only: bool | None = None,
    sql: bool | None = None,
    models: bool | None = None,
) -> Summary:
    """Attach ``app`` (an import path as ``--app`` takes; None: as ``%appshell`` finds it)
    to the running IPython shell or notebook, loading the extension if it is not loaded.
    An ASGI app's lifespan startup has finished, on the kernel's loop, when it returns.
    ``sandbox``, ``read_only``, ``sql``, ``models``: as ``%appshell``'s options (None: the
    profile's).

    :raises MagicError: not inside IPython, or the app could not be loaded.
    """
    from .shell.dboptions import SessionRequest, session_keywords

    given = {"strict": strict, "sandbox": sandbox, "read_only": read_only, "sql": sql}
    options = session_keywords({**given, "models": models})
    notebook = _notebook(_shell(), load=True)
    return await notebook.aattach(SessionRequest(app, env_file, profile, options=options))


async def detach() -> None:
    """Detach the app :func:`attach` (or ``%appshell``) attached: its lifespan shutdown has
    finished when it returns."""
    print(await _notebook(_shell()).adetach(say=True))


def _shell() -> t.Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise MagicError(
            "appshell.attach() attaches an app to IPython or a notebook; outside them, use"
            " appshell shell."
        )
    return shell


def _notebook(shell: t.Any, *, load: bool = False) -> Notebook:
    from .shell import magics

    found = magics.installed(shell)
    if (found is None or found.notebook is None) and load:
        shell.extension_manager.load_extension("appshell")
        found = magics.installed(shell)
    if found is None or found.notebook is None:
        raise MagicError("appshell is not loaded: load it with %load_ext appshell.")
    return found.notebook


#: How long a kernel's shutdown waits for the detach (jupyter_client kills a kernel that
#: has not ended 5 seconds after it asked it to shut down).
SHUTDOWN_WAIT = 4.0


class KernelShutdown:
    """Detaches the app attached (its lifespan shutdown, its teardown) when the kernel is
    asked to shut down or restart, before it answers.

    The kernel handles that request on its control thread in ipykernel 6 and later: the
    detach is handed to the loop the cells run on, and waited for there at most
    :data:`SHUTDOWN_WAIT` seconds (a cell still running keeps it from starting).
    """

    def __init__(self, notebook: Notebook, kernel: t.Any, loop: t.Any) -> None:
        self.notebook = notebook
        self.kernel = kernel
        self.loop = loop
        self.original = kernel.do_shutdown

    @classmethod
    def install(cls, notebook: Notebook) -> KernelShutdown | None:
        """Watch the kernel of ``notebook``'s shell, if it is one."""
        kernel = getattr(notebook.shell, "kernel", None)
        if kernel is None or not callable(getattr(kernel, "do_shutdown", None)):
            return None
        hook = cls(notebook, kernel, shell_loop(notebook.shell))
        kernel.do_shutdown = hook.do_shutdown
        return hook

    def remove(self) -> None:
        """Give the kernel back its own ``do_shutdown`` (``%unload_ext appshell``)."""
        if vars(self.kernel).get("do_shutdown") == self.do_shutdown:
            del self.kernel.do_shutdown

    async def do_shutdown(self, restart: bool) -> t.Any:
        import inspect

        await self.detach()
        reply = self.original(restart)
        return await reply if inspect.isawaitable(reply) else reply

    async def detach(self) -> None:
        import asyncio

        from .term import warn

        if self.notebook.attachment is None:
            return
        try:
            if asyncio.get_running_loop() is self.loop:
                await asyncio.wait_for(self.notebook.adetach(say=False), SHUTDOWN_WAIT)
                return
            handed = asyncio.run_coroutine_threadsafe(self.notebook.adetach(say=False), self.loop)
            await asyncio.wait_for(asyncio.wrap_future(handed), SHUTDOWN_WAIT)
        except TimeoutError:
            warn(f"the app did not detach within {SHUTDOWN_WAIT:g} seconds of the shutdown.")
        except Exception as e:
            warn(f"the app could not be detached at the kernel's shutdown: {e}")
