"""Flask's tests/test_apps/cliapp/app.py."""

from flask import Flask

testapp = Flask("testapp")
