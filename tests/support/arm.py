"""A local Azure Resource Manager that the real azure SDK clients can talk to.

Service tests must exercise the real SDK (serialisation, LRO pollers, retries, error
mapping) without the network, so this speaks the ARM REST API over HTTPS on loopback, as
strictly as ARM does where our services depend on it: api-versions, bodies checked against
the official specs, 409 on immutable container-group changes, secure values never returned,
LROs through Azure-AsyncOperation / Location, container groups that run at create.
Importable without pytest (benchmarks start it directly): only stdlib, trustme, jsonschema.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import secrets
import ssl
import tempfile
import threading
import time
import traceback
import uuid
from base64 import urlsafe_b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.support import arm_specs

DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
DEFAULT_TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
DEFAULT_TENANT_NAME = "Numerai Test Tenant"

# What the azure SDK versions in .venv send (checked in their _configuration.py / profiles),
# plus a few other real versions ARM accepts; anything else is refused like ARM does.
API_VERSIONS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("2022-12-01", "2021-01-01", "2020-01-01", "2016-06-01"),
    "resources": ("2025-04-01", "2024-11-01", "2024-03-01", "2022-09-01", "2021-04-01"),
    "aci": ("2023-05-01", "2022-09-01", "2021-10-01"),
    "connections": ("2016-06-01", "2018-07-01-preview"),
    "logic": ("2019-05-01", "2018-07-01-preview", "2016-06-01"),
    "authorization": ("2022-04-01", "2020-04-01-preview", "2018-01-01-preview", "2015-07-01"),
}

# name -> (display name, geography)
LOCATIONS: dict[str, tuple[str, str]] = {
    "eastus": ("East US", "US"),
    "westus2": ("West US 2", "US"),
    "westeurope": ("West Europe", "Europe"),
    "northeurope": ("North Europe", "Europe"),
    "uksouth": ("UK South", "UK"),
    "brazilsouth": ("Brazil South", "Brazil"),
}
# Brazil South is left out on purpose: the "location without ACI" case.
DEFAULT_ACI_LOCATIONS = frozenset(LOCATIONS) - {"brazilsouth"}

ROLE_ACI_CONTRIBUTOR = "5d977122-f97e-4b4d-a52f-6b43003ddb4d"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
# id -> (roleName, description, actions, notActions)
BUILTIN_ROLES: dict[str, tuple[str, str, list[str], list[str]]] = {
    ROLE_ACI_CONTRIBUTOR: (
        "Azure Container Instances Contributor Role",
        "Lets you manage Azure Container Instances (read, create, delete, start, stop).",
        [
            "Microsoft.Authorization/*/read",
            "Microsoft.ContainerInstance/containerGroups/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        [],
    ),
    ROLE_CONTRIBUTOR: (
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles.",
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    ),
    "8e3af657-a8ff-443c-a75f-2c2546c4afce": (
        "Owner",
        "Grants full access to manage all resources, including assigning roles.",
        ["*"],
        [],
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", "View all resources.", ["*/read"], []),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": (
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        ["*/read", "Microsoft.Authorization/*"],
        [],
    ),
}

_CG_NAME = re.compile(r"^(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)$")
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")
_WF_NAME = re.compile(r"^[-\w._()]{1,43}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_LOG_MAX_LINES = 1000
_LOG_MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it; `started`/`finished` are time.monotonic()."""

    method: str
    path: str
    query: dict[str, str]
    api_version: str | None
    body: Any
    started: float
    finished: float
    is_poll: bool
    status: int = 0
    #: the Host header as sent (a URL pointing at another host than ``endpoint`` shows here)
    host: str = ""
    #: whether it carried an Authorization header
    authorized: bool = False


@dataclass(frozen=True)
class ContainerRun:
    """What a started container would see: secrets included, as ACI would inject them."""

    group: str
    container_name: str
    image: str
    env: dict[str, str]
    registry_credentials: list[dict[str, Any]]
    cpu: float
    memory_gb: float
    #: set when ACI would kill this container (stop, delete, redeploy): a hook that runs a real
    #: container must kill it then, or a stopped group would go on predicting and submitting
    halted: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int = 0
    logs: str = "simulated run\n"


def default_run(_run: ContainerRun) -> RunOutcome:
    return RunOutcome()


class ArmError(Exception):
    """An ARM error answer: status + {"error": {"code", "message"}}."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra: dict[str, Any] = {}  # more members of the "error" object (target, ...)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    code: str
    message: str
    remaining: int
    headers: dict[str, str]


@dataclass
class _Operation:
    id: str
    kind: str  # "async" (Azure-AsyncOperation) or "location"
    resource_id: str
    due: float
    epoch: int
    failure: dict[str, str] | None = None
    on_success: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    status: str = "InProgress"
    started_iso: str = ""
    ended_iso: str = ""


@dataclass
class _Container:
    current: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    restarts: int = 0
    logs: str = ""


@dataclass
class _Group:
    """Runtime state ACI keeps beside the stored definition."""

    state: str | None = None  # instanceView.state: Running / Succeeded / Failed / Stopped
    provisioning: str = "Succeeded"
    generation: int = 0
    running: int = 0
    containers: dict[str, _Container] = field(default_factory=dict)
    last_outcome: RunOutcome | None = None
    finished_runs: int = 0
    active: list[ContainerRun] = field(default_factory=list)
    #: a start was accepted and its run has not begun yet (ACI says "starting")
    starting: bool = False

    @property
    def running_or_starting(self) -> bool:
        """What makes ACI answer a start with 204 and change nothing."""
        return self.starting or self.state in ("Running", "Pending")

    def bump(self) -> None:
        """A new generation: whatever runs now is replaced, so its containers are halted."""
        self.generation += 1
        for run in self.active:
            run.halted.set()
        self.active.clear()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeClock:
    """Azure's "now" for what takes minutes there: real time plus what was advanced.

    Role assignments are stamped and judged by it (``role_propagation_seconds``), and a
    workflow's ``Wait`` action advances it instead of sleeping, so a run that waits for a
    role through minutes of Azure time ends in milliseconds. Tests may ``advance()`` it.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    def iso(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance(self, seconds: float) -> None:
        self.offset += seconds


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
                 "month": 2592000}  # fmt: skip
#: Logic Apps' run-after statuses (workflow definition language).
RUN_AFTER_STATUSES = ("Succeeded", "Failed", "Skipped", "TimedOut")
#: What Logic Apps' default retry policy retries (exponential, 4 retries): 408, 429, 5xx.
#: A 403 is never retried.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
_HTTP_STATUS = {"OK": 200, "NoContent": 204, "BadRequest": 400, "Unauthorized": 401,
                "Forbidden": 403, "NotFound": 404, "Conflict": 409}  # fmt: skip


def iso_duration_seconds(text: str) -> float | None:
    """``PT40M`` -> 2400.0; None when it is not an ISO 8601 duration Logic Apps takes."""
    found = _DURATION.match(text or "")
    if not found or text in ("P", "PT") or text.endswith("T"):
        return None
    days, hours, minutes, secs = (float(g) if g else 0.0 for g in found.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + secs


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+)|'(?P<str>[^']*)'|(?P<name>[A-Za-z_]\w*)|(?P<p>[()\[\],?]))"
)


def evaluate_expression(text: str, outputs: dict[str, Any]) -> Any:
    """The few workflow-language functions our definitions use: not, equals, and, or,
    outputs('name')?['key']. Anything else raises ValueError (the fake cannot run it)."""
    if not text.startswith("@"):
        raise ValueError(f"not an expression: {text!r}")
    tokens = [m for m in _TOKEN.finditer(text[1:]) if m.group(0).strip()]
    pos = 0

    def take(p: str | None = None) -> Any:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"unexpected end of {text!r}")
        tok = tokens[pos]
        if p is not None and tok.group("p") != p:
            raise ValueError(f"expected {p!r} in {text!r}")
        pos += 1
        return tok

    def value() -> Any:
        tok = take()
        if tok.group("num") is not None:
            result: Any = int(tok.group("num"))
        elif tok.group("str") is not None:
            result = tok.group("str")
        elif tok.group("name") in ("true", "false"):
            result = tok.group("name") == "true"
        elif tok.group("name"):
            fn = tok.group("name").lower()
            take("(")
            args = []
            while tokens[pos].group("p") != ")":
                args.append(value())
                if tokens[pos].group("p") == ",":
                    take(",")
            take(")")
            if fn == "not":
                result = not args[0]
            elif fn == "equals":
                result = args[0] == args[1]
            elif fn == "and":
                result = all(args)
            elif fn == "or":
                result = any(args)
            elif fn == "outputs":
                result = outputs.get(args[0])
            else:
                raise ValueError(f"the fake cannot evaluate {fn}()")
        else:
            raise ValueError(f"unexpected {tok.group(0)!r} in {text!r}")
        while pos < len(tokens) and tokens[pos].group("p") in ("?", "["):
            if tokens[pos].group("p") == "?":
                take("?")
            take("[")
            key = take().group("str")
            take("]")
            result = result.get(key) if isinstance(result, dict) else None
        return result

    out = value()
    if pos != len(tokens):
        raise ValueError(f"trailing text in {text!r}")
    return out


def _displays(names: set[str]) -> list[str]:
    """Display names of ARM location names, as a provider's resourceTypes list them."""
    return [display for name, (display, _) in LOCATIONS.items() if name in names]


def _location_key(text: str) -> str:
    """ARM accepts "eastus" and "East US" alike."""
    return text.replace(" ", "").lower()


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


_DEFAULT_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class LocalCA:
    """A trustme CA whose PEM is on disk, so REQUESTS_CA_BUNDLE can point at it."""

    def __init__(self, directory: str | Path | None = None) -> None:
        import trustme

        self.ca = trustme.CA()
        folder = Path(directory or tempfile.mkdtemp(prefix="fake-azure-ca-"))
        self.path = str(folder / "ca.pem")
        self.ca.cert_pem.write_to_path(self.path)

    def server_context(self, *hosts: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*(hosts or ("127.0.0.1", "localhost"))).configure_cert(ctx)
        return ctx


