"""A tiny Docker Engine API over TCP, for what a real Linux dockerd cannot show here.

Reached as a user's tools reach a remote engine: ``DOCKER_HOST=tcp://127.0.0.1:PORT``. It
answers as the engines of other OSes do: ``/info`` with ``OSType: windows`` (Docker
Desktop switched to Windows containers) or ``OperatingSystem: Docker Desktop`` (an engine
in a VM, whose loopback is not the user's); it records what the client asked for (the
build's ``platform`` and ``networkmode``, a container's ``HostConfig.NetworkMode``); and a
build can be made to hang after its first line, as a silent RUN step does, so a test can
see whether Ctrl+C still lands. Only the endpoints the tool calls; the rest answer 404.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.43"


@dataclass
class Request:
    method: str
    path: str  # without the /v1.xx prefix
    query: dict[str, str]
    body: Any = None


@dataclass
class FakeDockerApi:
    os_type: str = "linux"
    operating_system: str = "Debian GNU/Linux 12 (bookworm)"
    #: a build sends its first line, then nothing until the client goes away
    hang_build: bool = False
    #: a build has finished: its image can be inspected (the build reads its size)
    built: bool = False
    requests: list[Request] = field(default_factory=list)
    build_started: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def docker_host(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"tcp://{host}:{port}"

    def seen(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def start(self) -> FakeDockerApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(
                self, status: int, body: Any, content_type: str = "application/json"
            ) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Api-Version", API_VERSION)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _request(self) -> Request:
                url = urlsplit(self.path)
                path = re.sub(r"^/v[0-9.]+", "", url.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    raw = self._chunked()
                body: Any = raw
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw)
                request = Request(self.command, path, query, body)
                fake.requests.append(request)
                return request

            def _chunked(self) -> bytes:
                out = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                r = self._request()
                if r.path == "/_ping":
                    self._answer(200, b"OK", "text/plain")
                elif r.path == "/version":
                    self._answer(
                        200,
                        {"ApiVersion": API_VERSION, "Os": fake.os_type, "Version": "27.0.0-fake"},
                    )
                elif r.path == "/info":
                    self._answer(
                        200,
                        {
                            "OSType": fake.os_type,
                            "OperatingSystem": fake.operating_system,
                            "Architecture": "x86_64",
                            "Name": "fake-engine",
                        },
                    )
                elif r.path.startswith("/images/") and r.path.endswith("/json") and fake.built:
                    # an image inspect, as the engine answers it for the image just built
                    self._answer(200, {"Id": "sha256:" + "0" * 64, "Size": 2_000_000})
                else:
                    self._answer(404, {"message": f"no such endpoint in the fake: {r.path}"})

            def do_POST(self) -> None:  # noqa: N802
                r = self._request()
                if r.path == "/build":
                    self._build()
                elif r.path == "/containers/create":
                    self._answer(201, {"Id": "0123456789ab", "Warnings": []})
                else:
                    self._answer(404, {"message": f"no such endpoint in the fake: {r.path}"})

            def _build(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Api-Version", API_VERSION)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunk(event: dict[str, Any]) -> None:
                    data = json.dumps(event).encode() + b"\r\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

                chunk({"stream": "Step 1/2 : FROM scratch\n"})
                fake.build_started.set()
                if fake.hang_build:
                    fake._release.wait()  # a silent RUN step: nothing more until released
                    return
                chunk({"aux": {"ID": "sha256:" + "0" * 64}})
                chunk({"stream": "Successfully built 000000000000\n"})
                fake.built = True
                self.wfile.write(b"0\r\n\r\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
