"""A proxy in front of an object store's HTTP endpoint that misbehaves as networks and busy
servers do: answers some requests 503 SlowDown, drops some connections after reading the request,
and delays every request. Used by tests/storage/object_stores.py (retries) and benches/org.py
(a bucket across a network). Python's standard library only.
"""

import http.client
import http.server
import socket
import threading
import time


class Faults:
    """A proxy in front of the server listening on `upstream`: every `slow_down`-th request is
    answered 503 SlowDown, every `drop`-th has its connection closed after the request was read,
    unanswered; each request waits `delay` seconds first. `most_in_flight` is the most requests
    it held at once."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.count = 0
        self.slowed = 0
        self.dropped = 0
        self.slow_down = 0
        self.drop = 0
        self.delay = 0.0
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        faults = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with faults.lock:
                    faults.count += 1
                    n = faults.count
                    faults.in_flight += 1
                    faults.most_in_flight = max(faults.most_in_flight, faults.in_flight)
                try:
                    self.answer(n, body)
                finally:
                    with faults.lock:
                        faults.in_flight -= 1

            def answer(self, n, body):
                time.sleep(faults.delay)
                if faults.slow_down and n % faults.slow_down == 0:
                    with faults.lock:
                        faults.slowed += 1
                    msg = (b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
                           b"<Message>Please reduce your request rate.</Message></Error>")
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                if faults.drop and n % faults.drop == 0:
                    with faults.lock:
                        faults.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", faults.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items()}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

            def log_message(self, *args):
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client gone after a dropped connection

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
