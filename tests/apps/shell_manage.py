"""A custom script (manage.py pattern) whose group and subgroup add shell-context providers."""

from flask import Flask

from appshell.cli import AppShellGroup, shell_command


class AdapterDB:
    pass


class ModelsDB:
    pass


class AdminDB:
    pass


class User:
    pass


def create_app():
    app = Flask("shell_manage")

    @app.shell_context_processor
    def database():
        return {"db": AdapterDB()}

    return app


cli = AppShellGroup(create_app=create_app, help="Management script for shell_manage.")


@cli.shell_context
def models():
    return {"User": User, "db": ModelsDB()}


@cli.shell_context(name="helpers")
def make_helpers():
    return {"User": User, "answer": 42}


@cli.group()
def admin():
    """A subgroup with a shell of its own."""


admin.add_command(shell_command)


@admin.shell_context
def admin_names():
    return {"db": AdminDB(), "audit": []}
