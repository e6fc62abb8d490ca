"""A plain WSGI callable instance named ``app``."""


class HelloApp:
    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]


app = HelloApp()
