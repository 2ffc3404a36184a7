"""A hostile web server on 127.0.0.1: pages that never end, drip, blow up when
decompressed, redirect elsewhere. Real sockets, for the web source's limits."""

from __future__ import annotations

import functools
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzipped (about a thousandth of it), without holding them
    (made once per test process: compressing 256 MB costs a second)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    out = [c.compress(block) for _ in range(size >> 20)]
    return b"".join(out) + c.flush()


class Hostile:
    def __init__(self, pages: dict[str, bytes], elsewhere: str = ""):
        self.pages = pages                 # path -> HTML for the well-behaved pages
        self.elsewhere = elsewhere         # where /redirect-out sends a client
        self.bomb = gzip_bomb(256 << 20)   # 256 MB of zeros, a quarter of a MB on the wire
        self.stop = threading.Event()
        self.hits: list[str] = []
        self.header_drips = {"/drip-headers"}   # paths whose headers come a line every half second, for ever

    def serve(self) -> ThreadingHTTPServer:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle(self):
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass                                      # the client gave up: as it should

            def do_GET(self):
                hostile.hits.append(self.path)
                self._answer()

            def _answer(self):
                path = self.path
                if path in hostile.header_drips:              # the body never starts: headers go on and on
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    n = 0
                    while not hostile.stop.wait(0.5):
                        n += 1
                        self.wfile.write(b"X-Drip-%d: still coming\r\n" % n)
                        self.wfile.flush()
                    return
                if path in hostile.pages:
                    return self._send(200, hostile.pages[path], "text/html; charset=utf-8")
                if path == "/drip":                           # a byte every half second, for ever
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(10 ** 9))
                    self.end_headers()
                    while not hostile.stop.wait(0.5):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    return
                if path == "/endless":                        # as fast as it goes, never ending
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"<p>" + b"x" * 65536 + b"</p>"
                    while not hostile.stop.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    return
                if path == "/bomb":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(hostile.bomb)))
                    self.end_headers()
                    self.wfile.write(hostile.bomb)
                    return
                if path == "/redirect-out":
                    self.send_response(302)
                    self.send_header("Location", hostile.elsewhere)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(404, b"not found", "text/plain")

            def _send(self, status, body, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return httpd

    def close(self, httpd) -> None:
        self.stop.set()
        httpd.shutdown()
        httpd.server_close()
