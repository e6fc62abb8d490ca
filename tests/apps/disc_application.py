"""A Flask app named ``application``."""

from flask import Flask

application = Flask(__name__, static_folder=None)
application.add_url_rule("/named-application", "named_application", lambda: "application")
