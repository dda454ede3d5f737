"""An engine stand-in whose behaviour a test switches by signal: the probe path answers, or
stops answering while the process burns CPU (busy generating: SIGUSR1), or stops answering
with no CPU used (deadlocked: SIGHUP). SIGUSR2 makes it answer again. Like every engine, it
lists its served model (`x`) at /v1/models.

    python tests/integration/busy_engine.py PORT
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode = "answer"
MODELS = json.dumps({"object": "list", "data": [{"id": "x", "object": "model"}]}).encode()


class Probe(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        while mode != "answer":
            time.sleep(0.05)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(MODELS if self.path == "/v1/models" else b"ok")

    def log_message(self, *args: object) -> None:
        pass


def switch(to: str) -> None:
    global mode
    mode = to


def burn() -> None:
    while True:
        if mode == "spin":
            sum(range(20000))
        else:
            time.sleep(0.01)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, lambda *_: switch("spin"))
    signal.signal(signal.SIGHUP, lambda *_: switch("hang"))
    signal.signal(signal.SIGUSR2, lambda *_: switch("answer"))
    threading.Thread(target=burn, daemon=True).start()
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Probe).serve_forever()
