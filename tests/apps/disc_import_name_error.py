"""An app module importing a name its dependency does not have."""

from os import no_such_name_disc  # the missing name

from flask import Flask

app = Flask(__name__, static_folder=None)
