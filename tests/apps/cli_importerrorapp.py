"""Flask's test_apps/cliapp/importerrorapp.py: the module itself raises ImportError."""

from flask import Flask

raise ImportError()

testapp = Flask("testapp")
