"""A plain WSGI app for the profile tests: its shell has only the default names."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"profiles"]
