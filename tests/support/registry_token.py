"""A registry that signs in like Docker Hub: a bearer token service plus a registry, on loopback.

Docker Hub's registry (registry-1.docker.io) answers an anonymous request with 401 and
``WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
scope="repository:<name>:pull"``. The client asks the realm for a token, with basic
credentials or anonymously, and repeats the request with ``Authorization: Bearer``. The
token service answers wrong credentials with 401 ``{"details": "incorrect username or
password"}``; an anonymous or signed-in token carries pull access only to repositories
that user may read, so a private repository and one that does not exist look alike (401
with ``error="insufficient_scope"``). A manifest HEAD answers with ``Docker-Content-Digest``
and only in a media type the client accepts. Pull rate limits come back as 429 with
``Retry-After``. (docs.docker.com/registry/spec/auth/token/, /docker-hub/download-rate-limit/,
distribution spec "Checking if content exists in the registry".)

Two HTTPS listeners (trustme certificates from :class:`tests.support.arm.LocalCA`), so the
token never travels to the wrong host and TLS trust goes through REQUESTS_CA_BUNDLE. Every
request is recorded for assertions; :meth:`fail_next` injects 429 or 5xx answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.arm import LocalCA, TLSThreadingServer

SERVICE = "registry.test"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class Manifest:
    media_type: str
    body: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.body).hexdigest()


@dataclass
class Repository:
    public: bool = False
    readers: set[str] = field(default_factory=set)
    tags: dict[str, Manifest] = field(default_factory=dict)
    manifests: dict[str, Manifest] = field(default_factory=dict)  # by digest: index entries
    blobs: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request as a server received it."""

    server: str  # "registry" or "auth"
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str
    accept: str

    @property
    def auth_scheme(self) -> str:
        return self.authorization.split(" ", 1)[0].lower() if self.authorization else ""


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _platform_doc(platform: str) -> dict[str, str]:
    os_name, arch, *variant = platform.split("/")
    return {"os": os_name, "architecture": arch} | ({"variant": variant[0]} if variant else {})


def config_blob(platform: str, seed: str = "") -> bytes:
    """An image configuration (the blob a single manifest's ``config`` points at)."""
    doc = _platform_doc(platform) | {"rootfs": {"type": "layers", "diff_ids": []}, "seed": seed}
    return json.dumps(doc, sort_keys=True).encode()


def make_manifest(
    media_type: str = MANIFEST_V2, seed: str = "", platform: str = "linux/amd64"
) -> tuple[Manifest, dict[str, bytes]]:
    """A single manifest of the given type and the config blob it points at."""
    config = config_blob(platform, seed)
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": digest, "size": len(config)},
        "layers": [],
    }  # fmt: skip
    return Manifest(media_type, json.dumps(doc, sort_keys=True).encode()), {digest: config}


