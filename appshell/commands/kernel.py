"""``appshell kernel``: Jupyter kernels that start with the app attached.

An appshell kernel is a folder with a ``kernel.json`` whose environment names the app
(``APPSHELL_KERNEL_*``); the IPython extension reads it when the kernel starts. The folders
are found on Jupyter's own path (``JUPYTER_PATH``, ``JUPYTER_DATA_DIR``, ...), through
jupyter_client, and read here leniently: one broken kernel of any kind is reported and
passed over, as ``jupyter kernelspec list`` does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import typing as t
from pathlib import Path

import click

from ..exceptions import AppShellUsageError
from ..jupyter import KERNEL_ENV
from ..profiles import complete_profile_names, load_profile
from ..scriptinfo import ScriptInfo
from ..term import warn

if t.TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class Kernel(t.NamedTuple):
    """A kernel folder found on Jupyter's path, and its ``kernel.json`` (None if broken)."""

    name: str
    folder: Path
    spec: dict[str, t.Any] | None

    @property
    def is_appshells(self) -> bool:
        env = (self.spec or {}).get("env")
        return isinstance(env, dict) and any(key in env for key in KERNEL_ENV.values())


def _kernel_folders() -> dict[str, str]:
    """Every kernel on Jupyter's path, by name: its folder."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise AppShellUsageError(
            "Jupyter kernels need jupyter_client and ipykernel: pip install 'appshell[jupyter]'."
        ) from None
    return dict(KernelSpecManager().find_kernel_specs())


def _read(name: str, folder: str, *, quiet: bool = False) -> Kernel:
    path = Path(folder) / "kernel.json"
    try:
        spec = json.loads(path.read_bytes())
        if not isinstance(spec, dict):
            raise ValueError("it is not a JSON object")
    except (OSError, ValueError) as e:
        if not quiet:
            warn(f"ignoring the kernel {name!r}: {path} cannot be read ({e}).")
        spec = None
    return Kernel(name, Path(folder), spec)


def appshell_kernels(*, quiet: bool = False) -> list[Kernel]:
    """The appshell kernels installed, by name; the broken kernels met on the way are
    reported in one line each (unless ``quiet``) and left out."""
    found = (_read(name, folder, quiet=quiet) for name, folder in _kernel_folders().items())
    return sorted((kernel for kernel in found if kernel.is_appshells), key=lambda k: k.name)


def complete_kernel_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion for ``kernel remove``: the appshell kernels' names."""
    from click.shell_completion import CompletionItem

    try:
        kernels = appshell_kernels(quiet=True)
    except AppShellUsageError:
        return []
    return [
        CompletionItem(kernel.name, help=(kernel.spec or {}).get("display_name"))
        for kernel in kernels
        if kernel.name.startswith(incomplete)
    ]


@click.group("kernel", short_help="Install Jupyter kernels with the app attached.")
def kernel_command() -> None:
    """Jupyter kernels whose notebooks start with the app attached, as with %appshell."""


#: The help of ``kernel install``'s options.
_HELP = {
    "name": "The kernel's name (default: appshell-<project folder>-<app name>).",
    "display_name": "The name shown in Jupyter (default: appshell: <app>).",
    "profile": "The shell profile the kernel attaches with. [env: APPSHELL_PROFILE]",
    "user": "Install for this user, in Jupyter's data folder (the default).",
    "sys_prefix": "Install into this Python's prefix instead, to go with the virtualenv.",
    "replace": "Replace a kernel of that name that appshell did not install.",
}


