"""The appshell adapter for cli_toyframework, registered in ``appshell.adapters``."""

import sys

from appshell.adapters import BaseAdapter, Route


class ToyAdapter(BaseAdapter):
    framework = "toy"

    @classmethod
    def matches(cls, obj):
        toy = sys.modules.get("cli_toyframework")
        return toy is not None and isinstance(obj, toy.ToyApp)

    def routes(self):
        return [
            Route(rule=path, endpoint=endpoint, methods=frozenset(methods.split("|")))
            for path, endpoint, methods in self.app.routes
        ]

    def command_group(self):
        import click

        group = click.Group(self.app.name)
        for name, func in self.app.commands.items():
            group.add_command(click.Command(name, callback=func, help=func.__doc__))
        return group

    def app_context(self):
        return self.app.app_context()

    def context_is_active(self):
        import cli_toyframework

        return self.app in cli_toyframework._stack

    def shell_context(self):
        return {"toy_routes": list(self.app.routes)}
