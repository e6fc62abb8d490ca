"""The IPython extension: ``%load_ext appshell`` attaches an app to a notebook (or IPython).

``%appshell --app IMPORT`` loads the app with the command line's discovery, pushes its app
context for every later cell and injects the shell's namespace (``cli`` included) into the
notebook. ``%appshell --detach`` (or ``%unload_ext appshell``) pops the context and removes
exactly the names it injected that the user has not reassigned since. Also: ``%cli`` and the
cell magic ``%%appshell_request [PATH]``.

This module holds what the magics do; the magics themselves are IPython's, in
:mod:`appshell.shell.magics` (imported only inside IPython). What load adds, unload removes:
the magics, the completer, the attachment.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shlex
import typing as t

import click

from .exceptions import AppShellError, AppShellUsageError, MagicError, UserCodeError

if t.TYPE_CHECKING:
    from .shell.context import Namespace
    from .shell.runner import CommandRunner
    from .shell.session import ShellSession

__all__ = ["Attachment", "Notebook", "load_ipython_extension", "unload_ipython_extension"]

#: Set in a kernelspec written by ``appshell kernel install``: the kernel attaches at start.
KERNEL_ENV = {
    "app": "APPSHELL_KERNEL_APP",
    "env_file": "APPSHELL_KERNEL_ENV_FILE",
    "profile": "APPSHELL_KERNEL_PROFILE",
    "project_dir": "APPSHELL_KERNEL_PROJECT_DIR",
}

_NOT_ATTACHED = "No app attached: attach one with %appshell --app IMPORT."
_AWAIT = re.compile(r"^\s*(?:[^#\n]*\s)?await\s", re.MULTILINE)


class Attachment:
    """An app attached to an IPython shell: its open session and the names it added."""

    def __init__(self, session: ShellSession) -> None:
        self.session = session
        self.info = session.info
        self.adapter = session.adapter
        self.namespace = session.namespace
        assert session.runner is not None, "the session is open"
        self.runner = session.runner

    def detach(self, shell: t.Any) -> int:
        """Remove from ``shell`` the names still bound to what was added (a name the user has
        reassigned stays); close the session (teardown runs). Returns how many went."""
        before = len(shell.user_ns)
        shell.drop_by_id(dict(self.namespace))
        removed = before - len(shell.user_ns)
        self.session.close(context_may_be_lost=True)
        return removed


class Summary:
    """What was injected: a table in Jupyter (HTML), plain text in a terminal."""

    def __init__(self, title: str, namespace: Namespace) -> None:
        self.title = title
        self.records = namespace.describe()

    def __repr__(self) -> str:
        width = max((len(r["name"]) for r in self.records), default=0)
        swidth = max((len(r["source"]) for r in self.records), default=0)
        rows = [
            f"  {r['name'].ljust(width)}  {r['source'].ljust(swidth)}  {r['type']}"
            for r in self.records
        ]
        return "\n".join([self.title, *rows])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(r['name'])}</code></td>"
            f"<td>{html.escape(r['source'])}</td><td>{html.escape(r['type'])}</td></tr>"
            for r in self.records
        )
        return (
            f"<p>{html.escape(self.title)}</p><table><thead><tr><th>name</th><th>source</th>"
            f"<th>type</th></tr></thead><tbody>{rows}</tbody></table>"
        )


class Notebook:
    """What the extension's magics do in one IPython shell: the app attached, if any.

    :param shell: the IPython shell.
    :param shell_runner: the ``cli`` runner the shell had before the extension was loaded
        (``appshell shell`` in IPython), which ``%cli`` uses while no app is attached.
    """

    def __init__(self, shell: t.Any, shell_runner: CommandRunner | None = None) -> None:
        self.shell = shell
        self.shell_runner = shell_runner
        self.attachment: Attachment | None = None

    # -- %appshell ---------------------------------------------------------------------------

    def appshell(self, line: str) -> t.Any:
        """``%appshell LINE`` (see :meth:`AppShellMagics.appshell`)."""
        try:
            options = _parse(line)
        except click.ClickException as e:
            raise MagicError(e.format_message()) from None
        if options["detach"]:
            print(self._detach(say=True))
            return None
        if not line.strip() and self.attachment is not None:
            return self.status()
        self._warn_if_cell_awaits()
        return self.attach(
            options["app"], options["env_file"], options["profile"], strict=options["strict"]
        )

    def status(self) -> Summary | str:
        if self.attachment is None:
            return "appshell: no app attached. Attach one with %appshell --app IMPORT."
        info = self.attachment.info
        title = f"appshell: {self.attachment.adapter.name} ({info.app_origin}) is attached."
        return Summary(title, self.attachment.namespace)

    def attach(
        self,
        app: str | None = None,
        env_file: str | None = None,
        profile: str | None = None,
        *,
        strict: bool = False,
        project_dir: str | None = None,
    ) -> Summary:
        """Attach the app (detaching the one attached before); returns what was injected."""
        from .envfiles import get_load_dotenv, load_dotenv
        from .scriptinfo import ScriptInfo
        from .shell.session import ShellSession, choose_profile

        where = project_dir or os.getcwd()
        try:
            with contextlib.chdir(where):
                if env_file is not None and not os.path.isfile(env_file):
                    raise MagicError(f"The env file {env_file!r} does not exist.")
                load_dotenv(env_file, load_defaults=get_load_dotenv())
                info = ScriptInfo(app_import_path=app or _env_app())
                info.load_app()
                chosen = choose_profile(profile)
        except click.ClickException as e:
            raise MagicError(e.format_message()) from None
        except Exception as e:
            raise UserCodeError(e) from None

        from .cli import cli as root_group

        session = ShellSession(
            info, group=root_group, groups=(root_group,), profile=chosen, strict=strict
        )
        # Only once the new app has loaded: a failed attach leaves the old one attached.
        self._detach(say=False)
        try:
            namespace = session.open()
        except (AppShellError, AppShellUsageError):
            raise  # shown in one line, or as the user's traceback, by IPython
        except click.ClickException as e:
            raise MagicError(e.format_message()) from None
        self.shell.push(dict(namespace))
        self.attachment = Attachment(session)
        title = (
            f"appshell: attached {session.adapter.name} ({info.app_origin}); its app context"
            f" stays pushed. {len(namespace)} names added:"
        )
        return Summary(title, namespace)

    def _detach(self, *, say: bool) -> str | None:
        if self.attachment is None:
            return "appshell: no app attached." if say else None
        attachment, self.attachment = self.attachment, None
        removed = attachment.detach(self.shell)
        if say:
            return (
                f"appshell: detached {attachment.adapter.name}; its app context is popped and"
                f" {removed} names removed."
            )
        return None

    def _warn_if_cell_awaits(self) -> None:
        history = self.shell.user_ns.get("_ih") or [""]
        if _AWAIT.search(history[-1] or ""):
            click.echo(
                "appshell: attach in a cell of its own: a cell with top-level await loses the"
                " app context when it ends (ipykernel#749).",
                err=True,
            )

    # -- for %cli and %%appshell_request ------------------------------------------------

    def runner(self) -> CommandRunner:
        """The runner ``%cli`` uses: the attached app's, else the shell's own."""
        if self.attachment is not None:
            return self.attachment.runner
        if self.shell_runner is not None:
            return self.shell_runner
        raise MagicError(_NOT_ATTACHED)

    def request(self, path: str) -> t.ContextManager[t.Any]:
        """A test request for ``path`` in the attached app."""
        if self.attachment is None:
            raise MagicError(_NOT_ATTACHED)
        context: t.ContextManager[t.Any] = self.attachment.adapter.request_context(path)
        return context


def _env_app() -> str | None:
    return os.environ.get("APPSHELL_APP") or os.environ.get("FLASK_APP") or None


@click.command("%appshell", add_help_option=False)
@click.option("--app", "-A", default=None)
@click.option("--env-file", "-e", default=None)
@click.option("--profile", default=None)
@click.option("--strict", is_flag=True)
@click.option("--detach", is_flag=True)
def _magic_options(**options: t.Any) -> dict[str, t.Any]:
    return options


def _parse(line: str) -> dict[str, t.Any]:
    try:
        args = shlex.split(line)
    except ValueError as e:
        raise MagicError(f"Could not read the arguments {line!r}: {e}.") from None
    result = _magic_options.main(args, standalone_mode=False)
    return t.cast("dict[str, t.Any]", result)


def load_ipython_extension(shell: t.Any) -> None:
    """``%load_ext appshell``: register the magics; attach at once in an appshell kernel."""
    from .shell import magics

    before = magics.installed(shell)
    if before is not None and before.notebook is not None:
        return
    # In appshell's own IPython shell, %cli keeps the shell's runner until an app is attached.
    notebook = Notebook(shell, shell_runner=before.runner() if before is not None else None)
    magics.install(shell, notebook.runner, notebook)

    if os.environ.get(KERNEL_ENV["app"]) or os.environ.get(KERNEL_ENV["project_dir"]):
        summary = notebook.attach(
            os.environ.get(KERNEL_ENV["app"]) or None,
            os.environ.get(KERNEL_ENV["env_file"]) or None,
            os.environ.get(KERNEL_ENV["profile"]) or None,
            project_dir=os.environ.get(KERNEL_ENV["project_dir"]) or None,
        )
        print(summary.title)
        return
    print(
        "appshell loaded: attach an app with %appshell --app IMPORT (or just %appshell to use"
        " APPSHELL_APP, .env or pyproject.toml)."
    )


def unload_ipython_extension(shell: t.Any) -> None:
    """``%unload_ext appshell``: detach, and remove what loading added."""
    from .shell import magics

    found = magics.installed(shell)
    if found is None or found.notebook is None:
        return
    found.notebook._detach(say=False)
    magics.uninstall(shell, found)
