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
import sys
import types
import typing as t
import weakref

from .exceptions import LoopRunning, format_user_exception

if t.TYPE_CHECKING:
    from types import CodeType

__all__ = ["SessionLoop", "Steps"]

T = t.TypeVar("T")

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

        Ctrl-C while it waits cancels this coroutine only, and raises KeyboardInterrupt;
        Ctrl-C while its own code runs raises KeyboardInterrupt in that code, as Python does.
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
        except KeyboardInterrupt:
            # Ctrl-C in the loop itself: cancel the task and let it unwind. If the
            # coroutine itself was interrupted the task is finished already, and running
            # the loop for it again would never return.
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
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
        if pending:
            self._say_cancelled(pending)
        if not pending and self._borrowed:
            return None

        async def end() -> None:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            if not self._borrowed:
                await loop.shutdown_asyncgens()

        return end()

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
        """Within the block, Ctrl-C while the loop waits cancels ``task`` (the awaited
        statement) and no other: the default handler would raise KeyboardInterrupt in
        whichever task runs. Ctrl-C while ``task``'s own code runs, or a second one, raises
        KeyboardInterrupt there as usual. A handler the user installed is left alone."""
        import asyncio
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
            if self.interrupted or task.done() or asyncio.current_task(loop) is task:
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
    def _say_cancelled(cls, tasks: list[t.Any]) -> None:
        """One line naming the tasks cancelled at the session's end."""
        from .term import warn

        names = ", ".join(f"{task.get_name()} ({cls._coroutine_name(task)})" for task in tasks)
        count = f"{len(tasks)} task{'s' if len(tasks) > 1 else ''}"
        warn(f"{count} still running at exit cancelled: {names}.")
