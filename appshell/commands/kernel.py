"""``appshell kernel``: Jupyter kernels that start with the app attached."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import typing as t

import click

from ..exceptions import AppShellUsageError
from ..jupyter import KERNEL_ENV
from ..scriptinfo import ScriptInfo


def _kernelspec_manager() -> t.Any:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise AppShellUsageError(
            "Jupyter kernels need jupyter_client and ipykernel: pip install 'appshell[jupyter]'."
        ) from None
    return KernelSpecManager()


def _is_ours(spec: t.Any) -> bool:
    env = getattr(spec, "env", None) or {}
    return any(key in env for key in KERNEL_ENV.values())


@click.group("kernel", short_help="Install Jupyter kernels with the app attached.")
def kernel_command() -> None:
    """Jupyter kernels whose notebooks start with the app attached, as with %appshell."""


@kernel_command.command("install")
@click.option("--name", help="The kernel's name (default: appshell-<app name>).")
@click.option("--display-name", help="The name shown in Jupyter (default: appshell: <app>).")
@click.option(
    "--profile",
    metavar="NAME",
    envvar="APPSHELL_PROFILE",
    help="The shell profile the kernel attaches with. [env: APPSHELL_PROFILE]",
)
@click.option(
    "--user/--sys-prefix",
    "user",
    default=True,
    help="Install for this user (default) or into this Python's prefix (a virtualenv).",
)
@click.pass_context
def install_command(
    ctx: click.Context,
    name: str | None,
    display_name: str | None,
    profile: str | None,
    user: bool,
) -> None:
    """Write a kernelspec whose kernel starts with this app attached.

    The app's import string, env file and profile, this Python and this project folder are
    recorded, so the kernel finds the app wherever the notebook lives.
    """
    manager = _kernelspec_manager()
    if profile is not None:
        from ..profiles import load_profile

        load_profile(profile)  # a missing or invalid profile fails here, not in Jupyter
    info = ctx.ensure_object(ScriptInfo)
    adapter = info.adapter  # loads the app now: a broken one fails here, not in Jupyter
    app_name = re.sub(r"[^a-z0-9._-]+", "-", adapter.name.lower()).strip("-") or "app"
    name = name or f"appshell-{app_name}"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise click.BadParameter(
            f"{name!r}: a kernel name has only letters, digits, '.', '_' and '-'.",
            param_hint="--name",
        )
    env = {
        KERNEL_ENV["app"]: info.app_import_path or "",
        KERNEL_ENV["env_file"]: info.env_file or "",
        KERNEL_ENV["profile"]: profile or "",
        KERNEL_ENV["project_dir"]: os.getcwd(),
    }
    spec = {
        "argv": [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--ext=appshell",
        ],
        "display_name": display_name or f"appshell: {adapter.name}",
        "language": "python",
        "env": {k: v for k, v in env.items() if v},
        "metadata": {"appshell": {"app": info.app_import_path, "origin": info.app_origin}},
    }
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=2)
        prefix = None if user else sys.prefix
        where = manager.install_kernel_spec(folder, name, user=user, prefix=prefix)
    click.echo(f"Installed the kernel {name!r} ({spec['display_name']}) in {where}")


@kernel_command.command("list")
def list_command() -> None:
    """List the kernels appshell installed, with their apps."""
    manager = _kernelspec_manager()
    found = False
    for name, path in sorted(manager.find_kernel_specs().items()):
        spec = manager.get_kernel_spec(name)
        if not _is_ours(spec):
            continue
        found = True
        app = spec.env.get(KERNEL_ENV["app"]) or "(discovered)"
        click.echo(f"{name}  {spec.display_name}  app={app}  {path}")
    if not found:
        click.echo("No appshell kernels are installed: appshell --app IMPORT kernel install")


@kernel_command.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Remove the appshell kernel NAME."""
    manager = _kernelspec_manager()
    specs = manager.find_kernel_specs()
    if name not in specs or not _is_ours(manager.get_kernel_spec(name)):
        ours = [n for n in specs if _is_ours(manager.get_kernel_spec(n))]
        raise AppShellUsageError(
            f"No appshell kernel called {name!r}. The appshell kernels are:"
            f" {', '.join(sorted(ours)) or 'none'}."
        )
    path = manager.remove_kernel_spec(name)
    click.echo(f"Removed the kernel {name!r} from {path}")
