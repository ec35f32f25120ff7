"""Serve a deployed REST API over real HTTP on ``127.0.0.1``, one request at a time.

:class:`LocalServer` (``LocalCloud.serve``) listens on a port of the loopback address and
answers each request with one call of the stage's request function (``ApiGateway.request``
bound to an API and a stage), so a browser, ``curl`` or a page's ``fetch`` calls reach the
stack's real integrations. The URL layout mirrors a stage's invoke URL:
``https://{id}.execute-api.{region}.amazonaws.com/{stage}/{path}`` is served as
``http://127.0.0.1:{port}/{stage}/{path}``.

* The first path segment names the stage; one that is not a deployed stage answers
  ``403 {"message":"Forbidden"}`` with ``x-amzn-ErrorType: ForbiddenException``, as API
  Gateway does. The rest of the path, as sent (not percent-decoded), is the path after the
  stage; the query string is decoded into each parameter's values, in order.
* Repeated request headers reach the API as one header, their values joined by ``, ``.
* A body is read by its ``Content-Length``; a chunked request body answers ``411``.
* The response carries the status, every value of every header on a line of its own, a
  ``Content-Length`` and the body bytes; a ``HEAD`` request gets the headers only. Each
  connection is closed after its response.
* An exception raised while answering (``NotImplementedError`` for an integration that is
  not emulated, or any other) answers ``500`` with ``{"message": "<the error>"}``, is
  logged, and is kept in :attr:`LocalServer.errors`; the server goes on serving.

Requests are answered one at a time, under a lock: the local cloud swaps ``os.environ``
and ``sys.modules`` around each handler invocation and is not thread safe. The serving
threads are daemon threads, and the server never binds an address other hosts can reach.
:meth:`LocalServer.close` returns once the request being answered is answered; requests
still waiting for their turn then answer ``503``.
"""

from __future__ import annotations

import json
import logging
import re
import socketserver
import threading
import uuid
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    import io
    from types import TracebackType

    from lambda_blueprints.testing.apigateway import HttpResponse

#: The only address the server binds: the loopback address, unreachable from other hosts.
HOST = "127.0.0.1"

logger = logging.getLogger(__name__)

# Headers the server writes itself, for the connection rather than the API.
_CONNECTION_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN = b'{"message":"Forbidden"}'
_MAX_LINE = 65537


class StageRequest(Protocol):
    """One stage's request function: ``ApiGateway.request`` with its API and stage bound."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        """Answer a request to the stage.

        Args:
            method: The HTTP method.
            path: The path after the stage, starting with ``/``, without a query string.
            query: Every value of every query string parameter, in order.
            headers: The request headers.
            body: The request body; None when the request has none.

        Returns:
            The response.
        """
        ...


class LocalServer:
    """A REST API's stages served over HTTP on ``127.0.0.1``; starts when created.

    Use it as a context manager (``with cloud.serve() as server:``), or call
    :meth:`close` when done. ``LocalCloud.serve`` makes one.

    Args:
        stages: Each stage's request function, by stage name.
        port: The port to listen on; 0 picks a free (ephemeral) port.
        lock: The lock each request is answered under; share one among the servers of a
            local cloud. A new lock by default.
        root: Answer every path with this function instead, the whole path given to it
            (a CloudFront distribution); ``stages`` is then empty.

    Raises:
        OSError: The port cannot be bound (it is in use, for one).
    """

    def __init__(
        self,
        stages: Mapping[str, StageRequest],
        *,
        port: int = 0,
        lock: threading.Lock | None = None,
        root: StageRequest | None = None,
    ) -> None:
        self._stages = dict(stages)
        self._root = root
        self._lock = lock or threading.Lock()
        #: Exceptions raised while answering requests, in order (each answered ``500``).
        self.errors: list[Exception] = []
        self._httpd = _HttpServer((HOST, port), self)
        #: The port the server listens on.
        self.port: int = self._httpd.server_address[1]
        #: The server's base URL, ``http://127.0.0.1:{port}/``.
        self.url = f"http://{HOST}:{self.port}/"
        self._closed = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"LocalServer:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def stages(self) -> list[str]:
        """The names of the stages served, sorted."""
        return sorted(self._stages)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def stage_url(self, stage: str | None = None) -> str:
        """The base URL of a stage, ending in ``/``: ``http://127.0.0.1:{port}/{stage}/``.

        Args:
            stage: The stage name; None for the API's only stage.

        Returns:
            The URL.

        Raises:
            ValueError: No such stage, or None when the API has several stages (or none).
        """
        if stage is None:
            if len(self._stages) != 1:
                raise ValueError(f"the API has stages {self.stages}: pass a stage name")
            (stage,) = self._stages
        elif stage not in self._stages:
            raise ValueError(f"the API has no stage {stage!r}: {self.stages}")
        return f"{self.url}{stage}/"

    def close(self) -> None:
        """Stop listening and free the port, once the request being answered is answered.

        A request that arrived before and is still waiting for its turn answers ``503``.
        """
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        with self._lock:
            # The request being answered, if any, has finished: nothing runs any more.
            pass

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving"
        return f"<LocalServer {self.url} {state} stages={self.stages}>"

    # -- requests --------------------------------------------------------------------

    def _answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The status, header lines and body that answer a request; never raises."""
        path, _, query_text = target.partition("?")
        if not path.startswith("/"):
            # An absolute-form target (``http://host/path``), as sent to a proxy.
            path = urlsplit(target).path or "/"
        if self._root is not None:
            request: StageRequest | None = self._root
            slash, after = "/", path.lstrip("/")
        else:
            _, _, rest = path.partition("/")
            stage, slash, after = rest.partition("/")
            request = self._stages.get(stage)
        if request is None:
            return _forbidden()
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query_text, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        try:
            with self._lock:
                if self._closed:
                    return _json_reply(503, {"message": "the local server is closed"})
                response = request(
                    method, slash + after or "/", query=query, headers=headers, body=body
                )
            return response.status, _header_lines(response), response.content
        except Exception as error:
            logger.exception("the local cloud failed to answer %s %s", method, target)
            self.errors.append(error)
            return _json_reply(500, {"message": str(error) or type(error).__name__})