@kernel_command.command("install")
@click.option("--name", help=_HELP["name"])
@click.option("--display-name", help=_HELP["display_name"])
@click.option(
    "--profile",
    metavar="NAME",
    envvar="APPSHELL_PROFILE",
    help=_HELP["profile"],
    shell_complete=complete_profile_names,
)
@click.option("--user", is_flag=True, help=_HELP["user"])
@click.option("--sys-prefix", is_flag=True, help=_HELP["sys_prefix"])
@click.option("--replace", is_flag=True, help=_HELP["replace"])
@click.pass_context
def install_command(
    ctx: click.Context,
    name: str | None,
    display_name: str | None,
    profile: str | None,
    user: bool,
    sys_prefix: bool,
    replace: bool,
) -> None:
    """Write a kernelspec whose kernel starts with this app attached.

    The app's import string, env file and profile, this Python and this project folder are
    recorded, so the kernel finds the app wherever the notebook lives. Installing again
    under the same name updates the kernel and keeps the other files in its folder.
    """
    if user and sys_prefix:
        raise click.UsageError("--user and --sys-prefix go to two places: give one of them.")
    kernels = _kernel_folders()
    if profile is not None:
        load_profile(profile)  # a missing or invalid profile fails here, not in Jupyter
    info = ctx.ensure_object(ScriptInfo)
    adapter = info.adapter  # loads the app now: a broken one fails here, not in Jupyter
    name = (name or _default_name(adapter.name, kernels)).lower()
    if not re.fullmatch(r"[a-z0-9._-]+", name):
        raise click.BadParameter(
            f"{name!r}: a kernel name has only letters, digits, '.', '_' and '-'.",
            param_hint="--name",
        )
    if name in kernels and not replace:
        existing = _read(name, kernels[name])
        if not existing.is_appshells:
            raise AppShellUsageError(
                f"A kernel called {name!r} that appshell did not install is in"
                f" {existing.folder}. Choose another --name, or add --replace to replace it."
            )
    folder = _destination(sys_prefix) / name
    spec = _kernel_json(info, display_name or f"appshell: {adapter.name}", profile)
    try:
        if replace and folder.is_dir() and not _read(name, str(folder), quiet=True).is_appshells:
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise AppShellUsageError(
            f"Cannot write the kernel into {folder}: {e.strerror or e}. Install it where you"
            " can write: --user (the default) or --sys-prefix."
        ) from None
    click.echo(f"Installed the kernel {name!r} ({spec['display_name']}) in {folder}")


def _slug(app_name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", app_name.lower()).strip("-") or "app"


def _default_name(app_name: str, kernels: dict[str, str]) -> str:
    """``appshell-<project folder>-<app name>`` (the app's name left out where it is the
    folder's): one per project, since many projects call their app ``app``. Where a kernel
    of that name was installed for another folder of the same name, a short digest of this
    folder's path is added, so that installing never replaces another project's kernel."""
    import hashlib

    here = os.getcwd()
    folder, app = _slug(os.path.basename(here) or "project"), _slug(app_name)
    name = f"appshell-{folder}" if app == folder else f"appshell-{folder}-{app}"
    if name in kernels:
        env = (_read(name, kernels[name], quiet=True).spec or {}).get("env")
        recorded = env.get(KERNEL_ENV["project_dir"]) if isinstance(env, dict) else None
        if recorded is not None and recorded != here:
            name += "-" + hashlib.sha256(here.encode()).hexdigest()[:6]
    return name


def _destination(sys_prefix: bool) -> Path:
    """The kernels folder of ``--sys-prefix``, else the user's, as Jupyter lays them out."""
    if sys_prefix:
        return Path(sys.prefix) / "share" / "jupyter" / "kernels"
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def _kernel_json(info: ScriptInfo, display_name: str, profile: str | None) -> dict[str, t.Any]:
    recorded = {
        KERNEL_ENV["app"]: info.app_import_path,
        KERNEL_ENV["env_file"]: info.env_file,
        KERNEL_ENV["profile"]: profile,
        KERNEL_ENV["project_dir"]: os.getcwd(),
    }
    launcher = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return {
        "argv": [*launcher, "--ext=appshell"],
        "display_name": display_name,
        "language": "python",
        "env": {key: value for key, value in recorded.items() if value},
        "metadata": {"appshell": {"app": info.app_import_path, "origin": info.app_origin}},
    }


@kernel_command.command("list")
def list_command() -> None:
    """List the kernels appshell installed, with their apps."""
    kernels = appshell_kernels()
    for kernel in kernels:
        spec = kernel.spec or {}
        app = spec["env"].get(KERNEL_ENV["app"]) or "(discovered)"
        click.echo(f"{kernel.name}  {spec.get('display_name', '')}  app={app}  {kernel.folder}")
    if not kernels:
        click.echo("No appshell kernels are installed: appshell --app IMPORT kernel install")


@kernel_command.command("remove")
@click.argument("name", shell_complete=complete_kernel_names)
def remove_command(name: str) -> None:
    """Remove the appshell kernel NAME."""
    kernels = {kernel.name: kernel for kernel in appshell_kernels()}
    kernel = kernels.get(name.lower())
    if kernel is None:
        raise AppShellUsageError(
            f"No appshell kernel called {name!r}. The appshell kernels are:"
            f" {', '.join(kernels) or 'none'}."
        )
    try:
        shutil.rmtree(kernel.folder)
    except OSError as e:
        raise AppShellUsageError(
            f"Cannot remove the kernel {kernel.name!r} from {kernel.folder}: {e.strerror or e}."
        ) from None
    click.echo(f"Removed the kernel {kernel.name!r} from {kernel.folder}")
