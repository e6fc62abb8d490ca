"""Django's mail in a sandbox: every message kept in ``django.core.mail.outbox``, none sent.

Two layers. The first is Django's own switch, set as its test runner sets it: the project's
mail settings name Django's in-memory backend (``EMAIL_BACKEND``, or each alias of Django
6.1's ``MAILERS``), so the backend the project configured is never even made. The second
catches what a setting cannot reach: a backend the app or the script names itself
(``get_connection("django.core.mail.backends.smtp.EmailBackend")``, a path in a setting of the
project's own, ``SMTPBackend(host=...)`` made from its class). Every email backend class,
those defined already and those imported while the sandbox lasts, has its ``send_messages``
keep the messages in the outbox and its ``open``/``close`` do nothing (an SMTP backend would
connect and log in, a file backend create its file; a backend's constructor still runs, so a
file backend made in the session still makes its folder). Redirected rather than refused: a
dry run goes on to its end and shows what it would have sent, as the app's tests would see.

Mail sent some other way (``smtplib`` itself, an HTTP API called without a Django backend, a
``connection`` that is no ``BaseEmailBackend``) is not Django's mail: the banner names HTTP
calls among what a sandbox does not hold back.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import typing as t
import warnings

__all__ = ["HeldMail"]

_LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
#: The methods of a backend that reach the world outside the process.
_SENDING = ("send_messages", "open", "close")


class HeldMail:
    """Django's mail kept in its outbox while a sandbox lasts; :meth:`summary` counts it."""

    def __init__(self) -> None:
        self.kept = 0
        self._lock = threading.Lock()
        self._settings: tuple[str, t.Any] | None = None
        self._had_outbox = False
        #: (class, method name, the class's own method before, or None if it had none).
        self._replaced: list[tuple[type, str, t.Any]] = []
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        from django.core import mail

        self._had_outbox = hasattr(mail, "outbox")
        if not self._had_outbox:
            mail.outbox = []
        self._switch_settings()
        self._hold_every_backend()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        from django.conf import settings
        from django.core import mail

        for cls, name, before in reversed(self._replaced):
            if before is None:
                delattr(cls, name)
            else:
                setattr(cls, name, before)
        self._replaced = []
        if self._settings is not None:
            name, value = self._settings
            self._settings = None
            with _quiet():
                setattr(settings, name, value)
        if not self._had_outbox and hasattr(mail, "outbox"):
            del mail.outbox

    def summary(self) -> str:
        """What was kept, for the end line ("" when nothing was)."""
        n = self.kept
        if n <= 0:
            return ""
        return (
            f"{n} email{'' if n == 1 else 's'} not sent"
            " (Django's mail went to django.core.mail.outbox)"
        )

    def _switch_settings(self) -> None:
        from django.conf import settings

        # On Django 6.1 a project either defines MAILERS or keeps the older EMAIL_BACKEND
        # (which Django then refuses to read); its test runner switches whichever is in use.
        if hasattr(settings, "MAILERS"):
            self._settings = ("MAILERS", settings.MAILERS)
            settings.MAILERS = {alias: {"BACKEND": _LOCMEM} for alias in settings.MAILERS}
            return
        with _quiet():
            self._settings = ("EMAIL_BACKEND", settings.EMAIL_BACKEND)
            settings.EMAIL_BACKEND = _LOCMEM

    def _hold_every_backend(self) -> None:
        from django.core.mail.backends.base import BaseEmailBackend

        held = self
        seen: set[type] = {BaseEmailBackend}
        classes = list(BaseEmailBackend.__subclasses__())
        while classes:
            cls = classes.pop()
            if cls not in seen:  # a class of two backends is met twice
                seen.add(cls)
                self._hold(cls)
                classes.extend(cls.__subclasses__())

        # A backend module imported during the session (get_connection imports the path it
        # is given) defines its class after this: it is held as it is made.
        def __init_subclass__(cls: t.Any, /, **kwargs: t.Any) -> None:
            super(BaseEmailBackend, cls).__init_subclass__(**kwargs)
            held._hold(cls)

        self._replace(BaseEmailBackend, "__init_subclass__", classmethod(__init_subclass__))

    def _hold(self, cls: type) -> None:
        held = self

        def send_messages(backend: t.Any, messages: t.Any) -> int:
            return held._keep(backend, messages)

        for name in _SENDING:
            if name in vars(cls):
                self._replace(cls, name, send_messages if name == "send_messages" else _nothing)

    def _replace(self, cls: type, name: str, value: t.Any) -> None:
        self._replaced.append((cls, name, vars(cls).get(name)))
        setattr(cls, name, value)

    def _keep(self, backend: t.Any, messages: t.Any) -> int:
        from django.core import mail

        outbox = mail.__dict__.setdefault("outbox", [])
        n = 0
        for message in messages or ():
            message.message()  # a message a real send would refuse (a bad header) fails here too
            # A copy, as Django's in-memory backend keeps, that shares the backend the message
            # names: an SMTP backend holds a lock, which cannot be copied.
            shared = {id(c): c for c in (backend, getattr(message, "connection", None))}
            kept = copy.deepcopy(message, shared)
            alias = getattr(backend, "alias", None)
            if alias is not None:  # Django 6.1 says which mailer a message was sent with
                kept.sent_using = alias
            outbox.append(kept)
            n += 1
        with self._lock:
            self.kept += n
        return n


def _nothing(backend: t.Any) -> None:
    """A held backend's ``open`` and ``close``: no connection, no file."""


@contextlib.contextmanager
def _quiet() -> t.Iterator[None]:
    """Django 6.1 warns at each read and write of EMAIL_BACKEND that it is deprecated: the
    project's setting, not appshell's doing, so not said again at every sandbox."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The EMAIL_BACKEND setting is deprecated")
        yield
