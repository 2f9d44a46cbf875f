"""The gunicorn server `partnerledger serve` runs: its settings and its worker, gthread, with
the server's own refusals as problem+json and a refused body never drained."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from api.http.errors import problem_body

# gunicorn's bounds on what it reads before the app sees a request; the README lists them.
LIMIT_REQUEST_LINE = 4094
LIMIT_REQUEST_FIELDS = 100
LIMIT_REQUEST_FIELD_SIZE = 8190

# A header the application tried to send, or a bad setting, is our fault, not the client's.
SERVER_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName,
                 http_errors.ConfigurationProblem)

# (gunicorn exception, status, problem type) for the client's faults; the first match wins.
REFUSALS: tuple[tuple[type[BaseException], int, str], ...] = (
    (http_errors.LimitRequestLine, 414, "uri-too-long"),
    (http_errors.LimitRequestHeaders, 431, "header-fields-too-large"),
    (http_errors.UnsupportedTransferCoding, 501, "not-implemented"),
    (http_errors.ExpectationFailed, 417, "expectation-failed"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden"),
    (http_errors.ParseException, 400, "bad-request"),
    (ssl.SSLError, 400, "bad-request"),
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def refusal(error: BaseException) -> tuple[int, str, str]:
    """Status, problem type and detail for an error gunicorn raised while reading a request."""
    if not isinstance(error, SERVER_FAULTS):
        for kind, status, problem in REFUSALS:
            if isinstance(error, kind):
                return status, problem, str(error)[:200] or problem
    return 500, "internal-error", "An unexpected error occurred."


def problem_bytes(status: int, problem: str, detail: str) -> bytes:
    """A whole HTTP/1.1 problem+json response that closes the connection."""
    problem_json = problem_body(status, problem, detail)
    body = (json.dumps(problem_json) + "\n").encode()
    head = (f"HTTP/1.1 {status} {problem_json['title']}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def close_when_asked(app: WsgiApp) -> WsgiApp:
    """Honours an application's `Connection: close`, which gunicorn drops as hop-by-hop.

    Without it gunicorn keeps the connection and first drains the body the app refused to
    read; closing instead leaves the rest of a 60 MB upload unread.
    """

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(name.lower() == "connection" and value.lower() == "close"
                   for name, value in headers):
                # gunicorn's start_response is bound to its Response object.
                force_close = getattr(getattr(start_response, "__self__", None),
                                      "force_close", None)
                if force_close is not None:
                    force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wrapped


class ProblemWorker(ThreadWorker):
    """gthread, answering its own refusals (414, 431, 400...) as problem+json."""

    wsgi: WsgiApp

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = close_when_asked(self.wsgi)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, problem, detail = refusal(exc)
        if status == 500:
            self.log.exception("Error handling request", exc_info=exc)
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], detail)
        try:
            util.write_nonblock(client, problem_bytes(status, problem, detail))
        except Exception:
            self.log.debug("Failed to send error response.")


class Server(BaseApplication):
    """gunicorn with the limits above and the problem+json worker; each worker loads its app."""

    def __init__(self, bind: str, workers: int, threads: int,
                 load: Callable[[], WsgiApp]) -> None:
        self.options = {"bind": bind, "workers": workers, "threads": threads}
        self.loader = load
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        self.cfg.set("worker_class", f"{__name__}.{ProblemWorker.__name__}")
        self.cfg.set("limit_request_line", LIMIT_REQUEST_LINE)
        self.cfg.set("limit_request_fields", LIMIT_REQUEST_FIELDS)
        self.cfg.set("limit_request_field_size", LIMIT_REQUEST_FIELD_SIZE)
        self.cfg.set("accesslog", "-")
        self.cfg.set("graceful_timeout", 10)

    def load(self) -> WsgiApp:
        return self.loader()


def serve(host: str, port: int, workers: int, threads: int, load: Callable[[], WsgiApp]) -> None:
    """Serves until stopped; `load` builds each worker's app (connection pools do not survive
    a fork, so every worker builds its own)."""
    Server(f"{host}:{port}", workers, threads, load).run()
