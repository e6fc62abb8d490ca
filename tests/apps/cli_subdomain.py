"""A Flask app with a route on a subdomain."""

from flask import Flask

app = Flask("cli_subdomain", static_folder=None)
app.config["SERVER_NAME"] = "example.test"
app.add_url_rule("/", endpoint="index")
app.add_url_rule("/", endpoint="api_index", subdomain="api")
