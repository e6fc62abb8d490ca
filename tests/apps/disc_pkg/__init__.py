"""A package whose __init__ holds the app."""

from flask import Flask

app = Flask(__name__, static_folder=None)
app.add_url_rule("/package", "package", lambda: "package")
