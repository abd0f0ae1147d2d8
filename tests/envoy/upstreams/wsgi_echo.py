"""A WSGI upstream on the standard library's wsgiref: answers every request
with the CGI environment it got (method, path, every HTTP_* variable) as JSON.
CGI maps '-' and '_' in header names to the same variable, which is how an
underscore spelling of an identity header reaches a WSGI app.

    python3 wsgi_echo.py PORT
"""
import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server


def app(environ, start_response):
    seen = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    seen["REQUEST_METHOD"] = environ["REQUEST_METHOD"]
    seen["PATH_INFO"] = environ.get("PATH_INFO", "")
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = make_server("127.0.0.1", int(sys.argv[1]), app, handler_class=QuietHandler)
    print("listening", flush=True)
    server.serve_forever()
