"""A real HTTP server on 127.0.0.1 for webhook tests (`http.server` in an owned thread).

    receiver = WebhookReceiver([500, 200])   # the answers, in order; the last one repeats
    receiver.start()
    receiver.url                              # http://127.0.0.1:PORT/hook
    receiver.received                         # [(headers, body)] of every POST, in order
    receiver.close()                          # shuts down and joins every thread

An answer "hang" holds the request without answering until the receiver is closed (a receiver
that never answers, for the client's timeout).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self, answers: list[int | str] | None = None) -> None:
        self.answers = list(answers or [200])
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.got_request = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    index = min(len(receiver.received), len(receiver.answers)) - 1
                    answer = receiver.answers[index]
                receiver.got_request.set()
                if answer == "hang":
                    receiver._release.wait(60)
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # joined at close
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        self._thread.join(10)
