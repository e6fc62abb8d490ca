"""Two apps and no app named ``app``: ambiguous unless one is named."""

from flask import Flask

first = Flask("first", static_folder=None)
first.add_url_rule("/first", "first", lambda: "first")

second = Flask("second", static_folder=None)
second.add_url_rule("/second", "second", lambda: "second")