class TLSThreadingServer(ThreadingHTTPServer):
    """HTTPS with the TLS handshake in the request thread, so one slow client blocks nobody."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext) -> None:
        self.ssl_context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        return self.ssl_context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on keep-alive sockets; not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms)
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.arm._dispatch(
            self.command, self.path, dict(self.headers.items()), raw
        )
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve


class ArmServer:
    """The fake ARM. Knobs are plain attributes, restored by reset():

    lro_seconds (0)            how long every long-running operation stays InProgress
    retry_after (0)            Retry-After sent on LRO answers and polls
    run_container              hook ContainerRun -> RunOutcome, run in a thread at each start
    max_cpu / max_memory_gb    (4 / 16) regional Linux limits; `capabilities` per location
    aci_locations              ARM location names offering containerGroups (no brazilsouth)
    inaccessible_images        images whose PUT answers 400 InaccessibleImage
    can_assign_roles (True)    False: role assignment PUT answers 403 AuthorizationFailed
    principal_not_found_times  the next n role assignment PUTs answer 400 PrincipalNotFound
    known_principals           principal id -> type; workflow identities are added
    subscriptions              what the subscriptions API lists (state "Disabled" = read only;
                               "tenantId" = its directory, default the server's tenant)
    tenants                    what GET /tenants lists (the user's directories)

    Tenants: a token (a JWT with "tid") for another tenant than a subscription's gets 401
    InvalidAuthenticationTokenTenant on anything under that subscription, as ARM answers;
    GET /subscriptions lists only the token's tenant's subscriptions. Tokens that are not
    JWTs are taken for every tenant (older tests use plain strings).

    logic_sync_limit (120)     seconds a Logic App caller waits for the Response action
    start_seconds (0)          how long a workflow's start of a container group takes

    A start of a group that is running or starting answers 204 and changes nothing (the
    documented ACI answer): the run in progress goes on and no second run begins.
    role_propagation_seconds   (0) a new role assignment takes effect only this long after
                               it was made (managed-identity runs fail AuthorizationFailed),
                               judged by ``clock`` (a FakeClock: Wait actions advance it)
    response_outcome           ("Succeeded") "Failed" / "TimedOut": the Response action's
                               outcome when the caller went away before its answer
    unregistered_providers     (empty) namespaces (lower case, e.g. "microsoft.logic") this
                               subscription has not registered: any request to them answers
                               409 MissingSubscriptionRegistration; POST .../register makes
                               them Registering for `registration_polls` GETs, then Registered
    can_register_providers     (True) False: POST .../providers/{ns}/register answers 403
    logic_locations / managed_api_locations   (all) ARM names of the regions where
                               Microsoft.Logic/workflows and Microsoft.Web/connections (the
                               managed API connectors, `aci` among them) are offered
    required_tags ({})         tag name -> display name of a "Require a tag on resources"
                               policy assignment: a PUT of a resource group or resource
                               without that tag answers 403 RequestDisallowedByPolicy, in
                               ARM's message shape (policy identifiers as JSON, target,
                               additionalInfo PolicyViolation)
    start_faults ([])          statuses (e.g. 503) the next workflow start calls get, before
                               any other check: Logic Apps' retry policy retries 408, 429 and
                               5xx (default: 4 retries), never a 403
    list_lag_seconds (0)       GET .../resourceGroups/{rg}/resources still lists a deleted
                               resource this long (ARM's list is eventually consistent)

    Hostile answers (what a broken or hostile server does; issue 19):
    hang(method, path)         the next matching request is never answered (until reset())
    runs_page_size (0)         a workflow's run list comes in pages of this many (nextLink)
    next_link_loop (False)     ... whose nextLink points back at the same page, for ever
    foreign_base ("")          poll URLs (Azure-AsyncOperation / Location) and nextLinks
                               point at this base instead (e.g. https://localhost:<port>:
                               the same server under another host name); `Recorded.host`
                               and `.authorized` tell what reached it, with a token or not
    A 429 with a huge Retry-After, or a 404 on a run's actions: fail(..., headers=...).

    Logic Apps: invoke_webhook(url, body) is Numerai calling the trigger's callback URL: it
    runs the stored workflow (Response, ApiConnection / Http-with-managed-identity start of
    the container group) in a thread, answers like Logic Apps (the Response's status once it
    runs; 504 past logic_sync_limit; 502 when the Response is skipped; 202 with no Response)
    and keeps a run record served by GET .../workflows/{name}/runs[/{run}[/actions[/{a}]]].

    Faults: fail(), fail_lro(). Records: requests, writes(), clear_requests(), runs,
    resources (lower-cased id -> stored body, secrets included), snapshot(). Portal
    actions: authorize_connection(). Runs: wait_for_run(), group_state(), append_log().
    """

    def __init__(
        self,
        ca: LocalCA | None = None,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        tenant_id: str = DEFAULT_TENANT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        arm_specs.specs_dir()  # fail here, loudly, rather than as 500s on every PUT
        self.ca = ca or LocalCA()
        self.ca_path = self.ca.path
        self.subscription_id = subscription_id
        self.tenant_id = tenant_id
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._httpd: TLSThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._epoch = 0
        self._request = threading.local()  # the token's tenant of the request being served
        self.reset()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> ArmServer:
        self._httpd = TLSThreadingServer(
            (self._host, self._port), _Handler, self.ca.server_context("127.0.0.1", "localhost")
        )
        self._httpd.arm = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-arm", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        with self._lock:
            self._epoch += 1
            self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ArmServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget every resource, request, fault and run, and restore the default knobs."""
        with self._lock:
            self._epoch += 1
            self.requests: list[Recorded] = []
            self.resources: dict[str, dict[str, Any]] = {}
            self.runs: list[ContainerRun] = []
            self.lro_seconds: float = 0
            self.retry_after: int = 0
            self.can_assign_roles = True
            self.principal_not_found_times = 0
            self.run_container: Callable[[ContainerRun], RunOutcome] = default_run
            self.max_cpu: float = 4
            self.max_memory_gb: float = 16
            self.capabilities: dict[str, tuple[float, float]] = {}
            self.aci_locations: set[str] = set(DEFAULT_ACI_LOCATIONS)
            self.inaccessible_images: set[str] = set()
            self.known_principals: dict[str, str] = {}
            self.caller = {
                "upn": "tester@example.com",
                "oid": "11111111-2222-3333-4444-555555555555",
            }
            self.subscriptions: list[dict[str, Any]] = [
                {
                    "subscriptionId": self.subscription_id,
                    "displayName": "Numerai Test Subscription",
                    "state": "Enabled",
                    "tenantId": self.tenant_id,
                }
            ]
            self.tenants: list[dict[str, Any]] = [
                {
                    "tenantId": self.tenant_id,
                    "displayName": DEFAULT_TENANT_NAME,
                    "defaultDomain": "numeraitest.onmicrosoft.com",
                }
            ]
            self._faults: list[_Fault] = []
            self._lro_failures: list[tuple[re.Pattern[str], str, str]] = []
            self._ops: dict[str, _Operation] = {}
            self._groups: dict[str, _Group] = {}
            self._wf_meta: dict[str, dict[str, str]] = {}
            self._wf_runs: dict[
                str, list[dict[str, Any]]
            ] = {}  # workflow key -> runs, oldest first
            self.logic_sync_limit: float = 120.0
            self.start_seconds: float = 0.0
            self.role_propagation_seconds: float = 0.0
            self.clock = FakeClock()
            self.response_outcome = "Succeeded"  # or "Failed" / "TimedOut": the caller went away
            self.start_faults: list[int] = []  # statuses the next workflow start calls get
            self.unregistered_providers: set[str] = set()  # lower-cased namespaces
            self.required_tags: dict[str, str] = {}  # tag name -> policy assignment name
            self.logic_locations: set[str] = set(LOCATIONS)  # where workflows exist
            self.managed_api_locations: set[str] = set(LOCATIONS)  # where connections exist
            self.can_register_providers = True
            self.registration_polls = 2  # GETs that still say "Registering" after a register
            self._registering: dict[str, int] = {}
            self.list_lag_seconds: float = 0.0
            self._recently_deleted: dict[str, tuple[float, dict[str, Any]]] = {}
            self._deleting_rgs: set[str] = set()
            # hostile answers (issue 19): see hang(), and the knobs in the class docstring
            self.runs_page_size: int = 0
            self.next_link_loop = False
            self.foreign_base: str = ""
            self._hangs: list[_Fault] = []
            released = getattr(self, "_released", None)
            if released is not None:
                released.set()  # requests hanging from an earlier test end now
            self._released = threading.Event()
            self._changed.notify_all()

    # ----------------------------------------------------------------- test API
    def clear_requests(self) -> None:
        with self._lock:
            self.requests = []

    def writes(self) -> list[Recorded]:
        """Requests that change state: not GET/HEAD, not LRO polls, not read-like list* POSTs."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method not in ("GET", "HEAD")
                and not r.is_poll
                and not (
                    r.method == "POST" and r.path.rsplit("/", 1)[-1].lower().startswith("list")
                )
            ]

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        code: str = "",
        message: str = "",
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests matching method ("*" = any) and path with an error."""
        with self._lock:
            self._faults.append(
                _Fault(
                    method.upper(),
                    re.compile(path_regex, re.IGNORECASE),
                    status,
                    code or _DEFAULT_CODES.get(status, "Error"),
                    message or f"Injected failure {status}.",
                    times,
                    dict(headers or {}),
                )
            )

    def hang(self, method: str, path_regex: str, times: int = 1) -> None:
        """The next `times` matching requests never get an answer (until reset() or close()):
        a server that accepted the connection and went silent."""
        with self._lock:
            self._hangs.append(
                _Fault(method.upper(), re.compile(path_regex, re.IGNORECASE), 0, "", "", times, {})
            )

    def _maybe_hang(self, method: str, path: str) -> None:
        with self._lock:
            hang = next(
                (
                    h
                    for h in self._hangs
                    if h.remaining > 0 and h.method in ("*", method) and h.pattern.search(path)
                ),
                None,
            )
            if hang is None:
                return
            hang.remaining -= 1
            released = self._released
        released.wait(600)

    @property
    def _link_base(self) -> str:
        """Where poll and next-page URLs point: this server, or (``foreign_base``) elsewhere."""
        return self.foreign_base.rstrip("/") or self.endpoint

    def fail_lro(self, path_regex: str, code: str, message: str = "") -> None:
        """The next long-running operation started on a matching path ends Failed."""
        with self._lock:
            self._lro_failures.append(
                (re.compile(path_regex, re.IGNORECASE), code, message or f"Injected {code}.")
            )

    def authorize_connection(self, name: str) -> None:
        """What the user does in the portal: sign the API connection in."""
        with self._lock:
            for rid, body in self.resources.items():
                if "/providers/microsoft.web/connections/" in rid and rid.endswith(
                    "/" + name.lower()
                ):
                    body["properties"]["statuses"] = [{"status": "Connected"}]
                    return
        raise KeyError(f"no API connection named {name!r}")

    def wait_for_run(self, group: str, timeout: float = 10.0) -> RunOutcome:
        """Block until group `group` (by name) has finished a run and none is in progress."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for rid, state in self._groups.items():
                    if rid.rsplit("/", 1)[-1] == group.lower() and (
                        state.finished_runs and not state.running and state.last_outcome
                    ):
                        return state.last_outcome
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"container group {group!r} finished no run in {timeout}s")
                self._changed.wait(left)

    def append_log(self, run: ContainerRun, text: str) -> None:
        """For a run_container hook: make output visible to the logs API while it still runs
        (how `logs --follow` sees a live container). The outcome's logs replace it at the end."""
        with self._lock:
            for key, state in self._groups.items():
                stored = self.resources.get(key)
                if stored is not None and stored["name"] == run.group:
                    cstate = state.containers.get(run.container_name)
                    if cstate and (cstate.current or {}).get("state") == "Running":
                        cstate.logs = _trim_logs(cstate.logs + text)

    def container_group(self, resource_group: str, name: str) -> dict[str, Any] | None:
        """The stored definition of a container group as last PUT (secrets included)."""
        with self._lock:
            rid = self._cg_id(self.subscription_id, resource_group, name).lower()
            found = self.resources.get(rid)
            return copy.deepcopy(found) if found is not None else None

    def resource_group_exists(self, name: str) -> bool:
        with self._lock:
            return self._rg_id(self.subscription_id, name).lower() in self.resources

    def resources_in(self, resource_group: str) -> list[dict[str, Any]]:
        """Everything stored under a resource group (role assignments at its scope included)."""
        prefix = self._rg_id(self.subscription_id, resource_group).lower() + "/"
        with self._lock:
            return [copy.deepcopy(b) for k, b in self.resources.items() if k.startswith(prefix)]

    def snapshot(self) -> dict[str, Any]:
        """Every resource minus what Azure generates (times, etags, versions, identity ids),
        so two runs that converge on the same desired state compare equal. Role assignments
        are keyed by scope + role + whose identity, since their principal is generated."""
        with self._lock:
            owners = {
                meta["principal"]: key.rsplit("/", 1)[-1]
                for key, meta in self._wf_meta.items()
                if "principal" in meta
            }
            out: dict[str, Any] = {}
            for key, body in self.resources.items():
                item = copy.deepcopy(body)
                item.pop("etag", None)
                props = item.get("properties") or {}
                for volatile in (
                    "createdTime",
                    "changedTime",
                    "version",
                    "accessEndpoint",
                    "provisioningState",
                    "createdOn",
                    "updatedOn",
                ):
                    props.pop(volatile, None)
                if isinstance(item.get("identity"), dict):
                    item["identity"].pop("principalId", None)
                    item["identity"].pop("tenantId", None)
                if "/providers/microsoft.authorization/roleassignments/" in key:
                    who = owners.get(props["principalId"], props["principalId"])
                    props["principalId"] = f"<identity of {who}>"
                    role = props["roleDefinitionId"].rsplit("/", 1)[-1].lower()
                    item.pop("id", None)
                    item.pop("name", None)
                    key = f"{props['scope'].lower()}/roleassignment<{role}:{who}>"
                out[key] = item
            return out

    def group_state(self, group: str) -> str | None:
        """The instanceView state of a container group by name (None: unknown or never ran)."""
        with self._lock:
            for rid, state in self._groups.items():
                if rid.rsplit("/", 1)[-1] == group.lower():
                    return state.state
        return None

    # ----------------------------------------------------------------- dispatch
    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        started = time.monotonic()
        split = urlsplit(raw_path)
        path = unquote(split.path).rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        api_version = query.get("api-version")
        body: Any = None
        is_poll = bool(_POLL.match(path))
        status, out_headers, payload = 500, {}, None
        try:
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise ArmError(
                        400,
                        "InvalidRequestContent",
                        f"The request content is not valid JSON: {exc}",
                    ) from None
            self._request.tid = self._check_auth(headers)
            self._maybe_hang(method, path)
            self._check_faults(method, path)
            status, out_headers, payload = self._route(method, path, query, api_version, body)
        except ArmError as err:
            status, out_headers, payload = (
                err.status,
                err.headers,
                _error_body(err.code, err.message),
            )
            payload["error"].update(err.extra)
        except Exception as exc:  # a bug in the fake must show up as a 500 with its cause
            status, payload = 500, _error_body("FakeServerError", traceback.format_exc())
            del exc
        out_headers = {
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-correlation-request-id": headers.get("x-ms-client-request-id", str(uuid.uuid4())),
            **out_headers,
        }
        if method == "HEAD":
            payload = None
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append(
                Recorded(
                    method,
                    path,
                    query,
                    api_version,
                    body,
                    started,
                    time.monotonic(),
                    is_poll,
                    status,
                    lowered.get("host", ""),
                    bool(lowered.get("authorization")),
                )
            )
        return status, out_headers, payload

    def _check_auth(self, headers: dict[str, str]) -> str:
        """Refuse a missing token; return the token's tenant ("" when it is not a JWT)."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            why = "missing" if not auth else "not a bearer token"
            raise ArmError(
                401,
                "AuthenticationFailed",
                f"Authentication failed. The 'Authorization' header is {why}.",
                {
                    "WWW-Authenticate": (
                        f'Bearer authorization_uri="https://login.windows.net/{self.tenant_id}", '
                        'error="invalid_token", error_description="The authentication failed '
                        "because of missing 'Authorization' header.\""
                    )
                },
            )
        return _token_tenant(auth[7:].strip())

    def _check_faults(self, method: str, path: str) -> None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.remaining > 0
                    and fault.method in ("*", method)
                    and fault.pattern.search(path)
                ):
                    fault.remaining -= 1
                    raise ArmError(fault.status, fault.code, fault.message, dict(fault.headers))

    def _route(
        self, method: str, path: str, query: dict[str, str], api_version: str | None, body: Any
    ) -> tuple[int, dict[str, str], Any]:
        for pattern, family, handler in _ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            if family != "poll":
                self._check_api_version(family, api_version, path)
            args = {k: v for k, v in match.groupdict().items() if v is not None}
            if "sub" in args:
                self._check_subscription(args["sub"], method)
            if handler is not ArmServer._provider:
                self._check_registered(path)
            if method == "PUT" and isinstance(body, dict) and "location" in body:
                self._check_policies(path, body)
            if method == "HEAD" and handler is not ArmServer._resource_groups:
                # ARM answers HEAD on any resource: 204 when a GET would find it, else 404.
                status, headers, _ = handler(self, "GET", args, query, None)
                return (204 if status == 200 else status), headers, None
            return handler(self, method, args, query, body)
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type for path '{path}' could not be found for api version "
            f"'{api_version}'.",
        )

    def _check_policies(self, path: str, body: dict[str, Any]) -> None:
        """Azure Policy's deny effect, as a "Require a tag on resources" assignment answers."""
        tags = body.get("tags") or {}
        for tag, assignment in self.required_tags.items():
            if tag in tags:
                continue
            name = path.rstrip("/").rsplit("/", 1)[-1]
            aid = (
                f"/subscriptions/{self.subscription_id}/providers/Microsoft.Authorization/"
                f"policyAssignments/{uuid.uuid5(uuid.NAMESPACE_URL, assignment).hex[:24]}"
            )
            did = "/providers/Microsoft.Authorization/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99"
            identifiers = json.dumps(
                [
                    {
                        "policyAssignment": {"name": assignment, "id": aid},
                        "policyDefinition": {"name": "Require a tag on resources", "id": did},
                    }
                ],
                separators=(",", ":"),
            )
            err = ArmError(
                403,
                "RequestDisallowedByPolicy",
                f"Resource '{name}' was disallowed by policy. Policy identifiers: '{identifiers}'.",
            )
            err.extra = {
                "target": name,
                "additionalInfo": [
                    {
                        "type": "PolicyViolation",
                        "info": {
                            "policyDefinitionDisplayName": "Require a tag on resources",
                            "policyDefinitionId": did,
                            "policyDefinitionEffect": "deny",
                            "policyAssignmentId": aid,
                            "policyAssignmentName": aid.rsplit("/", 1)[-1],
                            "policyAssignmentDisplayName": assignment,
                            "policyAssignmentScope": f"/subscriptions/{self.subscription_id}",
                            "policyAssignmentParameters": {"tagName": {"value": tag}},
                        },
                    }
                ],
            }
            raise err

    def _check_registered(self, path: str) -> None:
        """ARM does not route to a provider the subscription has not registered (or whose
        registration is still under way)."""
        found = re.search(r"/providers/([^/]+)/", path + "/")
        if not found:
            return
        ns = found.group(1).lower()
        if ns in self.unregistered_providers or self._registering.get(ns, 0) > 0:
            raise ArmError(
                409,
                "MissingSubscriptionRegistration",
                f"The subscription is not registered to use namespace '{found.group(1)}'. See "
                "https://aka.ms/rps-not-found for how to register subscriptions.",
            )

    def _check_api_version(self, family: str, api_version: str | None, path: str) -> None:
        supported = API_VERSIONS[family]
        if not api_version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if api_version not in supported:
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{api_version}' is invalid for '{path}'. The supported versions "
                f"are '{','.join(supported)}'.",
            )

    def _check_subscription(self, sub: str, method: str) -> None:
        found = next(
            (s for s in self.subscriptions if s["subscriptionId"].lower() == sub.lower()), None
        )
        if found is None:
            raise ArmError(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        tid = getattr(self._request, "tid", "")
        tenant = found.get("tenantId", self.tenant_id)
        if tid and tid.lower() != tenant.lower():
            raise ArmError(
                401,
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It "
                f"must match the tenant 'https://sts.windows.net/{tenant}/' associated with this "
                f"subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' "
                "to get the token. Note, if the subscription is transferred to another tenant "
                "there is no impact to the services, but information about new tenant could take "
                "time to propagate (up to an hour). If you just transferred your subscription and "
                "see this error message, please try back later.",
                {
                    "WWW-Authenticate": (
                        f'Bearer authorization_uri="https://login.windows.net/{tenant}", '
                        'error="invalid_token", error_description="The access token is from the '
                        'wrong issuer."'
                    )
                },
            )
        if found.get("state", "Enabled") != "Enabled" and method not in ("GET", "HEAD"):
            raise ArmError(
                409,
                "ReadOnlyDisabledSubscription",
                f"The subscription '{sub}' is disabled and therefore marked as read only.",
            )

    # ----------------------------------------------------------------- LRO machinery
    def _lro_headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after))}

    def _begin(
        self,
        kind: str,
        resource_id: str,
        request_path: str,
        sub: str,
        namespace: str,
        location: str,
        api_version: str,
        on_success: Callable[[], None] | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> dict[str, str]:
        """Start an operation; returns the headers pointing the poller at it."""
        op = _Operation(
            id=str(uuid.uuid4()),
            kind=kind,
            resource_id=resource_id,
            due=time.monotonic() + float(self.lro_seconds),
            epoch=self._epoch,
            on_success=on_success,
            on_failure=on_failure,
            started_iso=_now_iso(),
        )
        for i, (pattern, code, message) in enumerate(self._lro_failures):
            if pattern.search(request_path):
                op.failure = {"code": code, "message": message}
                del self._lro_failures[i]
                break
        self._ops[op.id] = op
        if kind == "async":
            url = (
                f"{self._link_base}/subscriptions/{sub}/providers/{namespace}/locations/"
                f"{_location_key(location)}/operationStatuses/{op.id}?api-version={api_version}"
            )
            headers = {"Azure-AsyncOperation": url}
        else:
            url = f"{self._link_base}/subscriptions/{sub}/operationresults/{op.id}?api-version={api_version}"
            headers = {"Location": url}
        headers.update(self._lro_headers())
        if self.lro_seconds <= 0:
            self._finish(op)
        else:
            timer = threading.Timer(float(self.lro_seconds), self._finish_later, (op.id, op.epoch))
            timer.daemon = True
            timer.start()
        return headers

    def _finish_later(self, op_id: str, epoch: int) -> None:
        with self._lock:
            op = self._ops.get(op_id)
            if op is not None and op.epoch == self._epoch == epoch:
                self._finish(op)

    def _finish(self, op: _Operation) -> None:
        """Complete an operation once (caller holds the lock)."""
        if op.status != "InProgress":
            return
        op.ended_iso = _now_iso()
        if op.failure:
            op.status = "Failed"
            if op.on_failure:
                op.on_failure()
        else:
            op.status = "Succeeded"
            if op.on_success:
                op.on_success()
        self._changed.notify_all()

    def _poll(self, method: str, args: dict[str, str], query: dict[str, str], body: Any) -> Any:
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", "Only GET is allowed on operation status.")
        with self._lock:
            op = self._ops.get(args["op"])
            if op is None:
                raise ArmError(404, "OperationNotFound", f"Operation '{args['op']}' not found.")
            if op.status == "InProgress" and time.monotonic() >= op.due:
                self._finish(op)
            headers = self._lro_headers()
            if op.kind == "async":
                payload: dict[str, Any] = {
                    "id": args["op"],
                    "name": args["op"],
                    "status": op.status,
                    "startTime": op.started_iso,
                }
                if op.ended_iso:
                    payload["endTime"] = op.ended_iso
                if op.failure and op.status == "Failed":
                    payload["error"] = dict(op.failure)
                return 200, headers, payload
            if op.status == "InProgress":
                return 202, {**headers, "Location": f"{self.endpoint}{args['path']}"}, None
            if op.status == "Failed":
                assert op.failure is not None
                return 409, {}, _error_body(op.failure["code"], op.failure["message"])
            return 200, {}, None

    # ----------------------------------------------------------------- subscriptions
    def _sub_body(self, s: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{s['subscriptionId']}",
            "subscriptionId": s["subscriptionId"],
            "displayName": s.get("displayName", s["subscriptionId"]),
            "state": s.get("state", "Enabled"),
            "tenantId": s.get("tenantId", self.tenant_id),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    def _subscriptions(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "GET")
        if "sub" in args:
            s = next(
                s for s in self.subscriptions if s["subscriptionId"].lower() == args["sub"].lower()
            )
            return 200, {}, self._sub_body(s)
        tid = getattr(self._request, "tid", "")
        value = [
            self._sub_body(s)
            for s in self.subscriptions
            if not tid or s.get("tenantId", self.tenant_id).lower() == tid.lower()
        ]
        return 200, {}, {"value": value}

    def _tenants(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        """Every directory the signed-in user belongs to, whichever tenant the token is for."""
        _only(method, "GET")
        value = [
            {
                "id": f"/tenants/{t['tenantId']}",
                "tenantId": t["tenantId"],
                "countryCode": t.get("countryCode", "US"),
                "tenantCategory": t.get("tenantCategory", "Home"),
                "displayName": t.get("displayName", ""),
                "domains": [t.get("defaultDomain", "")],
                "defaultDomain": t.get("defaultDomain", ""),
                "tenantType": "AAD",
            }
            for t in self.tenants
        ]
        return 200, {}, {"value": value}

    def _locations(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "GET")
        value = [
            {
                "id": f"/subscriptions/{args['sub']}/locations/{name}",
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": f"({geo}) {display}",
                "metadata": {
                    "regionType": "Physical",
                    "regionCategory": "Recommended",
                    "geographyGroup": geo,
                },
            }
            for name, (display, geo) in LOCATIONS.items()
        ]
        return 200, {}, {"value": value}

    def _provider(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        ns = args["ns"].lower()
        aci = [LOCATIONS[n][0] for n in LOCATIONS if n in self.aci_locations]
        known = {
            "microsoft.containerinstance": (
                "Microsoft.ContainerInstance",
                [
                    ("containerGroups", aci, API_VERSIONS["aci"]),
                    ("locations", [], API_VERSIONS["aci"]),
                    ("locations/capabilities", aci, API_VERSIONS["aci"]),
                    ("locations/usages", aci, API_VERSIONS["aci"]),
                ],
            ),
            "microsoft.logic": (
                "Microsoft.Logic",
                [("workflows", _displays(self.logic_locations), API_VERSIONS["logic"])],
            ),
            "microsoft.web": (
                "Microsoft.Web",
                [
                    (
                        "connections",
                        _displays(self.managed_api_locations),
                        API_VERSIONS["connections"],
                    )
                ],
            ),
            "microsoft.authorization": (
                "Microsoft.Authorization",
                [
                    ("roleAssignments", [], API_VERSIONS["authorization"]),
                    ("roleDefinitions", [], API_VERSIONS["authorization"]),
                ],
            ),
        }
        if ns not in known:
            raise ArmError(
                404,
                "InvalidResourceNamespace",
                f"The resource namespace '{args['ns']}' is invalid.",
            )
        name, types = known[ns]
        if args.get("register"):
            _only(method, "POST")
            if not self.can_register_providers:
                oid = self.caller["oid"]
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client '{oid}' with object id '{oid}' does not have authorization to "
                    f"perform action '{name}/register/action' over scope "
                    f"'/subscriptions/{args['sub']}' or the scope is invalid. If access was "
                    "recently granted, please refresh your credentials.",
                )
            if ns in self.unregistered_providers:
                self.unregistered_providers.discard(ns)
                self._registering[ns] = self.registration_polls
        else:
            _only(method, "GET")
        if ns in self.unregistered_providers:
            state = "NotRegistered"
        elif self._registering.get(ns, 0) > 0:
            state = "Registering"
            if not args.get("register"):
                self._registering[ns] -= 1
        else:
            state = "Registered"
        return (
            200,
            {},
            {
                "id": f"/subscriptions/{args['sub']}/providers/{name}",
                "namespace": name,
                "registrationState": state,
                "registrationPolicy": "RegistrationRequired",
                "resourceTypes": [
                    {"resourceType": rt, "locations": locs, "apiVersions": list(vers)}
                    for rt, locs, vers in types
                ],
            },
        )

    # ----------------------------------------------------------------- resource groups
    def _rg_id(self, sub: str, rg: str) -> str:
        return f"/subscriptions/{sub}/resourceGroups/{rg}"

    def _need_rg(self, sub: str, rg: str, writing: bool = False) -> dict[str, Any]:
        found = self.resources.get(self._rg_id(sub, rg).lower())
        if found is None:
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
            )
        if writing and self._rg_id(sub, rg).lower() in self._deleting_rgs:
            raise ArmError(
                409,
                "ResourceGroupBeingDeleted",
                f"The resource group '{rg}' is in deprovisioning state and cannot perform this "
                "operation.",
            )
        return found

    def _rg_view(self, stored: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(stored)
        deleting = stored["id"].lower() in self._deleting_rgs
        view["properties"] = {"provisioningState": "Deleting" if deleting else "Succeeded"}
        return view

    def _resource_groups(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        with self._lock:
            if "rg" not in args:
                _only(method, "GET")
                prefix = f"/subscriptions/{args['sub']}/resourcegroups/".lower()
                value = [
                    self._rg_view(b)
                    for rid, b in self.resources.items()
                    if rid.startswith(prefix) and rid.count("/") == 4
                ]
                return 200, {}, {"value": value}
            sub, rg = args["sub"], args["rg"]
            rid = self._rg_id(sub, rg)
            stored = self.resources.get(rid.lower())
            if method == "HEAD":
                return (204 if stored else 404), {}, None
            if method == "GET":
                return 200, {}, self._rg_view(self._need_rg(sub, rg))
            if method in ("PUT", "PATCH"):
                if method == "PATCH" and stored is None:
                    self._need_rg(sub, rg)
                if stored is not None and rid.lower() in self._deleting_rgs:
                    self._need_rg(sub, rg, writing=True)
                if not _RG_NAME.match(rg) or rg.endswith("."):
                    raise ArmError(
                        400,
                        "InvalidResourceGroup",
                        f"The provided resource group name '{rg}' has these invalid characters or "
                        "length: it must be 1-90 letters, digits, '_', '-', '.', '(', ')' and not "
                        "end with '.'.",
                    )
                if not isinstance(body, dict):
                    raise ArmError(400, "InvalidRequestContent", "The request content is missing.")
                location = body.get("location") or (stored or {}).get("location")
                if not location:
                    raise ArmError(400, "LocationRequired", "The location property is required.")
                self._check_location_exists(location)
                if stored and _location_key(location) != _location_key(stored["location"]):
                    raise ArmError(
                        409,
                        "InvalidResourceGroupLocation",
                        f"Invalid resource group location '{location}'. The Resource group "
                        f"already exists in location '{stored['location']}'.",
                    )
                tags = body.get("tags") if method == "PUT" else body.get("tags", stored["tags"])  # type: ignore[index]
                new = {
                    "id": stored["id"] if stored else rid,
                    "name": stored["name"] if stored else rg,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": stored["location"] if stored else _location_key(location),
                    "tags": dict(tags or {}),
                }
                self.resources[rid.lower()] = new
                return (200 if stored else 201), {}, self._rg_view(new)
            if method == "DELETE":
                if stored is None:
                    return 204, {}, None
                if rid.lower() in self._deleting_rgs:
                    raise ArmError(
                        409, "Conflict", f"Resource group '{rg}' is already being deleted."
                    )
                self._deleting_rgs.add(rid.lower())

                def done() -> None:
                    self._deleting_rgs.discard(rid.lower())
                    self._purge_under(rid.lower())

                def failed() -> None:
                    self._deleting_rgs.discard(rid.lower())

                headers = self._begin(
                    "location",
                    rid,
                    rid,
                    sub,
                    "Microsoft.Resources",
                    stored["location"],
                    "2025-04-01",
                    done,
                    failed,
                )
                return 202, headers, None
            raise _method_not_allowed(method)

    def _purge_under(self, rid_lower: str) -> None:
        for key in [k for k in self.resources if k == rid_lower or k.startswith(rid_lower + "/")]:
            del self.resources[key]
            if key in self._groups:
                self._groups[key].bump()
                del self._groups[key]
            self._wf_meta.pop(key, None)
            self._wf_runs.pop(key, None)

    def _check_location_exists(self, location: str) -> None:
        if _location_key(location) not in LOCATIONS:
            raise ArmError(
                400,
                "LocationNotAvailableForResourceGroup",
                f"The provided location '{location}' is not available for resource group. List "
                f"of available regions is '{','.join(LOCATIONS)}'.",
            )

    def _forget(self, key: str) -> None:
        """Delete a stored resource (caller holds the lock); the list API may lag behind."""
        body = self.resources.pop(key, None)
        if body is not None:
            self._recently_deleted[key] = (time.monotonic(), body)

    def _rg_resources(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "GET")
        with self._lock:
            self._need_rg(args["sub"], args["rg"])
            prefix = self._rg_id(args["sub"], args["rg"]).lower() + "/providers/"
            now = time.monotonic()
            lagging = {
                k: b
                for k, (when, b) in self._recently_deleted.items()
                if now - when < self.list_lag_seconds and k not in self.resources
            }
            value = [
                {k: b[k] for k in ("id", "name", "type", "location", "tags") if k in b}
                for rid, b in [*self.resources.items(), *lagging.items()]
                if rid.startswith(prefix) and "/microsoft.authorization/" not in rid
            ]
            return 200, {}, {"value": value}

    # ----------------------------------------------------------------- container instances
    def _cg_limits(self, location: str) -> tuple[float, float]:
        return self.capabilities.get(_location_key(location), (self.max_cpu, self.max_memory_gb))

    def _aci_location(self, location: str) -> None:
        if _location_key(location) not in self.aci_locations:
            available = ",".join(LOCATIONS[n][0].lower() for n in sorted(self.aci_locations))
            raise ArmError(
                400,
                "LocationNotAvailableForResourceType",
                f"The provided location '{location}' is not available for resource type "
                f"'Microsoft.ContainerInstance/containerGroups'. List of available regions for "
                f"the resource type is '{available}'.",
            )

    def _capabilities(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "GET")
        loc = _location_key(args["loc"])
        if args["what"].lower() == "usages":
            with self._lock:
                groups = [
                    b
                    for rid, b in self.resources.items()
                    if "/providers/microsoft.containerinstance/containergroups/" in rid
                    and _location_key(b["location"]) == loc
                ]
            cores = sum(_group_totals(b)[0] for b in groups)
            value = [
                {
                    "id": f"/subscriptions/{args['sub']}/providers/Microsoft.ContainerInstance/"
                    f"locations/{loc}/usages/ContainerGroups",
                    "unit": "Count",
                    "currentValue": len(groups),
                    "limit": 100,
                    "name": {"value": "ContainerGroups", "localizedValue": "Container Groups"},
                },
                {
                    "id": f"/subscriptions/{args['sub']}/providers/Microsoft.ContainerInstance/"
                    f"locations/{loc}/usages/StandardCores",
                    "unit": "Count",
                    "currentValue": math.ceil(cores),
                    "limit": 100,
                    "name": {"value": "StandardCores", "localizedValue": "Standard Cores"},
                },
            ]
            return 200, {}, {"value": value}
        if loc not in self.aci_locations:
            return 200, {}, {"value": []}
        cpu, mem = self._cg_limits(loc)
        display = LOCATIONS.get(loc, (args["loc"], ""))[0]
        value = []
        for os_type, ip in (("Linux", "Public"), ("Linux", "Private"), ("Windows", "Public")):
            value.append(
                {
                    "resourceType": "containerGroups",
                    "osType": os_type,
                    "location": display,
                    "ipAddressType": ip,
                    "gpu": "None",
                    "capabilities": {"maxMemoryInGB": mem, "maxCpu": cpu, "maxGpuCount": 0},
                }
            )
        return 200, {}, {"value": value}

    def _cg_id(self, sub: str, rg: str, name: str) -> str:
        return (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
            f"Microsoft.ContainerInstance/containerGroups/{name}"
        )

    def _cg_view(self, stored: dict[str, Any], instance_view: bool = True) -> dict[str, Any]:
        view = copy.deepcopy(stored)
        props = view["properties"]
        state = self._groups.get(stored["id"].lower())
        props["provisioningState"] = state.provisioning if state else "Succeeded"
        props.setdefault("sku", "Standard")
        for cred in props.get("imageRegistryCredentials") or []:
            cred.pop("password", None)
        for container in props.get("containers", []):
            cprops = container["properties"]
            for env in cprops.get("environmentVariables") or []:
                env.pop("secureValue", None)
            cprops.setdefault("ports", [])
            cprops.setdefault("environmentVariables", [])
            cstate = state.containers.get(container["name"]) if state else None
            if instance_view and cstate and cstate.current:
                iv: dict[str, Any] = {
                    "restartCount": cstate.restarts,
                    "currentState": dict(cstate.current),
                    "events": [],
                }
                if cstate.previous:
                    iv["previousState"] = dict(cstate.previous)
                cprops["instanceView"] = iv
        if instance_view and state:
            props["instanceView"] = {
                "events": [],
                **({"state": state.state} if state.state else {}),
            }
        for secret_key in ("workspaceKey",):
            la = (props.get("diagnostics") or {}).get("logAnalytics")
            if la:
                la.pop(secret_key, None)
        return view

    def _container_groups(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        with self._lock:
            sub = args["sub"]
            if "name" not in args:
                _only(method, "GET")
                if "rg" in args:
                    self._need_rg(sub, args["rg"])
                    prefix = self._rg_id(sub, args["rg"]).lower() + "/"
                else:
                    prefix = f"/subscriptions/{sub}/".lower()
                value = [
                    self._cg_view(b, instance_view=False)
                    for rid, b in self.resources.items()
                    if rid.startswith(prefix)
                    and "/providers/microsoft.containerinstance/containergroups/" in rid
                ]
                return 200, {}, {"value": value}
            rg, name = args["rg"], args["name"]
            rid = self._cg_id(sub, rg, name)
            stored = self.resources.get(rid.lower())
            if method == "GET":
                self._need_rg(sub, rg)
                if stored is None:
                    raise _not_found("Microsoft.ContainerInstance/containerGroups", name, rg)
                return 200, {}, self._cg_view(stored)
            if method == "PUT":
                return self._cg_put(sub, rg, name, rid, stored, body, args["_api"])
            if method == "DELETE":
                self._need_rg(sub, rg)
                if stored is None:
                    return 204, {}, None
                state = self._groups.setdefault(rid.lower(), _Group())
                state.provisioning = "Deleting"
                state.bump()

                def done() -> None:
                    self._forget(rid.lower())
                    self._groups.pop(rid.lower(), None)

                def failed() -> None:
                    state.provisioning = "Failed"

                headers = self._begin(
                    "async",
                    stored["id"],
                    rid,
                    sub,
                    "Microsoft.ContainerInstance",
                    stored["location"],
                    args["_api"],
                    done,
                    failed,
                )
                return 202, headers, None
            if method == "PATCH":
                if stored is None:
                    raise _not_found("Microsoft.ContainerInstance/containerGroups", name, rg)
                if isinstance(body, dict) and "tags" in body:
                    stored["tags"] = dict(body["tags"] or {})
                return 200, {}, self._cg_view(stored)
            raise _method_not_allowed(method)

    def _cg_put(
        self,
        sub: str,
        rg: str,
        name: str,
        rid: str,
        stored: dict[str, Any] | None,
        body: Any,
        api: str,
    ) -> Any:
        self._need_rg(sub, rg, writing=True)
        if not _CG_NAME.match(name):
            raise ArmError(
                400,
                "ContainerGroupNameInvalid",
                f"The container group name '{name}' is invalid. The container group name must "
                "contain no more than 63 characters and can contain only lowercase letters, "
                "numbers, and dashes. Dashes can not be the first or last character. Two "
                "consecutive dashes are not allowed.",
            )
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content is missing.")
        problems = arm_specs.validate("ContainerGroup", body)
        if problems:
            raise ArmError(400, "InvalidRequestContent", "; ".join(problems))
        location = body.get("location")
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required.")
        self._aci_location(location)
        props = body["properties"]
        for container in props["containers"]:
            cname = container["name"]
            if not _CG_NAME.match(cname):
                raise ArmError(
                    400,
                    "ContainerNameInvalid",
                    f"The container name '{cname}' in container group '{name}' is invalid: "
                    "lowercase letters, numbers and single dashes, 1-63 characters.",
                )
            image = container["properties"]["image"]
            if image in self.inaccessible_images:
                raise ArmError(
                    400,
                    "InaccessibleImage",
                    f"The image '{image}' in container group '{name}' is not accessible. Please "
                    "check the image and registry credential.",
                )
        cpu, mem = _group_totals(body)
        max_cpu, max_mem = self._cg_limits(location)
        if cpu <= 0 or mem <= 0 or cpu > max_cpu or mem > max_mem:
            raise ArmError(
                400,
                "ResourceRequestsNotSupported",
                f"The requested resource with 'CPU: {cpu:g}, memory: {mem:g} GB' is not supported "
                f"in location '{location}' for OS type '{props['osType']}'. The maximum "
                f"supported is 'CPU: {max_cpu:g}, memory: {max_mem:g} GB'.",
            )
        if stored is not None:
            if _location_key(stored["location"]) != _location_key(location):
                raise ArmError(
                    409,
                    "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{stored['location']}' in "
                    f"resource group '{rg}'. A resource with the same name cannot be created in "
                    f"location '{location}'. Please select a new resource name.",
                )
            if _immutable(stored) != _immutable(body):
                raise ArmError(
                    409,
                    "InvalidContainerGroupUpdate",
                    f"The updates on container group '{name}' are invalid. If you are going to "
                    "update the os type, restart policy, network profile, CPU, memory or GPU "
                    "resources for a container group, you must delete it first and then create "
                    "a new one.",
                )
        new = copy.deepcopy(body)
        new["id"] = stored["id"] if stored else rid
        new["name"] = stored["name"] if stored else name
        new["type"] = "Microsoft.ContainerInstance/containerGroups"
        new["location"] = _location_key(location)
        self.resources[rid.lower()] = new
        state = self._groups.setdefault(rid.lower(), _Group())
        state.provisioning = "Updating" if stored else "Creating"
        state.bump()  # a redeploy replaces any run in progress
        state.running = 0

        def done() -> None:
            state.provisioning = "Succeeded"
            self._start_group(rid.lower())

        def failed() -> None:
            state.provisioning = "Failed"

        headers = self._begin(
            "async", new["id"], rid, sub, "Microsoft.ContainerInstance", location, api, done, failed
        )
        return (200 if stored else 201), headers, self._cg_view(new)

    def _start_group(self, key: str) -> None:
        """Start every container (caller holds the lock); the hook runs in threads."""
        stored = self.resources.get(key)
        state = self._groups.get(key)
        if stored is None or state is None:
            return
        state.bump()
        state.starting = False
        generation = state.generation
        state.state = "Running"
        props = stored["properties"]
        creds = [dict(c) for c in props.get("imageRegistryCredentials") or []]
        containers = props["containers"]
        state.running = len(containers)
        for container in containers:
            cprops = container["properties"]
            cstate = state.containers.setdefault(container["name"], _Container())
            if cstate.current and cstate.current.get("state") == "Terminated":
                cstate.previous = cstate.current
            cstate.current = {"state": "Running", "startTime": _now_iso(), "detailStatus": ""}
            cstate.logs = ""
            env = {
                e["name"]: e.get("secureValue", e.get("value", ""))
                for e in cprops.get("environmentVariables") or []
            }
            requests = cprops["resources"]["requests"]
            run = ContainerRun(
                group=stored["name"],
                container_name=container["name"],
                image=cprops["image"],
                env=env,
                registry_credentials=creds,
                cpu=float(requests["cpu"]),
                memory_gb=float(requests["memoryInGB"]),
            )
            self.runs.append(run)
            state.active.append(run)
            threading.Thread(
                target=self._run_container,
                args=(key, container["name"], run, generation, self._epoch),
                name=f"fake-aci-{stored['name']}",
                daemon=True,
            ).start()
        self._changed.notify_all()

    def _run_container(
        self, key: str, cname: str, run: ContainerRun, generation: int, epoch: int
    ) -> None:
        try:
            outcome = self.run_container(run)
        except Exception:
            outcome = RunOutcome(exit_code=1, logs=traceback.format_exc())
        with self._lock:
            state = self._groups.get(key)
            stored = self.resources.get(key)
            if (
                epoch != self._epoch
                or state is None
                or stored is None
                or state.generation != generation
            ):
                return
            cstate = state.containers[cname]
            cstate.current = {
                "state": "Terminated",
                "startTime": (cstate.current or {}).get("startTime", _now_iso()),
                "finishTime": _now_iso(),
                "exitCode": int(outcome.exit_code),
                "detailStatus": "Completed" if outcome.exit_code == 0 else "Error",
            }
            cstate.logs = _trim_logs(outcome.logs)
            state.running -= 1
            state.last_outcome = outcome
            if state.running <= 0:
                policy = stored["properties"].get("restartPolicy", "Always")
                codes = [(c.current or {}).get("exitCode", 0) for c in state.containers.values()]
                ok = all(code == 0 for code in codes)
                if policy == "Never" or (policy == "OnFailure" and ok):
                    state.state = "Succeeded" if ok else "Failed"
                state.finished_runs += 1
            self._changed.notify_all()

    def _cg_action(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "POST")
        with self._lock:
            sub, rg, name, action = args["sub"], args["rg"], args["name"], args["action"].lower()
            self._need_rg(sub, rg, writing=True)
            rid = self._cg_id(sub, rg, name)
            stored = self.resources.get(rid.lower())
            if stored is None:
                raise _not_found("Microsoft.ContainerInstance/containerGroups", name, rg)
            state = self._groups.setdefault(rid.lower(), _Group())
            if action == "stop":
                state.bump()
                state.running = 0
                state.state = "Stopped"
                # ACI deallocates a stopped group: no container instance view, no logs.
                state.containers.clear()
                self._changed.notify_all()
                return 204, {}, None
            key = rid.lower()
            if action == "start" and state.running_or_starting:
                # "204 No Content: Started - the container group is already running or
                # starting" (Container Groups - Start, 2023-05-01): the run goes on, none added.
                return 204, {}, None
            if action == "start":
                state.starting = True
            headers = self._begin(
                "async",
                stored["id"],
                rid + "/" + action,
                sub,
                "Microsoft.ContainerInstance",
                stored["location"],
                args["_api"],
                lambda: self._start_group(key),
            )
            # the SDK expects restart to answer 204 (still an LRO), start 202
            return (204 if action == "restart" else 202), headers, None

    def _cg_logs(self, method: str, args: dict[str, str], query: dict[str, str], body: Any) -> Any:
        _only(method, "GET")
        with self._lock:
            sub, rg, name = args["sub"], args["rg"], args["name"]
            self._need_rg(sub, rg)
            rid = self._cg_id(sub, rg, name).lower()
            stored = self.resources.get(rid)
            if stored is None:
                raise _not_found("Microsoft.ContainerInstance/containerGroups", name, rg)
            names = [c["name"] for c in stored["properties"]["containers"]]
            if args["container"] not in names:
                raise ArmError(
                    404,
                    "ContainerNotFound",
                    f"The container '{args['container']}' is not found in container group "
                    f"'{name}'.",
                )
            state = self._groups.get(rid)
            cstate = state.containers.get(args["container"]) if state else None
            content = cstate.logs if cstate else ""
        tail = query.get("tail")
        if tail:
            lines = content.splitlines(keepends=True)
            content = "".join(lines[-int(tail) :]) if int(tail) > 0 else ""
        return 200, {}, {"content": content}

    # ----------------------------------------------------------------- API connections
    def _connections(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        with self._lock:
            sub, rg, name = args["sub"], args["rg"], args["name"]
            rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/connections/{name}"
            stored = self.resources.get(rid.lower())
            if method == "GET":
                self._need_rg(sub, rg)
                if stored is None:
                    raise _not_found("Microsoft.Web/connections", name, rg)
                return 200, {}, copy.deepcopy(stored)
            if method == "DELETE":
                self._need_rg(sub, rg)
                if stored is None:
                    return 204, {}, None
                self._forget(rid.lower())
                return 200, {}, None
            if method == "PATCH":
                # Connections_Update (2016-06-01): "Updates a connection's tags"; the
                # properties (and so the authorization) stay as they are
                self._need_rg(sub, rg, writing=True)
                if stored is None:
                    raise _not_found("Microsoft.Web/connections", name, rg)
                if isinstance(body, dict) and "tags" in body:
                    stored["tags"] = dict(body["tags"] or {})
                return 200, {}, copy.deepcopy(stored)
            if method != "PUT":
                raise _method_not_allowed(method)
            self._need_rg(sub, rg, writing=True)
            if not isinstance(body, dict):
                raise ArmError(400, "InvalidRequestContent", "The request content is missing.")
            problems = arm_specs.validate("ApiConnectionDefinition", body)
            if problems:
                raise ArmError(400, "InvalidRequestContent", "; ".join(problems))
            location = body.get("location")
            if not location:
                raise ArmError(400, "LocationRequired", "The location property is required.")
            self._check_location_exists(location)
            props = copy.deepcopy(body.get("properties") or {})
            api_id = (props.get("api") or {}).get("id")
            if not api_id:
                raise ArmError(
                    400, "InvalidRequestContent", "properties.api.id: the managed API is required."
                )
            now = _now_iso()
            api_name = api_id.rstrip("/").rsplit("/", 1)[-1]
            props["api"] = {
                "id": api_id,
                "name": api_name,
                "displayName": "Azure Container Instance" if api_name == "aci" else api_name,
                "type": "Microsoft.Web/locations/managedApis",
            }
            props.setdefault("displayName", name)
            props["statuses"] = (stored or {}).get("properties", {}).get("statuses") or [
                {
                    "status": "Error",
                    "target": "token",
                    "error": {
                        "code": "Unauthenticated",
                        "message": "This connection is not authenticated.",
                    },
                }
            ]
            props["createdTime"] = (stored or {}).get("properties", {}).get("createdTime", now)
            props["changedTime"] = now
            props.setdefault("testLinks", [])
            new = {
                "id": stored["id"] if stored else rid,
                "name": stored["name"] if stored else name,
                "type": "Microsoft.Web/connections",
                "location": _location_key(location),
                "etag": f'"{uuid.uuid4().hex[:16]}"',
                "tags": dict(body.get("tags") or {}),
                "properties": props,
            }
            self.resources[rid.lower()] = new
            return 200, {}, copy.deepcopy(new)

    # ----------------------------------------------------------------- Logic Apps
    def _wf_id(self, sub: str, rg: str, name: str) -> str:
        return (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Logic/workflows/{name}"
        )

    def _workflows(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        with self._lock:
            sub, rg = args["sub"], args["rg"]
            if "name" not in args:
                _only(method, "GET")
                self._need_rg(sub, rg)
                prefix = self._rg_id(sub, rg).lower() + "/providers/microsoft.logic/workflows/"
                value = [
                    copy.deepcopy(b) for k, b in self.resources.items() if k.startswith(prefix)
                ]
                return 200, {}, {"value": value}
            name = args["name"]
            rid = self._wf_id(sub, rg, name)
            stored = self.resources.get(rid.lower())
            if method == "GET":
                self._need_rg(sub, rg)
                if stored is None:
                    raise _not_found("Microsoft.Logic/workflows", name, rg)
                return 200, {}, copy.deepcopy(stored)
            if method == "DELETE":
                self._need_rg(sub, rg)
                if stored is None:
                    return 204, {}, None
                self._forget(rid.lower())
                meta = self._wf_meta.pop(rid.lower(), {})
                self._wf_runs.pop(rid.lower(), None)
                self.known_principals.pop(meta.get("principal", ""), None)
                return 200, {}, None
            if method != "PUT":
                raise _method_not_allowed(method)
            return self._wf_put(sub, rg, name, rid, stored, body)

    def _wf_put(
        self, sub: str, rg: str, name: str, rid: str, stored: dict[str, Any] | None, body: Any
    ) -> Any:
        self._need_rg(sub, rg, writing=True)
        if not _WF_NAME.match(name):
            raise ArmError(
                400,
                "InvalidWorkflowName",
                f"The workflow name '{name}' is not valid: up to 43 letters, digits, '-', '_', "
                "'.', '(' or ')'.",
            )
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content is missing.")
        problems = arm_specs.validate("Workflow", body)
        identity = body.get("identity")
        if identity is not None and (
            not isinstance(identity, dict)
            or identity.get("type") not in ("SystemAssigned", "UserAssigned", "None")
        ):
            problems.append(
                "identity.type: must be one of 'SystemAssigned', 'UserAssigned', 'None'"
            )
        if problems:
            raise ArmError(400, "InvalidRequestContent", "; ".join(problems))
        location = body.get("location")
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required.")
        self._check_location_exists(location)
        props = copy.deepcopy(body.get("properties") or {})
        definition = props.get("definition")
        if not isinstance(definition, dict):
            raise ArmError(
                400, "InvalidRequestContent", "properties.definition: the definition is required."
            )
        _check_definition(definition, props.get("parameters") or {})
        key = rid.lower()
        meta = self._wf_meta.setdefault(
            key,
            {
                "wid": uuid.uuid4().hex,
                "sig": secrets.token_urlsafe(32),
                "prod": f"{secrets.randbelow(100):02d}",
            },
        )
        region = _location_key(location)
        out_identity = None
        if identity and identity.get("type") == "SystemAssigned":
            if "principal" not in meta:
                meta["principal"] = str(uuid.uuid4())
            self.known_principals[meta["principal"]] = "ServicePrincipal"
            out_identity = {
                "type": "SystemAssigned",
                "principalId": meta["principal"],
                "tenantId": self.tenant_id,
            }
        elif "principal" in meta:
            self.known_principals.pop(meta.pop("principal"), None)
        if identity and identity.get("type") == "UserAssigned":
            out_identity = copy.deepcopy(identity)
        now = _now_iso()
        access = f"https://prod-{meta['prod']}.{region}.logic.azure.com:443/workflows/{meta['wid']}"
        props.update(
            {
                "provisioningState": "Succeeded",
                "createdTime": (stored or {}).get("properties", {}).get("createdTime", now),
                "changedTime": now,
                "state": props.get("state", "Enabled"),
                "version": str(int(time.time() * 1000)),
                "accessEndpoint": access,
                "endpointsConfiguration": {
                    "workflow": {"outgoingIpAddresses": [], "accessEndpointIpAddresses": []},
                    "connector": {"outgoingIpAddresses": []},
                },
            }
        )
        new: dict[str, Any] = {
            "id": stored["id"] if stored else rid,
            "name": stored["name"] if stored else name,
            "type": "Microsoft.Logic/workflows",
            "location": region,
            "tags": dict(body.get("tags") or {}),
            "properties": props,
        }
        if out_identity:
            new["identity"] = out_identity
        self.resources[key] = new
        return (200 if stored else 201), {}, copy.deepcopy(new)

    def _callback_url(self, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        _only(method, "POST")
        with self._lock:
            sub, rg, name, trigger = args["sub"], args["rg"], args["name"], args["trigger"]
            self._need_rg(sub, rg)
            key = self._wf_id(sub, rg, name).lower()
            stored = self.resources.get(key)
            if stored is None:
                raise _not_found("Microsoft.Logic/workflows", name, rg)
            triggers = stored["properties"]["definition"].get("triggers") or {}
            if trigger not in triggers:
                raise ArmError(
                    404,
                    "WorkflowTriggerNotFound",
                    f"The workflow '{name}' trigger '{trigger}' could not be found.",
                )
            meta = self._wf_meta[key]
            region = stored["location"]
            base = (
                f"https://prod-{meta['prod']}.{region}.logic.azure.com/workflows/{meta['wid']}"
                f"/triggers/{trigger}/paths/invoke"
            )
            queries = {
                "api-version": "2016-10-01",
                "sp": f"/triggers/{trigger}/run",
                "sv": "1.0",
                "sig": meta["sig"],
            }
            value = (
                f"https://prod-{meta['prod']}.{region}.logic.azure.com:443/workflows/{meta['wid']}"
                f"/triggers/{trigger}/paths/invoke?api-version=2016-10-01"
                f"&sp=%2Ftriggers%2F{trigger}%2Frun&sv=1.0&sig={meta['sig']}"
            )
            return (
                200,
                {},
                {"value": value, "method": "POST", "basePath": base, "queries": queries},
            )

    # ----------------------------------------------------------------- Logic Apps runtime
    def invoke_webhook(
        self, url: str, body: Any = None, *, timeout: float | None = None
    ) -> tuple[int, Any]:
        """Numerai POSTs the callback URL: run the workflow, answer as Logic Apps does."""
        parts = urlsplit(url)
        found = re.search(r"/workflows/([0-9a-f]+)/triggers/([^/]+)/paths/invoke", parts.path)
        sig = dict(parse_qsl(parts.query)).get("sig", "")
        with self._lock:
            key = next(
                (
                    k
                    for k, m in self._wf_meta.items()
                    if found and m["wid"] == found.group(1) and k in self.resources
                ),
                None,
            )
            if key is None or found is None:
                return 404, _error_body("WorkflowNotFound", "The workflow could not be found.")
            if sig != self._wf_meta[key]["sig"]:
                return 401, _error_body(
                    "DirectApiInvalidAuthorizationSignature",
                    "The provided authorization signature is not valid.",
                )
            stored = copy.deepcopy(self.resources[key])
            definition = stored["properties"]["definition"]
            trigger = found.group(2)
            if trigger not in (definition.get("triggers") or {}):
                return 404, _error_body(
                    "WorkflowTriggerNotFound", f"The trigger '{trigger}' could not be found."
                )
            if stored["properties"].get("state", "Enabled") != "Enabled":
                return 409, _error_body(
                    "WorkflowNotEnabled", f"The workflow '{stored['name']}' is not enabled."
                )
            run = self._new_run(key, stored, trigger)
            answered = threading.Event()
            answer: dict[str, Any] = {}
            epoch = self._epoch
        threading.Thread(
            target=self._execute_run,
            args=(key, stored, run, answered, answer, epoch),
            name=f"fake-logic-{stored['name']}",
            daemon=True,
        ).start()
        actions = definition.get("actions") or {}
        if not any(a.get("type") == "Response" for a in actions.values()):
            return 202, None
        limit = self.logic_sync_limit if timeout is None else timeout
        if not answered.wait(limit):
            return 504, _error_body(
                "ActionResponseTimedOut",
                "The execution of template action 'response' is not completed within the "
                f"alloted time of {limit:g} seconds: the workflow took too long to respond.",
            )
        return answer["status"], answer.get("body")

    def runs_of(self, resource_group: str, workflow: str) -> list[dict[str, Any]]:
        """The run records of a workflow, newest first (what the runs API lists)."""
        key = self._wf_id(self.subscription_id, resource_group, workflow).lower()
        with self._lock:
            return [copy.deepcopy(r) for r in reversed(self._wf_runs.get(key, []))]

    def wait_for_runs(self, resource_group: str, workflow: str, timeout: float = 30.0) -> None:
        """Until no run of the workflow is Running any more."""
        deadline = time.monotonic() + timeout
        key = self._wf_id(self.subscription_id, resource_group, workflow).lower()
        with self._changed:
            while any(r["properties"]["status"] == "Running" for r in self._wf_runs.get(key, [])):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"a run of {workflow!r} did not end in {timeout}s")
                self._changed.wait(left)

    def _new_run(self, key: str, stored: dict[str, Any], trigger: str) -> dict[str, Any]:
        now = _now_iso()
        name = f"08584{secrets.randbelow(10**24):024d}CU{secrets.randbelow(100):02d}"
        run = {
            "id": f"{stored['id']}/runs/{name}",
            "name": name,
            "type": "Microsoft.Logic/workflows/runs",
            "properties": {
                "waitEndTime": now,
                "startTime": now,
                "status": "Running",
                "correlation": {"clientTrackingId": name},
                "workflow": {
                    "id": f"{stored['id']}/versions/{stored['properties']['version']}",
                    "name": stored["properties"]["version"],
                    "type": "Microsoft.Logic/workflows/versions",
                },
                "trigger": {
                    "name": trigger,
                    "startTime": now,
                    "endTime": now,
                    "scheduledTime": now,
                    "trackingId": str(uuid.uuid4()),
                    "clientTrackingId": name,
                    "code": "OK",
                    "status": "Succeeded",
                },
                "outputs": {},
            },
            "_actions": {},
        }
        self._wf_runs.setdefault(key, []).append(run)
        return run

    def _action_record(self, run: dict[str, Any], name: str) -> dict[str, Any]:
        record = {
            "id": f"{run['id']}/actions/{name}",
            "name": name,
            "type": "Microsoft.Logic/workflows/runs/actions",
            "properties": {
                "startTime": _now_iso(),
                "status": "Running",
                "code": "NotSpecified",
                "trackingId": str(uuid.uuid4()),
                "correlation": {
                    "actionTrackingId": str(uuid.uuid4()),
                    "clientTrackingId": run["name"],
                },
            },
        }
        run["_actions"][name] = record
        return record

    def _execute_run(
        self,
        key: str,
        stored: dict[str, Any],
        run: dict[str, Any],
        answered: threading.Event,
        answer: dict[str, Any],
        epoch: int,
    ) -> None:
        """Actions in runAfter order, one at a time (our workflows are a chain)."""
        actions: dict[str, Any] = stored["properties"]["definition"].get("actions") or {}
        done = self._run_scope(stored, run, actions, answered, answer, epoch, {})
        if done is None:
            return
        with self._lock:
            if epoch != self._epoch:
                return
            failed = [run["_actions"][n] for n, st in done.items() if st == "Failed"]
            props = run["properties"]
            props["endTime"] = _now_iso()
            props["status"] = "Failed" if failed else "Succeeded"
            if failed:
                props["code"] = "ActionFailed"
                props["error"] = {
                    "code": "ActionFailed",
                    "message": "An action failed. No dependent actions succeeded.",
                }
            if not answered.is_set():
                answer.update(
                    status=502,
                    body=_error_body(
                        "ActionResponseSkipped",
                        "The execution of template action 'response' is skipped: the "
                        "'runAfter' condition is not satisfied.",
                    ),
                )
                answered.set()
            self._changed.notify_all()

    def _run_scope(
        self,
        stored: dict[str, Any],
        run: dict[str, Any],
        actions: dict[str, Any],
        answered: threading.Event,
        answer: dict[str, Any],
        epoch: int,
        outputs: dict[str, Any],
    ) -> dict[str, str] | None:
        """One scope's actions in runAfter order; their statuses (None: the server reset)."""
        done: dict[str, str] = {}
        while len(done) < len(actions):
            ready = [
                (n, a)
                for n, a in actions.items()
                if n not in done and all(d in done for d in (a.get("runAfter") or {}))
            ]
            if not ready:
                break
            for name, action in ready:
                wanted = action.get("runAfter") or {}
                with self._lock:
                    if epoch != self._epoch:
                        return None
                    record = self._action_record(run, name)
                    if any(done[d] not in want for d, want in wanted.items()):
                        record["properties"].update(
                            status="Skipped",
                            code="ActionSkipped",
                            endTime=_now_iso(),
                            error={
                                "code": "ActionConditionFailed",
                                "message": f"The execution of template action '{name}' is "
                                "skipped: the 'runAfter' condition for action "
                                f"'{next(iter(wanted))}' is not satisfied.",
                            },
                        )
                        done[name] = "Skipped"
                        continue
                kind = str(action.get("type", "")).lower()
                if kind == "until":
                    status, code, error = self._run_until(
                        stored, run, record, action, answered, answer, epoch, outputs
                    )
                elif kind == "wait":
                    status, code, error = self._run_wait(action)
                elif kind == "http":
                    status, code, error = self._run_http_with_retries(stored, action, record, epoch)
                    outputs[name] = {"statusCode": _HTTP_STATUS.get(code, 0)}
                    with self._lock:
                        record["properties"]["outputs"] = outputs[name]
                else:
                    status, code, error = self._run_action(stored, action, answered, answer, epoch)
                with self._lock:
                    record["properties"].update(status=status, code=code, endTime=_now_iso())
                    if error:
                        record["properties"]["error"] = error
                    done[name] = status
                    self._changed.notify_all()
        return done

    def _run_until(
        self,
        stored: dict[str, Any],
        run: dict[str, Any],
        record: dict[str, Any],
        action: dict[str, Any],
        answered: threading.Event,
        answer: dict[str, Any],
        epoch: int,
        outputs: dict[str, Any],
    ) -> tuple[str, str, dict[str, str] | None]:
        """An ``Until`` loop: its actions, then the expression, until true or a limit.

        Reaching a limit with the last iteration's action failed ends the loop Failed with
        that action's error (how this stand-in reports a loop that never got through).
        """
        limit = action.get("limit") or {}
        count = int(limit.get("count", 60))
        timeout = iso_duration_seconds(str(limit.get("timeout", "PT1H"))) or 3600.0
        started = self.clock.now()
        inner = action.get("actions") or {}
        iterations = 0
        last: dict[str, str] = {}
        while True:
            iterations += 1
            done = self._run_scope(stored, run, inner, answered, answer, epoch, outputs)
            if done is None:
                return "Failed", "NotFound", {"code": "Reset", "message": "server reset"}
            last = done
            with self._lock:
                record["properties"]["iterationCount"] = iterations
                for name in inner:
                    if name in run["_actions"]:
                        run["_actions"][name]["properties"]["repetitionCount"] = iterations
            try:
                finished = bool(evaluate_expression(str(action.get("expression", "")), outputs))
            except ValueError as exc:
                return "Failed", "BadRequest", {"code": "InvalidTemplate", "message": str(exc)}
            elapsed = (self.clock.now() - started).total_seconds()
            if finished or iterations >= count or elapsed >= timeout:
                break
        failed = [n for n, st in last.items() if st == "Failed"]
        if not finished and failed:
            error = run["_actions"][failed[0]]["properties"].get("error") or {}
            return (
                "Failed",
                "ActionFailed",
                {
                    "code": "ActionFailed",
                    "message": f"The loop ended after {iterations} iterations (its limit) and its "
                    f"last '{failed[0]}' failed: {error.get('message', '')}",
                },
            )
        return "Succeeded", "OK", None

    def _run_wait(self, action: dict[str, Any]) -> tuple[str, str, dict[str, str] | None]:
        """``Wait``: Azure time passes (the clock advances); no real sleep."""
        interval = ((action.get("inputs") or {}).get("interval")) or {}
        unit = _UNIT_SECONDS.get(str(interval.get("unit", "")).lower(), 0)
        self.clock.advance(float(interval.get("count", 0)) * unit)
        return "Succeeded", "OK", None

    def _run_http_with_retries(
        self, stored: dict[str, Any], action: dict[str, Any], record: dict[str, Any], epoch: int
    ) -> tuple[str, str, dict[str, str] | None]:
        """An ``Http`` action under its retry policy: 408, 429 and 5xx are sent again (the
        default: exponential, 4 retries; ``{"type": "none"}``: never); a 403 never is."""
        policy = ((action.get("inputs") or {}).get("retryPolicy")) or {}
        kind = str(policy.get("type", "exponential")).lower()
        retries = 0 if kind == "none" else int(policy.get("count", 4))
        interval = iso_duration_seconds(str(policy.get("interval", "PT7.5S"))) or 7.5
        history: list[dict[str, Any]] = []
        while True:
            began = self.clock.iso()
            with self._lock:
                fault = self.start_faults.pop(0) if self.start_faults else None
            if fault is not None:
                code = _DEFAULT_CODES.get(fault, "Error")
                result: tuple[str, str, dict[str, str] | None] = (
                    "Failed",
                    code,
                    {"code": code, "message": f"Injected failure {fault}."},
                )
            else:
                result = self._run_action(stored, action, threading.Event(), {}, epoch)
            status_code = fault or _HTTP_STATUS.get(result[1], 0)
            if result[0] == "Succeeded" or status_code not in RETRYABLE or len(history) >= retries:
                if history:
                    with self._lock:
                        record["properties"]["retryHistory"] = history
                return result
            history.append({"startTime": began, "endTime": self.clock.iso(), "code": result[1],
                            "error": result[2]})  # fmt: skip
            self.clock.advance(
                interval * (2 ** (len(history) - 1)) if kind != "fixed" else interval
            )

    def _run_action(
        self,
        stored: dict[str, Any],
        action: dict[str, Any],
        answered: threading.Event,
        answer: dict[str, Any],
        epoch: int,
    ) -> tuple[str, str, dict[str, str] | None]:
        kind = str(action.get("type", "")).lower()
        inputs = action.get("inputs") or {}
        if kind == "response":
            if self.response_outcome != "Succeeded":  # the caller went away: no answer sent
                answer.update(status=504, body=None)
                answered.set()
                return (
                    self.response_outcome,
                    "GatewayTimeout",
                    {
                        "code": "ActionResponseTimedOut"
                        if self.response_outcome == "TimedOut"
                        else "ActionResponseFailed",
                        "message": "The response could not be sent: the caller is gone.",
                    },
                )
            answer.update(status=int(inputs.get("statusCode", 200)), body=inputs.get("body"))
            answered.set()
            return "Succeeded", "OK", None
        if kind == "apiconnection":
            path = re.sub(
                r"@\{encodeURIComponent\('([^']*)'\)\}", r"\1", str(inputs.get("path", ""))
            )
            with self._lock:
                params = stored["properties"].get("parameters") or {}
                binding = ((params.get("$connections") or {}).get("value") or {}).get("aci") or {}
                conn = self.resources.get(str(binding.get("connectionId", "")).lower())
                status = (((conn or {}).get("properties") or {}).get("statuses") or [{}])[0]
            if conn is None:
                return (
                    "Failed",
                    "NotFound",
                    {
                        "code": "ConnectionNotFound",
                        "message": "The API connection referenced by the action was not found.",
                    },
                )
            if status.get("status") != "Connected":
                return (
                    "Failed",
                    "Unauthorized",
                    {
                        "code": "Unauthorized",
                        "message": "The API connection 'aci' is not authorized: open the connection "
                        "in the portal, Edit API connection, Authorize and Save.",
                    },
                )
            return self._start_from_workflow(path, epoch)
        if kind == "http":
            uri = str(inputs.get("uri", ""))
            auth = inputs.get("authentication") or {}
            path = urlsplit(uri).path
            if (auth.get("type") or "") != "ManagedServiceIdentity":
                return (
                    "Failed",
                    "Unauthorized",
                    {
                        "code": "AuthenticationFailed",
                        "message": "Authentication failed. The 'Authorization' header is missing.",
                    },
                )
            principal = ((stored.get("identity") or {}).get("principalId")) or ""
            with self._lock:
                allowed = self._principal_may_start(principal, path)
            if not allowed:
                return (
                    "Failed",
                    "Forbidden",
                    {
                        "code": "AuthorizationFailed",
                        "message": f"The client '{principal}' with object id '{principal}' does not "
                        "have authorization to perform action "
                        "'Microsoft.ContainerInstance/containerGroups/start/action' over scope "
                        f"'{path.rsplit('/start', 1)[0]}' or the scope is invalid. If access was "
                        "recently granted, please refresh your credentials.",
                    },
                )
            return self._start_from_workflow(path, epoch)
        return (
            "Failed",
            "BadRequest",
            {
                "code": "InvalidTemplate",
                "message": f"The fake Logic App cannot run actions of type '{action.get('type')}'.",
            },
        )

    def _principal_may_start(self, principal: str, path: str) -> bool:
        """A role granting containerGroups/* at or above the group's scope, and in effect."""
        if not principal:
            return False
        target = path.rsplit("/start", 1)[0].lower()
        now = self.clock.now()
        for rid, body in self.resources.items():
            if "/providers/microsoft.authorization/roleassignments/" not in rid:
                continue
            props = body["properties"]
            scope = props["scope"].lower().rstrip("/")
            if props["principalId"].lower() != principal.lower():
                continue
            if not (target == scope or target.startswith(scope + "/")):
                continue
            role = props["roleDefinitionId"].rsplit("/", 1)[-1].lower()
            if role not in (
                ROLE_ACI_CONTRIBUTOR,
                ROLE_CONTRIBUTOR,
                "8e3af657-a8ff-443c-a75f-2c2546c4afce",
            ):
                continue
            created = dt.datetime.strptime(props["createdOn"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=dt.UTC
            )
            if (now - created).total_seconds() >= self.role_propagation_seconds:
                return True
        return False

    def _start_from_workflow(self, path: str, epoch: int) -> tuple[str, str, dict[str, str] | None]:
        """POST .../containerGroups/{name}/start as the workflow does: waits for the LRO."""
        found = re.search(
            r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
            r"Microsoft\.ContainerInstance/containerGroups/([^/]+)/start",
            path,
            re.IGNORECASE,
        )
        if not found:
            return "Failed", "BadRequest", {"code": "InvalidRequest", "message": path}
        sub, rg, name = found.groups()
        key = self._cg_id(sub, rg, name).lower()
        with self._lock:
            if key not in self.resources:
                return (
                    "Failed",
                    "NotFound",
                    {
                        "code": "ResourceNotFound",
                        "message": f"The Resource 'Microsoft.ContainerInstance/containerGroups/{name}'"
                        f" under resource group '{rg}' was not found.",
                    },
                )
        with self._lock:
            state = self._groups.setdefault(key, _Group())
            if state.running_or_starting:
                return "Succeeded", "NoContent", None  # ACI's 204: the run in progress goes on
            state.starting = True
        deadline = time.monotonic() + float(self.start_seconds)
        with self._changed:
            while time.monotonic() < deadline and epoch == self._epoch:
                self._changed.wait(deadline - time.monotonic())
            if epoch != self._epoch or key not in self.resources:
                return "Failed", "NotFound", {"code": "ResourceNotFound", "message": name}
            self._start_group(key)
        return "Succeeded", "OK", None

    def _workflow_runs(
        self, method: str, args: dict[str, str], query: dict[str, str], body: Any
    ) -> Any:
        _only(method, "GET")
        with self._lock:
            sub, rg, name = args["sub"], args["rg"], args["name"]
            self._need_rg(sub, rg)
            key = self._wf_id(sub, rg, name).lower()
            if key not in self.resources:
                raise _not_found("Microsoft.Logic/workflows", name, rg)
            runs = list(reversed(self._wf_runs.get(key, [])))
            top = int(query.get("$top") or 0)

            def view(record: dict[str, Any]) -> dict[str, Any]:
                return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}

            if "run" not in args:
                listed = runs[:top] if top else runs
                if not self.runs_page_size:
                    return 200, {}, {"value": [view(r) for r in listed]}
                # paged (as ARM pages a long list): $skiptoken is the offset; with
                # next_link_loop the next link points back at this same page
                start = int(query.get("$skiptoken") or 0)
                page = listed[start : start + self.runs_page_size]
                answer: dict[str, Any] = {"value": [view(r) for r in page]}
                after = start if self.next_link_loop else start + self.runs_page_size
                if self.next_link_loop or after < len(listed):
                    answer["nextLink"] = (
                        f"{self._link_base}/subscriptions/{sub}/resourceGroups/{rg}/providers/"
                        f"Microsoft.Logic/workflows/{name}/runs?api-version="
                        f"{query.get('api-version', '')}&$top={top}&$skiptoken={after}"
                    )
                return 200, {}, answer
            run = next((r for r in runs if r["name"].lower() == args["run"].lower()), None)
            if run is None:
                raise ArmError(
                    404,
                    "WorkflowRunNotFound",
                    f"The workflow '{name}' run '{args['run']}' could not be found.",
                )
            if "actions" not in args:
                return 200, {}, view(run)
            actions = list(run["_actions"].values())
            if "action" not in args:
                return 200, {}, {"value": [view(a) for a in (actions[:top] if top else actions)]}
            found = run["_actions"].get(args["action"])
            if found is None:
                raise ArmError(
                    404,
                    "WorkflowRunActionNotFound",
                    f"The workflow run action '{args['action']}' could not be found.",
                )
            return 200, {}, view(found)

    # ----------------------------------------------------------------- authorization
    def _scope_exists(self, scope: str) -> None:
        parts = scope.strip("/").split("/")
        if len(parts) >= 2 and parts[0].lower() == "subscriptions":
            self._check_subscription(parts[1], "GET")
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            self._need_rg(parts[1], parts[3])
        if len(parts) > 4 and scope.lower() not in self.resources:
            raise ArmError(
                404, "ResourceNotFound", f"The resource at scope '{scope}' was not found."
            )

    def _role_assignment_view(self, stored: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(stored)

    def _role_assignments(
        self, method: str, args: dict[str, str], query: dict[str, str], body: Any
    ) -> Any:
        with self._lock:
            scope = args.get("scope") or ""
            if "name" not in args:
                _only(method, "GET")
                self._scope_exists(scope)
                return 200, {}, {"value": self._list_assignments(scope, query.get("$filter", ""))}
            name = args["name"]
            rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
            stored = self.resources.get(rid.lower())
            if method == "GET":
                if stored is None:
                    raise ArmError(
                        404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found."
                    )
                return 200, {}, self._role_assignment_view(stored)
            if method == "DELETE":
                if stored is None:
                    return 204, {}, None
                del self.resources[rid.lower()]
                return 200, {}, self._role_assignment_view(stored)
            if method != "PUT":
                raise _method_not_allowed(method)
            return self._ra_put(scope, name, rid, stored, body)

    def _list_assignments(self, scope: str, filt: str) -> list[dict[str, Any]]:
        at_scope = "atscope()" in filt.lower()
        principal = re.search(r"principalId\s+eq\s+'([^']+)'", filt, re.IGNORECASE)
        out = []
        scope_l = scope.lower().rstrip("/")
        for rid, b in self.resources.items():
            if "/providers/microsoft.authorization/roleassignments/" not in rid:
                continue
            ra_scope = b["properties"]["scope"].lower().rstrip("/")
            above = scope_l == ra_scope or scope_l.startswith(ra_scope + "/")
            below = ra_scope.startswith(scope_l + "/")
            if not (above or (below and not at_scope)):
                continue
            if principal and b["properties"]["principalId"].lower() != principal.group(1).lower():
                continue
            out.append(self._role_assignment_view(b))
        return out

    def _ra_put(
        self, scope: str, name: str, rid: str, stored: dict[str, Any] | None, body: Any
    ) -> Any:
        if not _GUID.match(name):
            raise ArmError(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{name}' is not valid. The role assignment ID must be a "
                "GUID.",
            )
        self._scope_exists(scope)
        if not self.can_assign_roles:
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{self.caller['upn']}' with object id '{self.caller['oid']}' does "
                "not have authorization to perform action "
                f"'Microsoft.Authorization/roleAssignments/write' over scope '{rid}' or the "
                "scope is invalid. If access was recently granted, please refresh your "
                "credentials.",
            )
        props = (body or {}).get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise ArmError(400, "InvalidRequestContent", "properties: is required.")
        role_def = props.get("roleDefinitionId")
        principal = props.get("principalId")
        missing = [
            k for k, v in (("roleDefinitionId", role_def), ("principalId", principal)) if not v
        ]
        if missing:
            raise ArmError(
                400, "InvalidRequestContent", f"properties.{missing[0]}: is a required property."
            )
        role_guid = str(role_def).rstrip("/").rsplit("/", 1)[-1].lower()
        if "/providers/microsoft.authorization/roledefinitions/" not in str(role_def).lower() or (
            role_guid not in BUILTIN_ROLES
        ):
            raise ArmError(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{role_guid}' does not exist.",
            )
        ptype = props.get("principalType", "User")
        if ptype not in ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device"):
            raise ArmError(
                400,
                "InvalidRequestContent",
                f"properties.principalType: '{ptype}' is not a valid principal type.",
            )
        if self.principal_not_found_times > 0 or principal not in self.known_principals:
            if self.principal_not_found_times > 0:
                self.principal_not_found_times -= 1
            raise ArmError(
                400,
                "PrincipalNotFound",
                f"Principal {str(principal).replace('-', '')} does not exist in the directory "
                f"{self.tenant_id}. Check that you have the correct principal ID. If you are "
                "creating this principal and then immediately assigning a role, this error "
                "might be related to a replication delay. In this case, set the role "
                "assignment principalType property to a value, such as ServicePrincipal, User, "
                "or Group.  See https://aka.ms/docs-principaltype",
            )
        actual = self.known_principals[principal]
        if actual != ptype:
            raise ArmError(
                400,
                "UnmatchedPrincipalType",
                f"The PrincipalId '{principal}' has type '{actual}', which is different from "
                f"specified PrincipalType '{ptype}'.",
            )
        for key, other in self.resources.items():
            if (
                "/providers/microsoft.authorization/roleassignments/" not in key
                or key == rid.lower()
            ):
                continue
            op = other["properties"]
            if (
                op["principalId"].lower() == principal.lower()
                and op["roleDefinitionId"].rsplit("/", 1)[-1].lower() == role_guid
                and op["scope"].lower() == scope.lower()
            ):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        if stored is not None:
            sp = stored["properties"]
            if sp["principalId"].lower() != principal.lower() or (
                sp["roleDefinitionId"].rsplit("/", 1)[-1].lower() != role_guid
            ):
                raise ArmError(
                    400,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be "
                    "updated.",
                )
            return 201, {}, self._role_assignment_view(stored)
        now = self.clock.iso()
        new = {
            "id": rid,
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": role_def,
                "principalId": principal,
                "principalType": ptype,
                "scope": scope,
                "condition": props.get("condition"),
                "conditionVersion": props.get("conditionVersion"),
                "createdOn": now,
                "updatedOn": now,
                "createdBy": self.caller["oid"],
                "updatedBy": self.caller["oid"],
                "delegatedManagedIdentityResourceId": None,
                "description": props.get("description"),
            },
        }
        self.resources[rid.lower()] = new
        return 201, {}, self._role_assignment_view(new)

    def _role_definitions(
        self, method: str, args: dict[str, str], query: dict[str, str], body: Any
    ) -> Any:
        _only(method, "GET")
        scope = args.get("scope") or ""

        def view(guid: str) -> dict[str, Any]:
            role, description, actions, not_actions = BUILTIN_ROLES[guid]
            return {
                "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                "name": guid,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": role,
                    "type": "BuiltInRole",
                    "description": description,
                    "assignableScopes": ["/"],
                    "permissions": [
                        {
                            "actions": actions,
                            "notActions": not_actions,
                            "dataActions": [],
                            "notDataActions": [],
                        }
                    ],
                },
            }

        if "name" in args:
            guid = args["name"].lower()
            if guid not in BUILTIN_ROLES:
                raise ArmError(
                    404,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{args['name']}' does not exist.",
                )
            return 200, {}, view(guid)
        wanted = re.search(r"roleName\s+eq\s+'([^']+)'", query.get("$filter", ""), re.IGNORECASE)
        value = [
            view(g)
            for g, (role, *_rest) in BUILTIN_ROLES.items()
            if not wanted or role.lower() == wanted.group(1).lower()
        ]
        return 200, {}, {"value": value}


# --------------------------------------------------------------------- helpers
def _token_tenant(token: str) -> str:
    """The "tid" claim of a JWT-shaped bearer token ("" for anything else)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    return str(claims.get("tid", "")) if isinstance(claims, dict) else ""


def _only(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _method_not_allowed(method)


def _method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The HTTP method '{method}' is not supported.")


def _not_found(rtype: str, name: str, rg: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. For more "
        "details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def _group_totals(body: dict[str, Any]) -> tuple[float, float]:
    cpu = mem = 0.0
    for c in body["properties"]["containers"]:
        req = c["properties"]["resources"]["requests"]
        cpu += float(req["cpu"])
        mem += float(req["memoryInGB"])
    return cpu, mem


def _immutable(body: dict[str, Any]) -> Any:
    """What ACI refuses to change in place (CPU, memory, GPU, restart policy, OS, network)."""
    props = body["properties"]
    return (
        props.get("osType"),
        props.get("restartPolicy", "Always"),
        json.dumps(props.get("subnetIds"), sort_keys=True),
        sorted(
            (
                c["name"],
                float(c["properties"]["resources"]["requests"]["cpu"]),
                float(c["properties"]["resources"]["requests"]["memoryInGB"]),
                json.dumps(c["properties"]["resources"]["requests"].get("gpu"), sort_keys=True),
            )
            for c in props["containers"]
        ),
    )


def _trim_logs(text: str) -> str:
    """ACI keeps only the tail of a finished container's log."""
    lines = text.splitlines(keepends=True)[-_LOG_MAX_LINES:]
    data = "".join(lines).encode()[-_LOG_MAX_BYTES:]
    return data.decode(errors="ignore")


_PARAM_REF = re.compile(r"parameters\(\s*'([^']+)'\s*\)")


def _check_definition(definition: dict[str, Any], parameters: dict[str, Any]) -> None:
    """The workflow rules our services rely on, answered like Logic Apps (400 InvalidTemplate)."""

    def bad(message: str) -> ArmError:
        return ArmError(400, "InvalidTemplate", f"The template validation failed: {message}")

    triggers = definition.get("triggers") or {}
    request = triggers.get("request")
    if (
        not isinstance(request, dict)
        or request.get("type") != "Request"
        or (request.get("kind") != "Http")
    ):
        raise bad("trigger 'request' of type 'Request' and kind 'Http' is required.")
    declared = definition.get("parameters") or {}
    for pname in parameters:
        if pname not in declared:
            raise bad(f"the workflow parameter '{pname}' is not declared in the definition.")

    def walk(actions: Any, where: str) -> None:
        if not isinstance(actions, dict):
            raise bad(f"'{where}' must be an object.")
        for aname, action in actions.items():
            if not isinstance(action, dict) or not isinstance(action.get("type"), str):
                raise bad(f"the action '{aname}' has no 'type'.")
            for dep, statuses in (action.get("runAfter") or {}).items():
                if dep not in actions:
                    raise bad(f"the 'runAfter' of action '{aname}' names unknown action '{dep}'.")
                if not isinstance(statuses, list) or any(
                    st not in RUN_AFTER_STATUSES for st in statuses
                ):
                    raise bad(
                        f"the 'runAfter' of action '{aname}' on '{dep}' must list statuses of "
                        f"{', '.join(RUN_AFTER_STATUSES)}; got {statuses!r}."
                    )
            _check_loop_and_wait(aname, action, bad)
            if action["type"].lower() == "apiconnection":
                conn = (((action.get("inputs") or {}).get("host") or {}).get("connection")) or {}
                cname = conn.get("name")
                if not isinstance(cname, str) or not cname.startswith("@"):
                    raise bad(
                        f"the action '{aname}' connection name {cname!r} must be an expression "
                        "such as \"@parameters('$connections')['aci']['connectionId']\"."
                    )
            for nested in ("actions",):
                if nested in action:
                    walk(action[nested], f"{aname}.{nested}")
            if isinstance(action.get("else"), dict) and "actions" in action["else"]:
                walk(action["else"]["actions"], f"{aname}.else.actions")

    walk(definition.get("actions") or {}, "actions")
    text = json.dumps({"triggers": triggers, "actions": definition.get("actions") or {}})
    for ref in _PARAM_REF.findall(text):
        if ref not in declared:
            raise bad(f"The template parameter '{ref}' is not found.")


def _check_loop_and_wait(name: str, action: dict[str, Any], bad: Callable[[str], ArmError]) -> None:
    """``Until`` and ``Wait`` as the workflow definition language defines them."""
    kind = action["type"].lower()
    if kind == "until":
        expression = action.get("expression")
        if not (
            isinstance(expression, bool)
            or (isinstance(expression, str) and expression.startswith("@"))
        ):
            raise bad(f"the 'expression' of Until action '{name}' must be an expression.")
        limit = action.get("limit") or {}
        count = limit.get("count", 60)
        if not isinstance(count, int) or not 1 <= count <= 5000:
            raise bad(f"the 'limit.count' of Until action '{name}' must be between 1 and 5000.")
        timeout = limit.get("timeout", "PT1H")
        if not isinstance(timeout, str) or iso_duration_seconds(timeout) is None:
            raise bad(f"the 'limit.timeout' of Until action '{name}' must be an ISO 8601 duration.")
        if not isinstance(action.get("actions"), dict) or not action["actions"]:
            raise bad(f"the Until action '{name}' has no 'actions'.")
    if kind == "wait":
        interval = ((action.get("inputs") or {}).get("interval")) or {}
        unit = interval.get("unit")
        if not isinstance(interval.get("count"), int) or str(unit).lower() not in _UNIT_SECONDS:
            raise bad(
                f"the Wait action '{name}' needs 'inputs.interval' with an integer 'count' and a "
                "'unit' of Second, Minute, Hour, Day, Week or Month."
            )


_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_POLL = re.compile(
    r"^(?P<path>/subscriptions/[^/]+/(?:providers/[^/]+/locations/[^/]+/operationStatuses|"
    r"operationresults)/(?P<op>[^/]+))$",
    re.IGNORECASE,
)


def _with_api(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Hand the request's api-version to handlers that echo it into poll URLs."""

    def wrapped(server: ArmServer, method: str, args: dict[str, str], query: Any, body: Any) -> Any:
        return handler(server, method, {**args, "_api": query.get("api-version", "")}, query, body)

    return wrapped


_ROUTES: list[tuple[re.Pattern[str], str, Callable[..., Any]]] = [
    (re.compile(p + "$", re.IGNORECASE), fam, h)
    for p, fam, h in [
        (_POLL.pattern.strip("^$"), "poll", ArmServer._poll),
        (
            r"^(?P<scope>.*?)/providers/Microsoft\.Authorization/roleAssignments(?:/(?P<name>[^/]+))?",
            "authorization",
            ArmServer._role_assignments,
        ),
        (
            r"^(?P<scope>.*?)/providers/Microsoft\.Authorization/roleDefinitions(?:/(?P<name>[^/]+))?",
            "authorization",
            ArmServer._role_definitions,
        ),
        (r"^/subscriptions", "subscriptions", ArmServer._subscriptions),
        (r"^/tenants", "subscriptions", ArmServer._tenants),
        (r"^" + _SUB, "subscriptions", ArmServer._subscriptions),
        (r"^" + _SUB + r"/locations", "subscriptions", ArmServer._locations),
        (r"^" + _SUB + r"/resourcegroups", "resources", ArmServer._resource_groups),
        (r"^" + _RG, "resources", ArmServer._resource_groups),
        (r"^" + _RG + r"/resources", "resources", ArmServer._rg_resources),
        (
            r"^" + _SUB + r"/providers/Microsoft\.ContainerInstance/locations/(?P<loc>[^/]+)/"
            r"(?P<what>capabilities|usages)",
            "aci",
            ArmServer._capabilities,
        ),
        (
            r"^" + _SUB + r"/providers/Microsoft\.ContainerInstance/containerGroups",
            "aci",
            _with_api(ArmServer._container_groups),
        ),
        (
            r"^" + _SUB + r"/providers/(?P<ns>[^/]+)(?:/(?P<register>register))?",
            "resources",
            ArmServer._provider,
        ),
        (
            r"^"
            + _RG
            + r"/providers/Microsoft\.ContainerInstance/containerGroups(?:/(?P<name>[^/]+))?",
            "aci",
            _with_api(ArmServer._container_groups),
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.ContainerInstance/containerGroups/(?P<name>[^/]+)/"
            r"(?P<action>start|stop|restart)",
            "aci",
            _with_api(ArmServer._cg_action),
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.ContainerInstance/containerGroups/(?P<name>[^/]+)/"
            r"containers/(?P<container>[^/]+)/logs",
            "aci",
            ArmServer._cg_logs,
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.Web/connections/(?P<name>[^/]+)",
            "connections",
            ArmServer._connections,
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.Logic/workflows(?:/(?P<name>[^/]+))?",
            "logic",
            ArmServer._workflows,
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.Logic/workflows/(?P<name>[^/]+)/runs"
            r"(?:/(?P<run>[^/]+))?(?:/(?P<actions>actions)(?:/(?P<action>[^/]+))?)?",
            "logic",
            ArmServer._workflow_runs,
        ),
        (
            r"^" + _RG + r"/providers/Microsoft\.Logic/workflows/(?P<name>[^/]+)/triggers/"
            r"(?P<trigger>[^/]+)/listCallbackUrl",
            "logic",
            ArmServer._callback_url,
        ),
    ]
]


def main() -> None:  # pragma: no cover - manual poking: python -m tests.support.arm
    with ArmServer() as server:
        print(f"fake ARM on {server.endpoint}; REQUESTS_CA_BUNDLE={server.ca_path}; ctrl-c stops")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
