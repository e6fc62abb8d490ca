"""A Flask app whose rules sort differently by endpoint, methods, rule and match order."""

from flask import Flask

app = Flask("cli_routesapp", static_folder=None)
app.add_url_rule("/c", endpoint="bravo", methods=["GET"])
app.add_url_rule("/b", endpoint="alpha", methods=["POST"])
app.add_url_rule("/a", endpoint="charlie", methods=["DELETE"])
