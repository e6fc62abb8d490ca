"""A toy app under a name discovery does not look for: found only by scanning."""

from cli_toyframework import ToyApp, current_app

website = ToyApp("toysite")


@website.route("/")
def home():
    return "home"


@website.route("/contact", methods="GET|POST")
def contact():
    return "contact"


@website.command
def hello():
    """Say hello from inside the toy app context."""
    print(f"hello from {current_app().name}")