class _HttpServer(ThreadingHTTPServer):
    """The listening socket: a thread per connection, daemon threads, loopback only."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: LocalServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's name (a DNS query); nothing needs it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request; the API's own errors never get here.
        logger.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Turns one HTTP request into one call of a stage's request function."""

    protocol_version = "HTTP/1.1"
    #: Seconds a client may keep the server waiting for the rest of its request.
    timeout = 60

    def do_GET(self) -> None:
        """Answer a ``GET`` request."""
        self._serve()

    def do_HEAD(self) -> None:
        """Answer a ``HEAD`` request: the headers a ``GET`` would get, no body."""
        self._serve()

    def do_POST(self) -> None:
        """Answer a ``POST`` request."""
        self._serve()

    def do_PUT(self) -> None:
        """Answer a ``PUT`` request."""
        self._serve()

    def do_PATCH(self) -> None:
        """Answer a ``PATCH`` request."""
        self._serve()

    def do_DELETE(self) -> None:
        """Answer a ``DELETE`` request."""
        self._serve()

    def do_OPTIONS(self) -> None:
        """Answer an ``OPTIONS`` request."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Send the access log to :mod:`logging` at DEBUG, not to stderr."""
        logger.debug("%s - " + format, self.address_string(), *args)

    def _serve(self) -> None:
        self.close_connection = True
        owner = cast("_HttpServer", self.server).owner
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # Read the body first, so that the client gets to read the answer.
            _discard_chunks(self.rfile)
            status, lines, content = _json_reply(411, {"message": "Length Required"})
        else:
            length = _content_length(self.headers.get_all("Content-Length") or [])
            if length is None:
                status, lines, content = _json_reply(400, {"message": "Bad Request"})
            else:
                body = self.rfile.read(length) if length else None
                status, lines, content = owner._answer(
                    self.command, self.path, _joined_headers(self.headers.items()), body
                )
        self.send_response_only(status)
        if not any(name.lower() == "date" for name, _ in lines):
            self.send_header("Date", self.date_time_string())
        for name, value in lines:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)
        self.log_request(status, len(content))


def _discard_chunks(stream: io.BufferedIOBase) -> None:
    """Read a chunked body to its end (or to the first malformed chunk) and drop it."""
    while True:
        size_line = stream.readline(_MAX_LINE)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return
        if size == 0:
            while stream.readline(_MAX_LINE).strip():
                pass
            return
        while size > 0:
            read = len(stream.read(min(size, 65536)))
            if not read:
                return
            size -= read
        stream.readline(_MAX_LINE)


def _content_length(values: Sequence[str]) -> int | None:
    """The body's length from the ``Content-Length`` headers (0 without one); None if bad."""
    if not values:
        return 0
    if len(set(values)) != 1 or not values[0].strip().isdigit():
        return None
    return int(values[0])


def _joined_headers(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Request headers by name as sent; a repeated header's values joined by ``, ``."""
    headers: dict[str, str] = {}
    for name, value in items:
        existing = next((key for key in headers if key.lower() == name.lower()), None)
        if existing is None:
            headers[name] = value
        else:
            headers[existing] = f"{headers[existing]}, {value}"
    return headers


def _header_lines(response: HttpResponse) -> list[tuple[str, str]]:
    """Every value of every response header, one line each, checked for the wire.

    Raises:
        ValueError: A header name or value that cannot be sent in an HTTP response.
    """
    lines: list[tuple[str, str]] = []
    for name, values in response.multi_value_headers.items():
        if name.lower() in _CONNECTION_HEADERS:
            continue
        if not _TOKEN.match(name):
            raise ValueError(f"the response header name {name!r} cannot be sent over HTTP")
        for value in values:
            if any(c in value for c in "\r\n\0") or not _latin_1(value):
                raise ValueError(f"the value {value!r} of {name} cannot be sent over HTTP")
            lines.append((name, value))
    return lines


def _latin_1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _json_reply(
    status: int, document: Mapping[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()


def _forbidden() -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's answer to a stage that does not exist."""
    lines = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amzn-ErrorType", "ForbiddenException"),
    ]
    return 403, lines, _FORBIDDEN


__all__ = ["HOST", "LocalServer", "StageRequest"]
