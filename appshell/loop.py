"""The session's event loop: one loop and one context for every statement of a session.

:class:`SessionLoop` is what lets a statement ``await`` at a prompt or in a script and keep
its state for the next one; the REPL backends use it to keep the loop running while their
prompt waits. A session opened where a loop runs already (a Jupyter kernel's, which runs
every cell) adopts that loop instead of making one: there is never a second loop. Nothing
here imports asyncio until something awaits.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
import types
import typing as t
import weakref

from .exceptions import LoopRunning, format_user_exception

if t.TYPE_CHECKING:
    from types import CodeType

__all__ = ["GRACE", "SessionLoop", "Steps", "catch_sigterm"]

T = t.TypeVar("T")

#: Seconds a task cancelled at the session's end has to finish before it is abandoned.
GRACE = 5.0
#: Seconds from SIGTERM to the end of the process, however the session's closing goes: its
#: tasks' grace and the app's shutdown fit in it.
SIGTERM_DEADLINE = 2 * GRACE
# Seconds a SIGTERM that came while the loop ran code waits for the loop's next turn,
# before it is raised in that code itself (code that blocks the loop never gives a turn).
_NUDGE = 0.5

#: What a session does in steps (opening, closing): each coroutine the generator yields is
#: run on the session's loop and its result sent back (its error thrown back in); the
#: generator returns the value. One procedure, run here or awaited (see
#: :meth:`SessionLoop.run_steps`).
Steps = t.Generator[t.Coroutine[t.Any, t.Any, t.Any], t.Any, T]

# inspect.CO_COROUTINE, without importing inspect: set on code that awaits at top level.
_CO_COROUTINE = 0x0080

#: The session whose context this is (set in every session's context, so in its tasks').
_SESSION: contextvars.ContextVar[SessionLoop] = contextvars.ContextVar("appshell_session")
#: Set for an instant to tell whether the code running is in a session's context itself.
_PROBE: contextvars.ContextVar[object] = contextvars.ContextVar("appshell_probe")


def _copy_context(leaving_out: t.Collection[contextvars.ContextVar[t.Any]]) -> contextvars.Context:
    """A copy of the current context, without the variables ``leaving_out``."""
    copy = contextvars.copy_context()
    if not any(var in copy for var in leaving_out):
        return copy
    context = contextvars.Context()
    for var, value in copy.items():
        if var not in leaving_out:
            context.run(var.set, value)
    return context


async def _drive(steps: Steps[T], complete: t.Callable[[t.Any], t.Awaitable[t.Any]]) -> T:
    """Run ``steps``, each coroutine by ``complete``, its result or error sent back."""
    value: t.Any = None
    error: Exception | None = None
    with contextlib.closing(steps):  # Ctrl-C in a step: the generator's cleanup runs
        while True:
            try:
                step = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as done:
                result: T = done.value
                return result
            try:
                value, error = await complete(step), None
            except Exception as e:
                value, error = None, e


def _waiting(frame: types.FrameType | None) -> bool:
    """Whether ``frame``, where a signal came, is an event loop waiting for its next event
    (in the selector): else some code runs on the loop, and may be blocking it."""
    return (
        frame is not None
        and frame.f_code.co_name == "select"
        and frame.f_globals.get("__name__") == "selectors"
    )


def _is_appshell_task(task: t.Any) -> bool:
    """Whether ``task`` runs a coroutine of appshell's own or of the REPL's machinery (its
    prompt's), never named to the user."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return module.partition(".")[0] in _MACHINERY


_MACHINERY = frozenset({__name__.partition(".")[0], "IPython", "prompt_toolkit", "ptpython"})


def _current_task(loop: t.Any) -> t.Any:
    import asyncio

    return asyncio.current_task(loop) if loop.is_running() else None


class SessionLoop:
    """One event loop and one context for a whole session, so ``await`` keeps state.

    Every statement runs in the same :class:`contextvars.Context`, and a statement that
    awaits runs as a task of the same loop in that context: a context variable set by one
    statement (an app or request context pushed at the prompt) is there for the next.
    The loop itself is made the first time something awaits: asyncio is not imported for a
    session that never does.

    Between statements a REPL keeps the loop running while its prompt waits (see
    :meth:`run_while`, :meth:`threaded` and :meth:`adopt`), so tasks made at the prompt
    go on; a synchronous statement always runs with no loop running, as at a plain prompt.
    A task that fails with nobody to see it has its traceback shown once (at once while
    the prompt is idle, else when the statement ends); tasks still pending when the session
    closes are cancelled and named in one line.

    :param host: the loop the front end runs its statements on, running or not (a kernel's):
        the session adopts it. Without one, the session adopts the loop running where it
        first needs one, else makes its own. An adopted loop stays its owner's: closing the
        session cancels only the tasks the session made, and leaves the loop open.
    :param ambient: the host's context variables that belong to the statement running now
        (a kernel's: the cell its output goes to): the session's context leaves them out, so
        that what its tasks do later (a lifespan shutdown's print) goes to the statement
        running then (see :meth:`holding`).
    """

    def __init__(self, host: t.Any = None, ambient: t.Collection[t.Any] = ()) -> None:
        self.context = _copy_context(leaving_out=ambient)
        self._ambient = tuple(ambient)
        # Marks the session's context, and the copies its tasks run in.
        self.context.run(_SESSION.set, self)
        self._own: weakref.WeakSet[t.Any] = weakref.WeakSet()
        self._loop: t.Any = None
        # The loop runs in this thread while a REPL reads on the main one (python REPL).
        self._thread: t.Any = None
        self._threaded = False
        # The task of the awaited statement running now, if any.
        self._statement: t.Any = None
        self._failed: list[t.Any] = []
        #: Whether Ctrl-C cancelled the last awaited statement.
        self.interrupted = False
        #: Called by the REPLs after each statement typed at the prompt, and after a script
        #: (the session's ``sql`` line), in order.
        self.after_prompt_statement: list[t.Callable[[], None]] = []
        #: Called with the loop when the session closes it, after the pending tasks ended
        #: and before it is closed: what must still run on it (an asyncpg connection's
        #: rollback).
        self.before_close: list[t.Callable[[t.Any], None]] = []
        # A loop adopted from its owner (a kernel's): only the session's tasks are its own.
        self._borrowed = False
        self._host = host

    def prompt_statement_done(self) -> None:
        """Run the :attr:`after_prompt_statement` callbacks: what one raises is said in one
        line, never fatal to the prompt."""
        for callback in self.after_prompt_statement:
            try:
                callback()
            except Exception as e:
                from .term import warn

                warn(f"after the statement: {type(e).__name__}: {e}")

    @property
    def loop(self) -> t.Any:
        """The session's event loop: the one running here when first needed, else its own."""
        if self._loop is None:
            import asyncio

            if self._host is not None:
                self._borrow(self._host)
                return self._loop
            try:
                self._borrow(asyncio.get_running_loop())
            except RuntimeError:
                self._watch(asyncio.new_event_loop())
        return self._loop

    def call(self, function: t.Callable[..., t.Any], /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """``function(*args, **kwargs)`` in the session's context, so that the context
        variables it sets are there for every later statement. Called from code running in
        that context already (a statement run while the namespace is built), it simply calls."""
        if self.runs_here():
            return function(*args, **kwargs)
        return self.context.run(function, *args, **kwargs)

    def ambient_here(self) -> dict[contextvars.ContextVar[t.Any], t.Any]:
        """The caller's values of the ambient variables (a kernel's: those of the cell
        running now), for :meth:`holding` in the session's context."""
        missing = object()
        values = {var: var.get(missing) for var in self._ambient}
        return {var: value for var, value in values.items() if value is not missing}

    @staticmethod
    @contextlib.contextmanager
    def holding(values: dict[contextvars.ContextVar[t.Any], t.Any]) -> t.Iterator[None]:
        """Within the block, in the session's context, the ambient variables hold ``values``
        (what the user's statement prints goes to the cell running it); they are left out
        again after it, for the session's own tasks."""
        tokens = [(var, var.set(value)) for var, value in values.items()]
        try:
            yield
        finally:
            for var, token in reversed(tokens):
                with contextlib.suppress(ValueError):
                    var.reset(token)

    def runs_here(self) -> bool:
        """Whether the calling code runs in the session's context itself, not in a copy of
        it (a task's) nor in another one: what it sets is there for the next statement."""
        mark = object()
        token = _PROBE.set(mark)
        try:
            # A context entered now holds what is set now: only the current one does.
            return self.context.get(_PROBE) is mark
        finally:
            _PROBE.reset(token)

    @property
    def started(self) -> bool:
        """Whether the loop was made or adopted (something awaited): else no task of the
        session's can exist."""
        return self._loop is not None

    def run(self, code: CodeType, globals: dict[str, t.Any], locals: t.Any = None) -> t.Any:
        """Evaluate compiled ``code``; if it awaits, run it to completion on the loop."""
        result = self.begin(code, globals, locals)
        if self.awaits(code, result):
            result = self.complete(result)
        return result

    def begin(self, code: CodeType, globals: dict[str, t.Any], locals: t.Any = None) -> t.Any:
        """Evaluate compiled ``code`` in the session's context: its value, or, for code that
        awaits, the coroutine still to be run (by :meth:`complete` or :meth:`acomplete`)."""
        if self._loop is not None and not self._threaded and not self._loop.is_running():
            import asyncio

            # Code that asks for "the" event loop gets the session's.
            asyncio.set_event_loop(self._loop)
        return self.call(eval, code, globals, locals if locals is not None else globals)

    @staticmethod
    def awaits(code: CodeType, value: t.Any) -> bool:
        """Whether ``value``, what :meth:`begin` gave for ``code``, is a coroutine to run."""
        return SessionLoop.awaits_at_top_level(code) and isinstance(value, types.CoroutineType)

    @staticmethod
    def awaits_at_top_level(code: CodeType) -> bool:
        """Whether compiled ``code`` awaits outside any function (so needs the loop)."""
        return bool(_CO_COROUTINE & code.co_flags)

    def complete(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """Run ``coroutine`` on the session loop in the session context.

        Ctrl-C while the loop waits cancels this coroutine only, and raises
        KeyboardInterrupt; Ctrl-C while code runs on the loop (this coroutine's, or a task's
        that blocks the loop) raises KeyboardInterrupt in that code, as Python does.
        """
        if self._threaded:
            return self._complete_in_thread(coroutine)
        import asyncio

        loop = self.loop
        if loop.is_running():
            coroutine.close()
            raise LoopRunning()
        asyncio.set_event_loop(loop)
        # In the session's context already (startup code run while the namespace is built
        # there), which a task cannot enter again: the task gets a copy of it.
        inside = self.runs_here()
        task = loop.create_task(coroutine, context=None if inside else self.context)
        self._statement = task
        self.interrupted = False
        try:
            with self._ctrl_c_cancels(task):
                try:
                    result = loop.run_until_complete(task)
                except asyncio.CancelledError:
                    if not self.interrupted:
                        raise
                    result = None
            if self.interrupted:
                # The coroutine was cancelled by Ctrl-C while the loop waited for it.
                raise KeyboardInterrupt from None
            return result
        except (KeyboardInterrupt, SystemExit) as e:
            # Ctrl-C or SIGTERM in the loop itself, or in another task: cancel the statement
            # and let it unwind (for a while: it may not stop). If the coroutine itself was
            # interrupted the task is finished already, and running the loop for it again
            # would never return.
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(asyncio.wait({task}, timeout=GRACE))
            if isinstance(e, _Terminated):
                # A front end may take it as the statement's own exit and go on (IPython
                # shows a cell's SystemExit): it comes again from the loop's next turn, where
                # the prompt waits, unless the session is closing by then.
                loop.call_soon(e.by.raise_again, e.code)
            raise
        finally:
            self._statement = None
            self._report_failures()

    async def acomplete(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """:meth:`complete`, awaited by a caller on the running loop (a kernel's cell): the
        coroutine runs as a task of that loop in the session's context. Cancelling the
        caller (the kernel's interrupt) cancels it."""
        import asyncio

        task = self.loop.create_task(coroutine, context=self.context)
        try:
            return await task
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._report_failures()

    def run_steps(self, steps: Steps[T]) -> T:
        """Run ``steps``, each coroutine by :meth:`complete`: here and now."""

        async def here(step: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
            return self.complete(step)

        # Nothing in it suspends, so one send runs the driver to its end.
        driving = _drive(steps, here)
        try:
            driving.send(None)
        except StopIteration as done:
            result: T = done.value
            return result
        driving.close()
        raise AssertionError("a step of the session suspended outside any loop")

    async def arun_steps(self, steps: Steps[T]) -> T:
        """Run ``steps``, each coroutine by :meth:`acomplete`: awaited, on the loop running
        the caller."""
        return await _drive(steps, self.acomplete)

    def check_can_complete(self) -> None:
        """:raises LoopRunning: :meth:`complete` cannot run now: the session's loop is
        running this very code (a kernel's cell), which has to await instead."""
        loop = self._loop
        if loop is not None and not self._threaded and loop.is_running():
            raise LoopRunning()

    def close(self) -> None:
        """Cancel the tasks still pending (named in one line) and close the loop (if one
        was ever made; an adopted loop is left open)."""
        ending = self.ending()
        if ending is not None:
            self.complete(ending)
        self.release()

    def ending(self) -> t.Coroutine[t.Any, t.Any, None] | None:
        """What closing still has to run on the loop (None: nothing): the session's pending
        tasks cancelled (named in one line) and waited for, and, on its own loop, the async
        generators finalized. :meth:`release` comes after it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return None
        import asyncio

        self._stop_thread()
        pending = [task for task in self._tasks(loop) if not task.done()]
        pending = [task for task in pending if task is not _current_task(loop)]
        for task in pending:
            task.cancel()
        users = [task for task in pending if not _is_appshell_task(task)]
        if users:
            self._say_cancelled(users)
        if not pending and self._borrowed:
            return None

        async def end() -> None:
            if pending:
                _, stuck = await asyncio.wait(pending, timeout=GRACE)
                if stuck:
                    self._abandon(stuck)
            if not self._borrowed:
                await loop.shutdown_asyncgens()

        return end()

    def _abandon(self, tasks: t.Collection[t.Any]) -> None:
        """Leave ``tasks``, cancelled and still running after :data:`GRACE` (they caught
        the cancellation and went on), to their fate, named in one line."""
        from .term import warn

        for task in tasks:
            # Closing the loop drops them: asyncio would say so once more, at exit.
            task._log_destroy_pending = False
        users = [task for task in tasks if not _is_appshell_task(task)] or list(tasks)
        warn(
            f"{self._names(users)}: still running {GRACE:g} seconds after being cancelled,"
            " abandoned."
        )

    def release(self) -> None:
        """The last of closing: the :attr:`before_close` callbacks, then the loop closed,
        or, adopted, given back to its owner as it was."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        import asyncio

        try:
            for last in self.before_close:
                last(loop)
        finally:
            if self._borrowed:
                if loop.get_task_factory() == self._make_task:
                    loop.set_task_factory(None)
            else:
                asyncio.set_event_loop(None)
                loop.close()

    def run_while(self, read: t.Callable[[], t.Any]) -> t.Any:
        """``read()`` (a prompt) in a thread of its own while the loop runs here, so that
        the session's tasks go on while it waits; its value, or what it raised.

        Without a loop (nothing ever awaited) ``read`` is simply called.
        """
        if self._loop is None:
            return read()
        import asyncio
        import concurrent.futures
        import threading

        done: concurrent.futures.Future[t.Any] = concurrent.futures.Future()

        def reader() -> None:
            try:
                done.set_result(read())
            except BaseException as e:
                done.set_exception(e)

        threading.Thread(target=reader, name="appshell-prompt", daemon=True).start()
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.wrap_future(done, loop=loop))
        return done.result()

    @contextlib.contextmanager
    def threaded(self) -> t.Iterator[None]:
        """Within the block the loop runs in a second thread of its own, from the first
        ``await`` on (at once if it was made already), and the caller's thread is free to
        read input: an awaited statement is handed to that thread and waited for."""
        self._threaded = True
        try:
            if self._loop is not None:
                self._start_thread()
            yield
        finally:
            self._stop_thread()
            self._threaded = False

    def adopt(self, loop: t.Any) -> t.Any:
        """Use ``loop`` (a REPL's own, IPython's) as the session loop if none was made yet.
        Returns the session loop: ``loop`` or the one made before."""
        if self._loop is None:
            self._watch(loop)
        return self._loop

    def _borrow(self, loop: t.Any) -> None:
        """Adopt ``loop``, its owner's (a kernel's): the session's tasks on it are those
        made from its context, and the loop outlives the session."""
        self._borrowed = True
        self._watch(loop)

    def _watch(self, loop: t.Any) -> None:
        """Make ``loop`` the session's, and see every task made on it end."""
        self._loop = loop
        if loop.get_task_factory() is None:  # else someone else's: theirs to report
            loop.set_task_factory(self._make_task)

    def _make_task(self, loop: t.Any, coro: t.Any, **options: t.Any) -> t.Any:
        import asyncio

        made_in = options.get("context")
        if made_in is None:
            made_in = contextvars.copy_context()
        task = asyncio.Task(coro, loop=loop, **options)
        if self._borrowed and made_in.get(_SESSION) is not self:
            return task  # the owner's task (a kernel's cell): the owner reports it
        task.add_done_callback(self._task_done)
        self._own.add(task)
        return task

    def _tasks(self, loop: t.Any) -> list[t.Any]:
        """The session's tasks on ``loop``: on a loop of its own, all of them."""
        import asyncio

        if self._borrowed:
            return list(self._own)
        return list(asyncio.all_tasks(loop))

    def _task_done(self, task: t.Any) -> None:
        if task is self._statement or task.cancelled():
            return
        self._failed.append(task)
        if self._statement is None:
            # Idle: once the tasks awaiting this one had their turn (they see its error).
            task.get_loop().call_soon(self._report_failures)

    def _report_failures(self) -> None:
        """Show the traceback of each failed task whose error nobody took (once)."""
        failed, self._failed = self._failed, []
        for task in failed:
            # Set while an exception is held that no result()/exception() call took.
            if not getattr(task, "_log_traceback", False):
                continue
            error = task.exception()  # taken now: asyncio will not log it again
            if isinstance(error, KeyboardInterrupt | SystemExit):
                continue  # Ctrl-C or SIGTERM came while it ran: what it ended says so
            sys.stdout.flush()
            stream = sys.stderr
            stream.write(f"Task {task.get_name()!r} ({self._coroutine_name(task)}) failed:\n")
            stream.write(format_user_exception(error))
            stream.flush()

    def _start_thread(self) -> None:
        import asyncio
        import threading

        loop = self.loop

        def run_loop() -> None:
            asyncio.set_event_loop(loop)
            while True:
                try:
                    loop.run_forever()
                    return  # stopped by _stop_thread
                except (SystemExit, KeyboardInterrupt):
                    # exit() in an awaited statement ends its task and leaves the loop:
                    # the task's callback, run by the loop going on, hands it over.
                    continue

        self._thread = threading.Thread(target=run_loop, name="appshell-loop", daemon=True)
        self._thread.start()

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        thread.join()

    def _complete_in_thread(self, coroutine: t.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
        """:meth:`complete` with the loop in its own thread: Ctrl-C here (the signal
        comes to this thread) cancels the task there, and a second one stops waiting."""
        import asyncio
        import concurrent.futures

        if self._thread is None:
            self._start_thread()
        loop = self._loop
        self.interrupted = False
        done: concurrent.futures.Future[t.Any] = concurrent.futures.Future()

        def start() -> None:
            task = loop.create_task(coroutine, context=self.context)
            self._statement = task
            done.set_running_or_notify_cancel()

            def finished(task: t.Any) -> None:
                self._statement = None
                if task.cancelled():
                    done.set_exception(asyncio.CancelledError())
                elif task.exception() is not None:
                    done.set_exception(task.exception())
                else:
                    done.set_result(task.result())
                self._report_failures()

            task.add_done_callback(finished)

        loop.call_soon_threadsafe(start)
        try:
            error = done.exception()
        except KeyboardInterrupt:
            self.interrupted = True
            loop.call_soon_threadsafe(self._cancel_statement)
            with contextlib.suppress(BaseException):
                done.exception()  # a second Ctrl-C stops waiting for it to unwind
            raise KeyboardInterrupt from None
        if error is not None:
            raise error
        return done.result()

    def _cancel_statement(self) -> None:
        if self._statement is not None:
            self._statement.cancel()

    @contextlib.contextmanager
    def _ctrl_c_cancels(self, task: t.Any) -> t.Iterator[None]:
        """Within the block, Ctrl-C while the loop waits for its next event cancels ``task``
        (the awaited statement) and no other: the default handler would raise
        KeyboardInterrupt in the loop's machinery. Ctrl-C while code runs on the loop
        (``task``'s, or a task's or a startup's that blocks it), or a second one, raises
        KeyboardInterrupt in that code, as Python does. A handler the user installed is
        left alone."""
        import signal
        import threading

        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield
            return
        loop = task.get_loop()

        def on_ctrl_c(signum: int, frame: t.Any) -> None:
            if self.interrupted or task.done() or not _waiting(frame):
                raise KeyboardInterrupt
            self.interrupted = True
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop if it sleeps

        signal.signal(signal.SIGINT, on_ctrl_c)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    @staticmethod
    def _coroutine_name(task: t.Any) -> str:
        coroutine = task.get_coro()
        return str(getattr(coroutine, "__qualname__", None) or coroutine)

    @classmethod
    def _names(cls, tasks: t.Collection[t.Any]) -> str:
        """Each task's name and its coroutine's, for the user to know it by."""
        return ", ".join(f"{task.get_name()} ({cls._coroutine_name(task)})" for task in tasks)

    @classmethod
    def _say_cancelled(cls, tasks: list[t.Any]) -> None:
        """One line naming the tasks cancelled at the session's end."""
        from .term import warn

        names = cls._names(tasks)
        count = f"{len(tasks)} task{'s' if len(tasks) > 1 else ''}"
        warn(f"{count} still running at exit cancelled: {names}.")


def catch_sigterm() -> t.Callable[[], None] | None:
    """Make SIGTERM end the session as ``sys.exit(143)`` would, within
    :data:`SIGTERM_DEADLINE` seconds whatever runs; returns what restores the handler
    before (None off the main thread, where no handler can be set).

    143 is 128 + SIGTERM, the code a shell reports for a process that SIGTERM ended: the
    session closes as after ``sys.exit(143)`` (the lifespan shutdown and the app's teardown
    run) and whoever sent the signal still sees that it ended the process.
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.signal(signal.SIGTERM, _Termination())

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


class _Terminated(SystemExit):
    """The ``SystemExit`` of SIGTERM, raised by ``by``."""

    def __init__(self, code: int, by: _Termination) -> None:
        super().__init__(code)
        self.by = by

    def _render_traceback_(self) -> list[str]:
        # What IPython shows for it: the session ends, there is no traceback to read.
        return []


class _Termination:
    """SIGTERM's handler: ``SystemExit(143)`` raised where it ends the session.

    Where no loop runs, or the loop waits for its next event, it is raised at once. Where
    code runs on the loop it is raised from the loop's next turn instead: raised in a task
    (a request a background server answers) it would be that task's failure, which the
    server would catch. Code that blocks the loop gives no next turn: after :data:`_NUDGE`
    the signal is sent again and raised in that code, as ``python`` would end it. If the
    process has not ended :data:`SIGTERM_DEADLINE` seconds after the signal (the shutdown
    hangs, the code catches SystemExit, a C call never returns), it ends with 143 there,
    saying so in one line.
    """

    def __init__(self) -> None:
        self.raised = threading.Event()
        self.nudged = False
        self.watching = False

    def __call__(self, signum: int, frame: types.FrameType | None) -> None:
        code = 128 + signum
        if not self.watching:
            self.watching = True
            threading.Thread(
                target=self._watch, args=(signum,), name="appshell-sigterm", daemon=True
            ).start()
        loop = _running_loop()
        if loop is None or self.nudged or _waiting(frame):
            self.raise_exit(code)
        else:
            loop.call_soon_threadsafe(self.raise_exit, code)

    def raise_exit(self, code: int) -> None:
        """Raise ``SystemExit(code)`` unless it was raised already for this signal."""
        if self.raised.is_set():
            return
        self.raised.set()
        raise _Terminated(code, self)

    def raise_again(self, code: int) -> None:
        """Raise it again if the session goes on as if it had not been (the handler is still
        this one: closing the session restores the one before)."""
        import signal

        if id(signal.getsignal(signal.SIGTERM)) == id(self):
            raise _Terminated(code, self)

    def _watch(self, signum: int) -> None:
        import signal
        import time

        started = time.monotonic()
        if not self.raised.wait(_NUDGE):
            self.nudged = True
            signal.pthread_kill(threading.main_thread().ident or 0, signum)
        threading.Event().wait(max(0.0, SIGTERM_DEADLINE - (time.monotonic() - started)))
        message = (
            f"appshell: the session did not end within {SIGTERM_DEADLINE:g} seconds of"
            " SIGTERM; exiting without waiting for it.\n"
        )
        with contextlib.suppress(OSError):
            os.write(2, message.encode())
        os._exit(128 + signum)


def _running_loop() -> t.Any:
    """The event loop running in this thread, if asyncio is in use at all."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
