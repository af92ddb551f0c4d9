"""A stand-in for Docker Hub's repository API (hub.docker.com), over HTTPS on loopback.

What it holds to, from docs.docker.com/reference/api/hub/latest/:

- ``POST /v2/auth/token`` ``{"identifier", "secret"}`` answers ``{"access_token"}``, or
  401 for a wrong password / token;
- ``GET /v2/namespaces/{namespace}/repositories/{repository}`` answers the repository
  (``namespace``, ``name``, ``is_private``, ...) or 404 ``{"message": "not found"}``;
  a private repository is visible to its owner only (anyone else gets 404);
- ``POST /v2/namespaces/{namespace}/repositories`` with ``name`` (2-255 chars,
  ``^[a-z0-9]+(?:[._-][a-z0-9]+)*$``), ``namespace``, ``is_private`` (default false)
  creates it (201); only the namespace's owner may (403 ``permission denied``); an
  existing name answers 409.

And what the product pages say about the plans: a repository that does not exist is
created **on the first push** with the account's default visibility (public unless the
account changed it), see :meth:`DockerHubAPI.receive_push`; a free (Personal) account
has one private repository, so creating a second private one is refused. The docs do not
give that refusal's status code: this stand-in answers 400 with a message, and the
product must not depend on the code.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.support.arm import LocalCA, TLSThreadingServer

_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_REPO_PATH = re.compile(r"^/v2/namespaces/([^/]+)/repositories(?:/([^/]+))?/?$")


@dataclass
class HubRepository:
    namespace: str
    name: str
    is_private: bool

    def doc(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "is_private": self.is_private,
            "repository_type": "image",
            "status": 1,
            "description": "",
        }


@dataclass
class Account:
    password: str
    private_limit: int = 1  # the Personal (free) plan
    default_private: bool = False  # what a first push creates


@dataclass(frozen=True)
class HubSeen:
    method: str
    path: str
    body: dict[str, Any]
    authorization: str


@dataclass
class _State:
    accounts: dict[str, Account] = field(default_factory=dict)
    repositories: dict[str, HubRepository] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    seen: list[HubSeen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    def do_POST(self) -> None:
        self.server.owner._handle(self)


class DockerHubAPI:
    """``url`` is what ``DOCKER_HUB_API_URL`` points at."""

    def __init__(self, ca: LocalCA) -> None:
        self.ca = ca
        self.state = _State()
        self._lock = threading.Lock()
        self._server: TLSThreadingServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DockerHubAPI:
        server = TLSThreadingServer(
            ("127.0.0.1", 0), _Handler, self.ca.server_context("127.0.0.1", "localhost")
        )
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.state = _State()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # --- knobs -----------------------------------------------------------------------

    def add_account(self, user: str, password: str, *, private_limit: int = 1) -> None:
        with self._lock:
            self.state.accounts[user] = Account(password, private_limit)

    def add_repository(self, namespace: str, name: str, *, private: bool) -> None:
        with self._lock:
            self.state.repositories[f"{namespace}/{name}"] = HubRepository(namespace, name, private)

    def repository(self, namespace: str, name: str) -> HubRepository | None:
        return self.state.repositories.get(f"{namespace}/{name}")

    def receive_push(self, namespace: str, name: str) -> HubRepository:
        """What Docker Hub's registry does on a push: a missing repository is created with
        the account's default visibility (public on most accounts)."""
        with self._lock:
            key = f"{namespace}/{name}"
            if key not in self.state.repositories:
                account = self.state.accounts.get(namespace)
                private = account.default_private if account else False
                self.state.repositories[key] = HubRepository(namespace, name, private)
            return self.state.repositories[key]

    @property
    def seen(self) -> list[HubSeen]:
        return list(self.state.seen)

    # --- serving ---------------------------------------------------------------------

    def _send(self, h: _Handler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(h, 400, {"message": "invalid JSON"})
            return
        path = urlsplit(h.path).path
        auth = h.headers.get("Authorization", "")
        with self._lock:
            self.state.seen.append(HubSeen(h.command, path, body, auth))
            user = self.state.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if h.command == "POST" and path == "/v2/auth/token":
            self._token(h, body)
            return
        match = _REPO_PATH.match(path)
        if match is None:
            self._send(h, 404, {"message": "not found"})
            return
        namespace, name = match.group(1), match.group(2)
        if h.command == "GET" and name:
            repo = self.repository(namespace, name)
            if repo is None or (repo.is_private and user != namespace):
                self._send(h, 404, {"errinfo": None, "message": "not found"})
            else:
                self._send(h, 200, repo.doc())
            return
        if h.command == "POST" and not name:
            self._create(h, namespace, body, user)
            return
        self._send(h, 405, {"message": "method not allowed"})

    def _token(self, h: _Handler, body: dict[str, Any]) -> None:
        user, secret = body.get("identifier"), body.get("secret")
        account = self.state.accounts.get(str(user))
        if account is None or secret != account.password:
            self._send(h, 401, {"message": "incorrect username or password"})
            return
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.state.tokens[token] = str(user)
        self._send(h, 200, {"access_token": token})

    def _create(self, h: _Handler, namespace: str, body: dict[str, Any], user: str | None) -> None:
        if user is None:
            self._send(h, 401, {"errinfo": None, "message": "unauthorized"})
            return
        if user != namespace:
            self._send(h, 403, {"errinfo": None, "message": "permission denied"})
            return
        name = body.get("name")
        private = body.get("is_private", False)
        if (
            not isinstance(name, str)
            or not 2 <= len(name) <= 255
            or not _NAME_RE.match(name)
            or body.get("namespace") != namespace
            or not isinstance(private, bool)
        ):
            self._send(h, 400, {"errinfo": None, "message": "invalid repository request"})
            return
        with self._lock:
            key = f"{namespace}/{name}"
            if key in self.state.repositories:
                self._send(h, 409, {"errinfo": None, "message": "repository already exists"})
                return
            account = self.state.accounts[user]
            owned = sum(
                1
                for r in self.state.repositories.values()
                if r.namespace == namespace and r.is_private
            )
            if private and owned >= account.private_limit:
                self._send(
                    h,
                    400,
                    {
                        "errinfo": None,
                        "message": "you have reached the private repository limit of your plan",
                    },
                )
                return
            repo = HubRepository(namespace, name, private)
            self.state.repositories[key] = repo
        self._send(h, 201, repo.doc())
