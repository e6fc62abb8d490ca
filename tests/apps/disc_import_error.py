"""An app module whose own import of a dependency fails."""

import nosuchdependency_disc  # the missing dependency
from flask import Flask

app = Flask(__name__, static_folder=None)
