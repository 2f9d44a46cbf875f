"""The request bounds under `partnerledger serve` (gunicorn), over raw loopback sockets: gunicorn's
own refusals are problem+json, a refused body is not drained, and the server stays responsive."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.clock import utc_now
from adapters.settings import Settings
from api.bootstrap import build_services
from tests.conftest import count_events
from tests.e2e.helpers import free_port

HOST = "127.0.0.1"
PARTNERLEDGER = Path(sys.executable).parent / "partnerledger"


@dataclass
class Server:
    port: int
    token: str
    database_url: str


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering
    seconds: float

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type", "").startswith("application/problem+json"), \
            (self.status, self.headers, self.body[:300])
        document: dict[str, Any] = json.loads(self.body)
        assert {"type", "title", "status", "detail"} <= set(document)
        assert document["status"] == self.status
        return document


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`partnerledger serve` on a free loopback port, one worker of four threads."""
    directory = tmp_path_factory.mktemp("serve")
    database_url = f"sqlite:///{directory}/x.db"
    svc = build_services(Settings(database_url=database_url, follow_interval=0))
    try:
        _, token = svc.keys.create("internal", None, utc_now())
    finally:
        svc.close()
    port = free_port()
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(
        [str(PARTNERLEDGER), "--log-level", "WARNING", "serve", "--port", str(port)],
        cwd=directory, env={**os.environ, "PARTNERLEDGER_DATABASE_URL": database_url},
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while simple(port, "GET", "/healthz").status != 200:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError((directory / "server.log").read_text())
            time.sleep(0.2)
        yield Server(port, token, database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
    assert "Traceback" not in (directory / "server.log").read_text()


def read_answer(sock: socket.socket, started: float, timeout: float = 10) -> Answer:
    """One response; then whether the server closed the connection within a second."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return Answer(-1, {}, data, True, time.perf_counter() - started)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    seconds = time.perf_counter() - started
    sock.settimeout(1)
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:
        closed = True
    except OSError:  # timed out: still open
        closed = False
    return Answer(int(lines[0].split()[1]), headers, body[:length], closed, seconds)


def exchange(port: int, request: bytes, timeout: float = 10) -> Answer:
    """Sends a whole request, reads one answer."""
    started = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(request)
            return read_answer(sock, started, timeout)
    except OSError:
        return Answer(-1, {}, b"", True, time.perf_counter() - started)


def simple(port: int, method: str, path: str) -> Answer:
    """A bodiless request on a connection of its own."""
    return exchange(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .encode())


def big_upload(port: int, token: str, size: int, results: list[tuple[Answer, int]]) -> None:
    """Announces `size` bytes and sends them while reading the answer; records bytes sent."""
    started = time.perf_counter()
    sent = 0
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(f"POST /partners HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
                     .encode())
        answer: list[Answer] = []
        reader = threading.Thread(target=lambda: answer.append(read_answer(sock, started)))
        reader.start()
        block = b" " * 65536
        try:
            while sent < size and reader.is_alive():
                sent += sock.send(block[: size - sent])
        except OSError:
            pass  # the server answered and closed: exactly what should happen
        reader.join(timeout=15)
    results.append((answer[0] if answer else Answer(-1, {}, b"", True, 0.0), sent))


def test_a_30_mb_body_is_a_413_that_closes_the_connection_unread(server: Server) -> None:
    size = 30 * 1024 * 1024
    results: list[tuple[Answer, int]] = []
    big_upload(server.port, server.token, size, results)
    answer, sent = results[0]
    assert answer.status == 413
    assert answer.problem()["type"].endswith("content-too-large")
    assert answer.headers["connection"] == "close"
    assert answer.closed
    assert answer.seconds < 3
    assert sent < size  # the server stopped reading: the rest could not even be sent


def test_an_announced_body_is_refused_without_waiting_for_it(server: Server) -> None:
    started = time.perf_counter()
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(b"POST /partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 62914560\r\n\r\n")
        answer = read_answer(sock, started)
    assert answer.status == 413
    assert answer.closed  # not held open to drain 60 MB that never comes
    assert time.perf_counter() - started < 3


def test_big_bodies_in_parallel_do_not_stall_other_requests(server: Server) -> None:
    results: list[tuple[Answer, int]] = []
    uploads = [threading.Thread(target=big_upload,
                                args=(server.port, server.token, 19 * 1024 * 1024, results))
               for _ in range(4)]
    for upload in uploads:
        upload.start()
    healthz = simple(server.port, "GET", "/healthz")
    for upload in uploads:
        upload.join(timeout=30)
    assert healthz.status == 200
    assert healthz.seconds < 2
    assert [answer.status for answer, _ in results] == [413] * 4


def test_a_chunked_body_over_one_mib_is_a_413(server: Server) -> None:
    chunk = b" " * 65536
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20 + b"0\r\n\r\n"
    answer = exchange(server.port, (
        f"POST /partners HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode() + body)
    assert answer.status == 413
    answer.problem()


def test_a_malformed_chunk_is_a_400_problem_not_a_500(server: Server) -> None:
    answer = exchange(server.port, (
        f"POST /plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\n{}\r\n0\r\n\r\n").encode())
    assert answer.status == 400
    assert answer.problem()["type"].endswith("bad-request")
    assert answer.headers["connection"] == "close"


def test_a_20_kb_request_line_is_a_414_problem(server: Server) -> None:
    answer = exchange(server.port, b"GET /partners?x=" + b"a" * 20_000 +
                      b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.status == 414
    assert answer.problem()["type"].endswith("uri-too-long")


def test_200_headers_or_one_huge_header_is_a_431_problem(server: Server) -> None:
    many = "".join(f"X-H{i}: v\r\n" for i in range(200))
    answer = exchange(server.port, f"GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    assert answer.status == 431
    assert answer.problem()["type"].endswith("header-fields-too-large")
    huge = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                    b"b" * 20_000 + b"\r\n\r\n")
    assert huge.status == 431
    huge.problem()


@pytest.mark.parametrize("request_bytes", [b"get /partners HTTP/1.1\r\nHost: x\r\n\r\n",
                                           b"HELLO\r\n\r\n",
                                           b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
                                           b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n"])
def test_requests_gunicorn_cannot_parse_are_a_400_problem(
    server: Server, request_bytes: bytes
) -> None:
    answer = exchange(server.port, request_bytes)
    assert answer.status == 400
    assert answer.problem()["type"].endswith("bad-request")


@pytest.mark.parametrize("verb", ["FOO", "BREW", "PROPFIND"])
def test_odd_verbs_are_a_405_problem_with_allow(server: Server, verb: str) -> None:
    answer = simple(server.port, verb, "/partners")
    assert answer.status == 405
    assert answer.problem()["type"].endswith("method-not-allowed")
    assert "GET" in answer.headers["allow"]


def test_after_all_that_the_server_answers_quickly_writes_nothing_and_labels_stay_fixed(
    server: Server,
) -> None:
    for _ in range(3):
        simple(server.port, "FOO" + os.urandom(4).hex().upper(), "/x")
    healthz = simple(server.port, "GET", "/healthz")
    assert healthz.status == 200
    assert healthz.seconds < 1
    metrics = simple(server.port, "GET", "/metrics").body.decode()
    methods = {part.split('"')[1] for part in metrics.split("method=")[1:]}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in methods
    svc = build_services(Settings(database_url=server.database_url, follow_interval=0))
    try:
        assert count_events(svc) == 0
    finally:
        svc.close()
