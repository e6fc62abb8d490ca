"""WSGI callables under names of their own: found only when named explicitly."""


def hello_world(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


class Handler:
    def __call__(self, environ, start_response):
        return hello_world(environ, start_response)


wsgi_handler = hello_world
handler = Handler()