def make_index(
    platforms: tuple[str, ...], seed: str = "", attestations: bool = True
) -> tuple[Manifest, list[Manifest], dict[str, bytes]]:
    """An OCI index with one entry per platform (plus buildx's attestation entries)."""
    entries: list[dict[str, Any]] = []
    children: list[Manifest] = []
    blobs: dict[str, bytes] = {}
    for platform in platforms:
        child, child_blobs = make_manifest(OCI_MANIFEST, f"{seed}{platform}", platform)
        children.append(child)
        blobs |= child_blobs
        entries.append({"mediaType": OCI_MANIFEST, "digest": child.digest,
                        "size": len(child.body), "platform": _platform_doc(platform)})  # fmt: skip
        if attestations:
            entries.append(
                {"mediaType": OCI_MANIFEST, "digest": child.digest, "size": len(child.body),
                 "platform": {"architecture": "unknown", "os": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": child.digest}}
            )  # fmt: skip
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    return Manifest(OCI_INDEX, json.dumps(doc, sort_keys=True).encode()), children, blobs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.owner._handle(self, self.server.role)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, self.server.role)


class TokenRegistry:
    """``registry_url`` / ``host`` (127.0.0.1:port) for image references, ``auth_url`` the realm."""

    def __init__(self, ca: LocalCA) -> None:
        self.ca = ca
        self.users: dict[str, str] = {}
        self.repositories: dict[str, Repository] = {}
        self.seen: list[Seen] = []
        self.send_digest_header = True
        self._faults: dict[str, list[tuple[int, dict[str, str]]]] = {"registry": [], "auth": []}
        self._grants: dict[str, set[str]] = {}  # token -> repositories it may pull
        self._lock = threading.Lock()
        self._servers: list[TLSThreadingServer] = []
        self._threads: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> TokenRegistry:
        for role in ("registry", "auth"):
            server = TLSThreadingServer(
                ("127.0.0.1", 0), _Handler, self.ca.server_context("127.0.0.1", "localhost")
            )
            server.owner, server.role = self, role  # type: ignore[attr-defined]
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.users.clear()
            self.repositories.clear()
            self.seen.clear()
            self._grants.clear()
            self._faults = {"registry": [], "auth": []}
            self.send_digest_header = True

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def registry_url(self) -> str:
        return f"https://{self.host}"

    @property
    def auth_url(self) -> str:
        return f"https://127.0.0.1:{self._servers[1].server_address[1]}/token"

    # --- knobs -----------------------------------------------------------------------

    def add_image(
        self,
        name: str,
        tag: str,
        *,
        public: bool = False,
        readers: tuple[str, ...] = (),
        media_type: str = MANIFEST_V2,
        platforms: tuple[str, ...] = ("linux/amd64",),
    ) -> Manifest:
        """One tag: an index over ``platforms`` when ``media_type`` is OCI_INDEX, else a
        single manifest of ``platforms[0]``."""
        seed = f"{name}:{tag}"
        children: list[Manifest] = []
        if media_type == OCI_INDEX:
            manifest, children, blobs = make_index(platforms, seed)
        else:
            manifest, blobs = make_manifest(media_type, seed, platforms[0])
        with self._lock:
            repo = self.repositories.setdefault(name, Repository())
            repo.public = repo.public or public
            repo.readers.update(readers)
            repo.tags[tag] = manifest
            repo.manifests |= {m.digest: m for m in [manifest, *children]}
            repo.blobs |= blobs
        return manifest

    def fail_next(self, server: str, status: int, headers: dict[str, str] | None = None) -> None:
        """The next request to ``server`` ("registry" or "auth") gets ``status``."""
        with self._lock:
            self._faults[server].append((status, headers or {}))

    def of(self, server: str) -> list[Seen]:
        return [s for s in self.seen if s.server == server]

    # --- serving ---------------------------------------------------------------------

    def _handle(self, h: _Handler, role: str) -> None:
        url = urlsplit(h.path)
        seen = Seen(
            role,
            h.command,
            url.path,
            parse_qs(url.query),
            h.headers.get("Authorization", ""),
            h.headers.get("Accept", ""),
        )
        with self._lock:
            self.seen.append(seen)
            fault = self._faults[role].pop(0) if self._faults[role] else None
        if fault is not None:
            status, headers = fault
            body = {"errors": [{"code": "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE",
                                "message": f"injected {status}"}]}  # fmt: skip
            self._send(h, status, body, headers)
            return
        if role == "auth":
            self._token(h, seen)
        else:
            self._registry(h, seen)

    def _send(
        self,
        h: _Handler,
        status: int,
        body: dict[str, Any] | bytes | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        h.send_response(status)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        if "Content-Type" not in (headers or {}):
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _token(self, h: _Handler, seen: Seen) -> None:
        if seen.path != "/token":
            self._send(h, 404, {"details": "not found"})
            return
        user = ""
        if seen.auth_scheme == "basic":
            try:
                name, _, password = (
                    base64.b64decode(seen.authorization.split(" ", 1)[1]).decode().partition(":")
                )
            except ValueError:
                name, password = "", ""
            if not name or self.users.get(name) != password:
                self._send(h, 401, {"details": "incorrect username or password"})
                return
            user = name
        if seen.query.get("service") != [SERVICE]:
            self._send(h, 400, {"details": "invalid service"})
            return
        granted: set[str] = set()
        for scope in seen.query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            repo = self.repositories.get(name)
            wants_pull = kind == "repository" and "pull" in actions.split(",")
            if wants_pull and repo is not None and (repo.public or user in repo.readers):
                granted.add(name)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = granted
        self._send(h, 200, {"token": token, "access_token": token, "expires_in": 300})

    def _challenge(self, name: str = "", error: str = "") -> dict[str, str]:
        value = f'Bearer realm="{self.auth_url}",service="{SERVICE}"'
        if name:
            value += f',scope="repository:{name}:pull"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    def _registry(self, h: _Handler, seen: Seen) -> None:
        path = seen.path
        token = seen.authorization[7:] if seen.auth_scheme == "bearer" else ""
        with self._lock:
            grants = self._grants.get(token)
        if path in ("/v2/", "/v2"):
            if grants is None:
                self._send(h, 401, {"errors": [{"code": "UNAUTHORIZED"}]}, self._challenge())
            else:
                self._send(h, 200, {})
            return
        blob = ""
        if "/manifests/" in path:
            name, _, reference = path[len("/v2/") :].rpartition("/manifests/")
        elif "/blobs/" in path:
            name, _, blob = path[len("/v2/") :].rpartition("/blobs/")
            reference = ""
        elif path.endswith("/tags/list"):
            name, reference = path[len("/v2/") : -len("/tags/list")], ""
        else:
            self._send(h, 404, {"errors": [{"code": "NOT_FOUND"}]})
            return
        if grants is None or name not in grants:
            error = "insufficient_scope" if grants is not None else ""
            body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
            self._send(h, 401, body, self._challenge(name, error))
            return
        repo = self.repositories[name]
        if blob:
            data = repo.blobs.get(blob)
            if data is None:
                self._send(h, 404, {"errors": [{"code": "BLOB_UNKNOWN"}]})
            else:
                headers = {"Content-Type": "application/octet-stream",
                           "Docker-Content-Digest": blob}  # fmt: skip
                self._send(h, 200, data, headers)
            return
        if not reference:
            self._send(h, 200, {"name": name, "tags": sorted(repo.tags)})
            return
        manifest = repo.tags.get(reference) or repo.manifests.get(reference)
        accepted = [a.split(";")[0].strip() for a in seen.accept.split(",")]
        if manifest is None or manifest.media_type not in accepted:
            self._send(h, 404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
            return
        headers = {"Content-Type": manifest.media_type}
        if self.send_digest_header:
            headers["Docker-Content-Digest"] = manifest.digest
        self._send(h, 200, manifest.body, headers)
