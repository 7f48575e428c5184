"""A threaded HTTP/1.1 server for the emulator's WSGI app: a thread per connection, connections
kept alive, each request's head parsed in one pass and its response written in one send.

werkzeug's development server (``http.server`` underneath) reads a request's head a line at a time
and parses its headers with the ``email`` package: 0.15 to 0.3 ms of the emulator's CPU a call
(0.8 -> 0.58 ms for an ``UpdateItem``, 0.8 -> 0.55 for a ten-event ``PutEvents``, measured side by
side); cheroot and uvicorn's WSGI adapter did no better. The emulator's clients are botocore's and
the runner's own: requests with a ``Content-Length`` or a chunked body, answered in full (the app's
answers are small; a long poll is a slow answer, not a stream).
"""

from __future__ import annotations

import io
import socket
import socketserver
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
MAX_HEAD = 64 * 1024  # a request head larger than this is refused (431)


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: its requests, one after another, until it closes or asks to."""

    server: WSGIServer

    def setup(self) -> None:
        # The head and body go out in one send, but a client's own small writes should not wait
        # on a delayed ACK either.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def handle(self) -> None:
        while True:
            try:
                head = self._head()
                if head is None:
                    return  # the client closed the connection between requests
                environ, keep_alive = self._environ(head)
            except BadRequest as refused:
                self._send(refused.status, [("Content-Type", "text/plain")], str(refused).encode(), False)
                return
            except OSError:
                return
            status, headers, body = self._call(environ)
            try:
                self._send(status, headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body, keep_alive,
                           length=len(body))
            except OSError:
                return
            if not keep_alive:
                return

    def _head(self) -> bytes | None:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD:
                raise BadRequest(431, "request head too large")
            chunk = self.request.recv(65536)
            if not chunk:
                if self._buffer.strip():
                    raise BadRequest(400, "incomplete request head")
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return head.lstrip(b"\r\n")  # a stray CRLF before a request line is tolerated (RFC 9112 2.2)

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.request.recv(max(65536, size - len(self._buffer)))
            if not chunk:
                raise BadRequest(400, "incomplete request body")
            self._buffer += chunk
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self.request.recv(65536)
            if not chunk:
                raise BadRequest(400, "incomplete chunked body")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _chunked(self) -> bytes:
        body = bytearray()
        while True:
            try:
                size = int(self._line().split(b";", 1)[0], 16)
            except ValueError:
                raise BadRequest(400, "bad chunk size") from None
            if size == 0:
                while self._line():  # trailers, up to the empty line
                    pass
                return bytes(body)
            body += self._read(size)
            self._read(2)  # the chunk's CRLF

    def _environ(self, head: bytes) -> tuple[dict[str, Any], bool]:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*lines[0].split(" "), "", ""][:3]
        if not (method and target and version in ("HTTP/1.0", "HTTP/1.1")) or lines[0].count(" ") != 2:
            raise BadRequest(400, "bad request line")
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query, "RAW_URI": target, "REQUEST_URI": target, "SERVER_PROTOCOL": version,
            "SERVER_NAME": str(host), "SERVER_PORT": str(port), "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest(400, "bad header line")
            key = name.strip().upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
            value = value.strip()
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        connection = environ.get("HTTP_CONNECTION", "").lower()
        keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
        if environ.get("HTTP_EXPECT", "").lower() == "100-continue":
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = self._chunked()
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        else:
            try:
                body = self._read(int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                raise BadRequest(400, "bad Content-Length") from None
        environ["wsgi.input"] = io.BytesIO(body)
        return environ, keep_alive

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        written: list[bytes] = []  # WSGI's legacy write(): what an app wrote before returning its body

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return written.append

        try:
            answer = self.server.app(environ, start_response)
            try:
                body = b"".join([*written, *answer])
            finally:
                close = getattr(answer, "close", None)
                if close:
                    close()
            return int(started[0].split(" ", 1)[0]), list(started[1]), body
        except Exception:  # a bug in the app or a patch: a 500 (its traceback on stderr), as werkzeug's
            self.server.handle_error(self.request, self.client_address)
            return 500, [("Content-Type", "text/plain")], b"Internal Server Error"

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool,
              length: int | None = None) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}",
                 *(f"{name}: {value}" for name, value in headers
                   if name.lower() not in ("content-length", "connection", "transfer-encoding")),
                 f"Content-Length: {len(body) if length is None else length}",
                 *([] if keep_alive else ["Connection: close"])]
        self.request.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)


class WSGIServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection kept alive must not keep the process from ending
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: WSGIApp) -> None:
        self.app = app
        super().__init__(address, _Connection)

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])
