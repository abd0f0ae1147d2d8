"""A Flask 3 upstream on werkzeug's server, as admin APIs are written: one
route per resource, every method, and each request recorded as Flask ran it
(werkzeug upper-cases the method before dispatching: `delete` runs DELETE).

    python flask_app.py PORT

GET /_ran lists what ran (method, path) and clears the list.
"""
import json
import logging
import sys
import threading

from flask import Flask, jsonify, request

app = Flask(__name__)
ran = []
lock = threading.Lock()
ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@app.route("/_ran")
def list_ran():
    with lock:
        seen = list(ran)
        ran.clear()
    return jsonify(seen)


@app.route("/", defaults={"rest": ""}, methods=ALL)
@app.route("/<path:rest>", methods=ALL)
def anything(rest):
    with lock:
        ran.append({"method": request.method, "path": request.path,
                    "roles": request.headers.get("x-rolegate-roles")})
    return jsonify({"ran": request.method, "path": request.path})


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print(json.dumps({"listening": int(sys.argv[1])}), flush=True)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
