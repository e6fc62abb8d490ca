"""A module without __all__, for a profile's "profile_helpers:*" import."""

ANSWER = 42


def greet(name):
    return f"hello {name}"


def _private():
    return "a * import leaves out names starting with an underscore"
