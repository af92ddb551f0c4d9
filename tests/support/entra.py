"""A local Microsoft Entra ID stand-in for the device-code sign-in.

azure-identity's DeviceCodeCredential drives msal, which fetches the tenant's OpenID
metadata, asks the device-authorization endpoint for a user code, then polls the token
endpoint until the user has signed in. This serves exactly those three endpoints (plus the
refresh-token grant msal uses for silent renewal) over HTTPS on loopback, so the real
credential runs unmodified: point it at `authority=server.authority` with
`disable_instance_discovery=True` and trust the CA through REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.arm import DEFAULT_TENANT_ID, LocalCA, TLSThreadingServer

DEFAULT_USERNAME = "tester@example.com"
DEFAULT_OID = "11111111-2222-3333-4444-555555555555"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (header.payload.signature); nothing here verifies signatures."""
    header = {"typ": "JWT", "alg": "RS256", "kid": "fake-key"}
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(secrets.token_bytes(32)),
        ]
    )


def access_token_claims(
    *,
    username: str,
    oid: str,
    tenant_id: str,
    audience: str = "https://management.azure.com",
    lifetime: int = 3600,
) -> dict[str, Any]:
    """The claims an ARM access token carries that our code reads (upn, oid, tid)."""
    now = int(time.time())
    return {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "name": username.split("@")[0].title(),
        "upn": username,
        "unique_name": username,
        "oid": oid,
        "tid": tenant_id,
        "scp": "user_impersonation",
        "ver": "1.0",
    }


@dataclass(frozen=True)
class EntraRequest:
    method: str
    path: str
    form: dict[str, str]


