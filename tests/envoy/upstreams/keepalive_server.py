"""Python's http.server with HTTP/1.1 keep-alive, as a small admin API might
run it: handlers that have no use for a body never read it, so on a kept
connection the body's bytes are read as the next request. Records every
request line it parses, with the identity headers it saw.

    python keepalive_server.py PORT

GET /_ran lists what ran and clears the list (on a fresh connection).
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ran = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body=b"{}"):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self):
        with lock:
            ran.append({"method": self.command, "path": self.path,
                        "roles": self.headers.get("x-rolegate-roles")})

    def do_GET(self):
        if self.path == "/_ran":
            with lock:
                seen = list(ran)
                ran.clear()
            self.answer(json.dumps(seen).encode())
            return
        self.record()
        self.answer()

    # Neither reads a body: a preflight or a DELETE has none, they assume.
    def do_OPTIONS(self):
        self.record()
        self.answer()

    do_DELETE = do_OPTIONS
    do_HEAD = do_GET


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(json.dumps({"listening": int(sys.argv[1])}), flush=True)
    server.serve_forever()