class EntraServer:
    """Device-code flow endpoints; `approve()` is the user entering the code in a browser."""

    def __init__(
        self,
        ca: LocalCA | None = None,
        *,
        tenant_id: str = DEFAULT_TENANT_ID,
        username: str = DEFAULT_USERNAME,
        oid: str = DEFAULT_OID,
    ) -> None:
        self.ca = ca or LocalCA()
        self.ca_path = self.ca.path
        self._lock = threading.Lock()
        self._httpd: TLSThreadingServer | None = None
        self._defaults = (tenant_id, username, oid)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tenant_id, self.username, self.oid = self._defaults
            self.auto_approve = True
            #: a personal Microsoft account (outlook.com, hotmail): at the work-and-school
            #: endpoint "organizations" Entra shows the refusal in the browser only, so the
            #: code is never approved and the client keeps hearing authorization_pending
            #: until the code expires (15 minutes); at the tenant id of a directory it was
            #: invited to or created, it signs in
            self.personal_account = False
            #: user codes the browser refused (a personal account at "organizations")
            self.refused_in_browser: list[str] = []
            self.interval: int | None = None  # None: 0 s when auto-approving, else 1 s
            self.expires_in = 900
            self.requests: list[EntraRequest] = []
            self.user_codes: list[str] = []
            self._pending: dict[str, dict[str, Any]] = {}  # device_code -> state
            self._refresh: dict[str, str] = {}  # refresh token -> scope
            self.tokens_issued = 0

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> EntraServer:
        from http.server import BaseHTTPRequestHandler

        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else the body waits on a delayed ACK (40 ms)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                status, payload = server._dispatch(self.command, self.path, raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self._httpd = TLSThreadingServer(
            ("127.0.0.1", 0), Handler, self.ca.server_context("127.0.0.1", "localhost")
        )
        threading.Thread(target=self._httpd.serve_forever, name="fake-entra", daemon=True).start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> EntraServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def authority(self) -> str:
        """What DeviceCodeCredential takes as `authority` (host:port, https implied)."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"https://{self.authority}"

    # ----------------------------------------------------------------- test API
    def approve(self, user_code: str | None = None) -> None:
        """The user signs in: every pending code (or the given one) becomes approved."""
        with self._lock:
            for state in self._pending.values():
                if user_code is None or state["user_code"] == user_code:
                    if self._refuses(state):
                        self.refused_in_browser.append(state["user_code"])
                        continue  # the browser says no; the client is never told
                    state["status"] = "approved"

    def _refuses(self, state: dict[str, Any]) -> bool:
        return self.personal_account and str(state.get("tenant", "")).lower() in ("organizations",)

    def decline(self) -> None:
        """The user refuses consent in the browser."""
        with self._lock:
            for state in self._pending.values():
                state["status"] = "declined"

    def wait_for_code(self, timeout: float = 10.0) -> str:
        """The user code of the first device-code request (what the UI shows)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.user_codes:
                    return self.user_codes[0]
            time.sleep(0.02)
        raise TimeoutError("no device code was requested")

    def wait_for_poll(self, timeout: float = 10.0) -> None:
        """Until the client has polled the token endpoint at least once (it is waiting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(r.path.endswith("/oauth2/v2.0/token") for r in self.requests):
                    return
            time.sleep(0.02)
        raise TimeoutError("the client never polled the token endpoint")

    # ----------------------------------------------------------------- endpoints
    def _dispatch(self, method: str, raw_path: str, raw: str) -> tuple[int, dict[str, Any]]:
        path = urlsplit(raw_path).path
        form = dict(parse_qsl(raw, keep_blank_values=True))
        with self._lock:
            self.requests.append(EntraRequest(method, path, form))
        parts = path.strip("/").split("/")
        if not parts or not parts[0]:
            return 404, self._error("invalid_request", "AADSTS90002: Tenant not found.")
        tenant = parts[0]
        rest = "/".join(parts[1:])
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return 200, self._metadata(tenant)
        if method == "POST" and rest == "oauth2/v2.0/devicecode":
            return self._devicecode({**form, "_tenant": tenant})
        if method == "POST" and rest == "oauth2/v2.0/token":
            return self._token(tenant, form)
        return 404, self._error("invalid_request", f"AADSTS90002: no endpoint {path}.")

    def _error(self, code: str, description: str) -> dict[str, Any]:
        return {
            "error": code,
            "error_description": description,
            "error_codes": [int(description[6:].split(":", 1)[0])]
            if description.startswith("AADSTS")
            else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }

    def _metadata(self, tenant: str) -> dict[str, Any]:
        base = f"{self.base_url}/{tenant}"
        return {
            "issuer": f"{self.base_url}/{self.tenant_id}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "tenant_region_scope": "EU",
        }

    def _devicecode(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not form.get("client_id"):
            return 400, self._error("invalid_request", "AADSTS900144: client_id is missing.")
        alphabet = string.ascii_uppercase + string.digits
        user_code = "".join(secrets.choice(alphabet) for _ in range(9))
        device_code = secrets.token_urlsafe(48)
        with self._lock:
            interval = (
                self.interval if self.interval is not None else (0 if self.auto_approve else 1)
            )
            self._pending[device_code] = {
                "tenant": form.get("_tenant", ""),
                "user_code": user_code,
                "status": "pending",
                "polls": 0,
                "scope": form.get("scope", ""),
                "client_id": form["client_id"],
                "expires_at": time.time() + self.expires_in,
            }
            self.user_codes.append(user_code)
        uri = "https://microsoft.com/devicelogin"
        return 200, {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": self.expires_in,
            "interval": interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
            f"{user_code} to authenticate.",
        }

    def _token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        with self._lock:
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                state = self._pending.get(form.get("device_code", ""))
                if state is None:
                    return 400, self._error("invalid_grant", "AADSTS70000: unknown device code.")
                if time.time() > state["expires_at"]:
                    return 400, self._error("expired_token", "AADSTS70020: The code expired.")
                state["polls"] += 1
                if state["status"] == "declined":
                    return 400, self._error(
                        "authorization_declined", "AADSTS70016: The user declined to sign in."
                    )
                if state["status"] == "pending":
                    if self.auto_approve and state["polls"] >= 1 and not self._refuses(state):
                        state["status"] = "approved"  # answers pending once, then the token
                    return 400, self._error(
                        "authorization_pending",
                        "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. "
                        "Continue polling.",
                    )
                del self._pending[form["device_code"]]
                if self.personal_account and tenant.lower() in ("organizations", "common"):
                    return 400, self._error(
                        "invalid_grant",
                        f"AADSTS500200: User account '{self.username}' is a personal Microsoft "
                        "account. Personal Microsoft accounts are not supported for this "
                        "application unless explicitly invited to an organization. Try signing "
                        "out and signing back in with an organizational account.",
                    )
                return 200, self._issue(state["scope"], state["client_id"], form)
            if grant == "refresh_token":
                scope = self._refresh.get(form.get("refresh_token", ""))
                if scope is None:
                    return 400, self._error(
                        "invalid_grant", "AADSTS70008: The refresh token has expired."
                    )
                return 200, self._issue(form.get("scope", scope), form.get("client_id", ""), form)
        return 400, self._error(
            "unsupported_grant_type", f"AADSTS70003: grant type {grant!r} is not supported."
        )

    def _issue(self, scope: str, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        """A token response msal turns into an account (id_token + client_info)."""
        resource = next(
            (s.rsplit("/", 1)[0] for s in scope.split() if s.endswith("/.default")),
            "https://management.azure.com",
        )
        now = int(time.time())
        refresh = secrets.token_urlsafe(48)
        self._refresh[refresh] = scope
        self.tokens_issued += 1
        id_claims = {
            "aud": client_id,
            "iss": f"{self.base_url}/{self.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": self.username.split("@")[0].title(),
            "oid": self.oid,
            "preferred_username": self.username,
            "sub": _b64url(self.oid.encode()),
            "tid": self.tenant_id,
            "ver": "2.0",
        }
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": make_jwt(
                access_token_claims(
                    username=self.username,
                    oid=self.oid,
                    tenant_id=self.tenant_id,
                    audience=resource,
                )
            ),
            "refresh_token": refresh,
            "id_token": make_jwt(id_claims),
        }
        if form.get("client_info") == "1":
            info = {"uid": self.oid, "utid": self.tenant_id}
            body["client_info"] = _b64url(json.dumps(info).encode())
        return body
