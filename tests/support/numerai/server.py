"""A local stand-in for Numerai's GraphQL API, speaking the queries numerapi 3.1.1 sends.

Plain HTTP on 127.0.0.1 (numerapi reads ``numerapi.base_api.API_TOURNAMENT_URL`` at call
time, and the prediction script and the wizard honour ``NUMERAI_API_URL``). It does not parse
GraphQL: each request is dispatched on its first root field, which is all numerapi needs. It
checks the ``Authorization: Token PUBLIC$SECRET`` header like Numerai (a wrong key gets
Numerai's own "Your session is invalid or has expired." error), serves the synthetic round
over HTTP, serves the current data version and older ones (``older_versions``, where some features
have their old names) with their ``live_benchmark_models.parquet``, takes uploads by PUT and
judges them in ``create_submission`` as Numerai does:
every live id exactly once, numeric predictions in [0, 1], no NaN; anything else is a
GraphQL error. Faults are injected per test (``fail_next``, ``missing_datasets``,
``refuse_uploads``, ``down``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import re
import secrets
import socket
import string
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .round_data import SyntheticRound, synthetic_round

INVALID_SESSION = "Your session is invalid or has expired."
ALL_SCOPES = ("read_user_info", "upload_submission", "read_submission_info", "stake")
_ROOT_FIELD = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)")
TriggerHook = Callable[[str, "str | None"], None]


def _key(length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def dead_url() -> str:
    """An http URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class GraphQLError(Exception):
    """Answered as ``{"errors": [{"message": ...}], "data": null}`` with HTTP 200, like Numerai."""


@dataclass
class Submission:
    """One create_submission the server received, accepted or not."""

    id: str
    model_id: str
    round: int
    filename: str
    trigger_id: str | None
    accepted: bool
    reason: str
    inserted_at: str
    body: bytes = b""

    def predictions(self) -> dict[str, float]:
        """id -> prediction of the uploaded CSV (for accepted submissions)."""
        rows = csv.DictReader(io.StringIO(self.body.decode()))
        return {r["id"]: float(r["prediction"]) for r in rows}


@dataclass
class _Fault:
    times: int
    message: str | None
    status: int | None
    delay: float = 0.0


@dataclass
class Model:
    id: str
    name: str
    tournament: int = 8


@dataclass
class _State:
    submissions: list[Submission] = field(default_factory=list)
    webhooks: dict[str, str] = field(default_factory=dict)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, _Fault] = field(default_factory=dict)


class FakeNumerai:
    """The fake server. ``with FakeNumerai() as srv: srv.url`` or ``start()``/``stop()``."""

    def __init__(
        self,
        live_round: SyntheticRound | None = None,
        *,
        public_id: str | None = None,
        secret_key: str | None = None,
        model_name: str = "aci_test_model",
        username: str = "aci_tester",
        current_round: int = 1185,
        scopes: tuple[str, ...] = ALL_SCOPES,
    ) -> None:
        self.round = live_round or synthetic_round()
        self.public_id = public_id or _key(32)
        self.secret_key = secret_key or _key(64)
        self.username = username
        self.scopes = tuple(scopes)
        self.current_round = current_round
        self.model_name = model_name
        self.model_id = str(uuid.uuid4())
        self.models = [
            Model(self.model_id, model_name),
            Model(str(uuid.uuid4()), model_name + "_second"),
            Model(str(uuid.uuid4()), "signals_model", tournament=11),
        ]
        self._default_models = list(self.models)
        self.older_versions = ("v4.3", "v5.0")
        self.missing_datasets: set[str] = set()
        self.refuse_uploads = False
        self.down = False
        self.on_trigger: TriggerHook | None = None
        self.hook_errors: list[BaseException] = []
        self._hook_threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._state = _State()
        self._ids = frozenset(self.round.ids)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeNumerai:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeNumerai:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything a test did (submissions, webhooks, faults, hooks); keys stay."""
        self.wait_hooks(reraise=False)
        with self._lock:
            self._state = _State()
            self.missing_datasets = set()
            self.refuse_uploads = False
            self.down = False
            self.on_trigger = None
            self.hook_errors = []
            self.scopes = ALL_SCOPES
            self.models = list(self._default_models)

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- what tests look at ------------------------------------------------------------

    @property
    def submissions(self) -> list[Submission]:
        with self._lock:
            return list(self._state.submissions)

    @property
    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.accepted]

    @property
    def rejected(self) -> list[Submission]:
        return [s for s in self.submissions if not s.accepted]

    @property
    def webhooks(self) -> dict[str, str]:
        with self._lock:
            return dict(self._state.webhooks)

    @property
    def triggers(self) -> list[dict[str, Any]]:
        """``{"id", "model_id", "webhook"}`` for every triggerModelWebhook received."""
        with self._lock:
            return list(self._state.triggers)

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(root field, variables) of every GraphQL request, in order."""
        with self._lock:
            return list(self._state.requests)

    @property
    def downloads(self) -> list[str]:
        """Dataset names (``v5.2/live.parquet``) fetched over HTTP, in order."""
        with self._lock:
            return list(self._state.downloads)

    def fail_next(
        self,
        name: str,
        message: str | None = None,
        *,
        status: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls of ``name`` fail.

        ``name`` is a GraphQL root field (``listDatasets``, ``dataset``, ``create_submission``,
        ``submission_upload_auth``, ``account``...) or ``download`` / ``upload`` for the
        file transfers. With ``status`` the HTTP answer has that status; otherwise it is a
        GraphQL error carrying ``message``. With ``delay`` the server first stalls that long
        (a hung connection), then answers normally unless ``message``/``status`` say otherwise.
        """
        text = message or (None if delay and status is None else f"{name} failed (injected)")
        with self._lock:
            self._state.faults[name] = _Fault(times, text, status, delay)

    def stall_next(self, name: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``name`` hang for ``seconds`` before a normal answer."""
        self.fail_next(name, delay=seconds, times=times)

    def container_env(self, model_ids: Sequence[str] | None = None) -> dict[str, str]:
        """The environment predict.py (or the container) needs to submit to this server.

        Without ``model_ids``: the first model in ``NUMERAI_MODEL_ID`` alone (the one-model
        form). With them: ``NUMERAI_MODEL_IDS`` comma-separated and ``NUMERAI_MODEL_ID`` the
        first, as the wizard sets up a container group for several models.
        """
        env = {
            "NUMERAI_API_URL": self.url,
            "NUMERAI_PUBLIC_ID": self.public_id,
            "NUMERAI_SECRET_KEY": self.secret_key,
            "NUMERAI_MODEL_ID": self.model_id,
        }
        if model_ids is not None:
            env["NUMERAI_MODEL_IDS"] = ",".join(model_ids)
            env["NUMERAI_MODEL_ID"] = model_ids[0]
        return env

    def add_model(self, name: str, *, tournament: int = 8) -> Model:
        """One more model on the account (until ``reset``), e.g. to submit for five."""
        model = Model(str(uuid.uuid4()), name, tournament)
        with self._lock:
            self.models.append(model)
        return model

    def downloaded(self, base: str) -> int:
        """How many times a file named ``base`` (``live.parquet``) was fetched, any version."""
        return sum(1 for name in self.downloads if name.rpartition("/")[2] == base)

    def set_webhook(self, model_id: str, url: str) -> None:
        with self._lock:
            self._state.webhooks[model_id] = url

    def wait_hooks(self, timeout: float = 600, *, reraise: bool = True) -> None:
        """Wait for ``on_trigger`` calls still running; re-raise the first error one hit."""
        for thread in list(self._hook_threads):
            thread.join(timeout)
        self._hook_threads.clear()
        if reraise and self.hook_errors:
            raise self.hook_errors[0]

    # --- the API ------------------------------------------------------------------------

    def _take_fault(self, name: str) -> _Fault | None:
        with self._lock:
            fault = self._state.faults.get(name)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                del self._state.faults[name]
            return fault

    def _user(self, auth: str | None) -> bool:
        """True when the request carries our key; raises Numerai's error for a wrong one."""
        if not auth:
            return False
        if auth != f"Token {self.public_id}${self.secret_key}":
            raise GraphQLError(INVALID_SESSION)
        return True

    def _need(self, authed: bool, scope: str) -> None:
        if not authed:
            raise GraphQLError("You must be authenticated to perform this action.")
        if scope not in self.scopes:
            raise GraphQLError(f"Your API key does not have the '{scope}' scope.")

    def _model(self, model_id: str | None) -> Model:
        for model in self.models:
            if model.id == model_id:
                return model
        raise GraphQLError("Model not found or you do not own it.")

    def graphql(self, query: str, variables: dict[str, Any], auth: str | None) -> Any:
        match = _ROOT_FIELD.search(query)
        name = match.group(1) if match else ""
        with self._lock:
            self._state.requests.append((name, dict(variables)))
        fault = self._take_fault(name)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and (fault.status is not None or fault.message is not None):
            if fault.status is not None:
                return fault.status, {"errors": [{"message": fault.message}]}
            raise GraphQLError(fault.message or "error")
        authed = self._user(auth)
        handler = getattr(self, f"_q_{name}", None)
        if handler is None:
            raise GraphQLError(f'Cannot query field "{name}" on type "RootQueryType".')
        return 200, {"data": {name: handler(variables, authed)}}

    def _q_account(self, v: dict[str, Any], authed: bool) -> dict[str, Any]:
        self._need(authed, "read_user_info")
        return {
            "username": self.username,
            "walletAddress": None,
            "availableNmr": "1.250000000000000000",
            "email": f"{self.username}@example.com",
            "id": "00000000-0000-4000-8000-00000000aaaa",
            "mfaEnabled": False,
            "status": "VERIFIED",
            "insertedAt": "2024-01-02T03:04:05Z",
            "models": [
                {
                    "id": m.id,
                    "name": m.name,
                    "tournament": m.tournament,
                    "submissions": [],
                    "v2Stake": None,
                }
                for m in self.models
            ],
            "apiTokens": [
                {"name": "aci-wizard", "public_id": self.public_id, "scopes": list(self.scopes)}
            ],
        }

    def _q_rounds(self, v: dict[str, Any], authed: bool) -> list[dict[str, Any]]:
        return [
            {
                "number": self.current_round,
                "openTime": "2026-11-28T13:00:00Z",
                "closeTime": "2026-11-28T14:00:00Z",
                "closeStakingTime": "2026-11-28T14:00:00Z",
                "resolveTime": "2026-12-25T20:00:00Z",
            }
        ]

    def _listed(self) -> list[str]:
        names = [
            f"{old}/{n.split('/', 1)[1]}" for old in self.older_versions for n in self.round.files
        ]
        names += list(self.round.files)
        names += [f"{self.round.version}/train.parquet", f"{self.round.version}/validation.parquet"]
        return [n for n in names if n not in self.missing_datasets]

    def _q_listDatasets(self, v: dict[str, Any], authed: bool) -> list[str]:
        return self._listed()

    def _q_dataset(self, v: dict[str, Any], authed: bool) -> str:
        filename = v.get("filename") or ""
        if filename in self.missing_datasets or filename not in self._listed():
            raise GraphQLError(f"Dataset {filename} not found")
        return f"{self.url}/files/{filename}"

    def _q_submission_upload_auth(self, v: dict[str, Any], authed: bool) -> dict[str, str]:
        self._need(authed, "upload_submission")
        self._model(v.get("modelId"))
        token = uuid.uuid4().hex
        return {"filename": f"{token}/{v.get('filename')}", "url": f"{self.url}/upload/{token}"}

    def _q_create_submission(self, v: dict[str, Any], authed: bool) -> dict[str, str]:
        self._need(authed, "upload_submission")
        model = self._model(v.get("modelId"))
        filename = v.get("filename") or ""
        token = filename.split("/", 1)[0]
        with self._lock:
            body = self._state.uploads.pop(token, None)
        sub = Submission(
            id=str(uuid.uuid4()),
            model_id=model.id,
            round=self.current_round,
            filename=filename,
            trigger_id=v.get("triggerId"),
            accepted=False,
            reason="",
            inserted_at=_now(),
            body=body or b"",
        )
        sub.reason = (
            "Upload not found: the file never reached storage."
            if body is None
            else self.judge(body)
        )
        sub.accepted = not sub.reason
        with self._lock:
            self._state.submissions.append(sub)
        if sub.reason:
            raise GraphQLError(sub.reason)
        return {"id": sub.id}

    def judge(self, body: bytes) -> str:
        """Why Numerai would refuse this CSV, or "" when it is a valid submission."""
        try:
            reader = csv.reader(io.StringIO(body.decode("utf-8")))
            header = next(reader)
        except (UnicodeDecodeError, StopIteration, csv.Error):
            return "Invalid submission: not a CSV file."
        header = [h.strip() for h in header]
        if "id" not in header or "prediction" not in header:
            return "Invalid submission: the header must contain 'id' and 'prediction'."
        i_id, i_pred = header.index("id"), header.index("prediction")
        seen: set[str] = set()
        duplicates = unknown = 0
        for row in reader:
            if not row:
                continue
            try:
                ident, raw = row[i_id], row[i_pred]
            except IndexError:
                return "Invalid submission: a row has too few columns."
            try:
                value = float(raw)
            except ValueError:
                return f"Invalid submission: prediction {raw!r} is not a number."
            if math.isnan(value):
                return "Invalid submission: predictions contain NaN."
            if not 0.0 <= value <= 1.0:
                return f"Invalid submission: prediction {value} is outside [0, 1]."
            if ident in seen:
                duplicates += 1
            elif ident not in self._ids:
                unknown += 1
            seen.add(ident)
        if duplicates:
            return f"Invalid submission: {duplicates} duplicated ids."
        if unknown:
            return f"Invalid submission: {unknown} ids are not in the live data."
        missing = len(self._ids - seen)
        if missing:
            return f"Invalid submission: {missing} live ids are missing."
        return ""

    def _q_setSubmissionWebhook(self, v: dict[str, Any], authed: bool) -> str:
        self._need(authed, "upload_submission")
        model = self._model(v.get("modelId"))
        url = v.get("newSubmissionWebhook")
        with self._lock:
            if url:
                self._state.webhooks[model.id] = url
            else:
                self._state.webhooks.pop(model.id, None)
        return "true"

    def _q_triggerModelWebhook(self, v: dict[str, Any], authed: bool) -> str:
        self._need(authed, "upload_submission")
        model = self._model(v.get("modelId"))
        with self._lock:
            url = self._state.webhooks.get(model.id)
        if not url:
            raise GraphQLError("This model has no compute webhook set.")
        trigger_id = str(uuid.uuid4())
        with self._lock:
            self._state.triggers.append({"id": trigger_id, "model_id": model.id, "webhook": url})
        hook = self.on_trigger
        if hook is not None:
            # Numerai calls the webhook after answering the mutation: so do we.
            thread = threading.Thread(
                target=self._run_hook, args=(hook, model.id, url), daemon=True
            )
            self._hook_threads.append(thread)
            thread.start()
        return trigger_id

    def open_round(self) -> list[str]:
        """A round opens: Numerai calls the compute webhook of every model that has one (through
        ``on_trigger``, one call each, after the fact like triggerModelWebhook). Returns the ids
        of the models whose webhook was called."""
        with self._lock:
            calls = [
                (m.id, self._state.webhooks[m.id])
                for m in self.models
                if self._state.webhooks.get(m.id)
            ]
        hook = self.on_trigger
        for model_id, url in calls:
            if hook is not None:
                thread = threading.Thread(
                    target=self._run_hook, args=(hook, model_id, url), daemon=True
                )
                self._hook_threads.append(thread)
                thread.start()
        return [model_id for model_id, _ in calls]

    def _run_hook(self, hook: TriggerHook, model_id: str, url: str | None) -> None:
        try:
            hook(model_id, url)
        except BaseException as exc:  # surfaced through hook_errors / wait_hooks
            self.hook_errors.append(exc)

    def _q_submissions(self, v: dict[str, Any], authed: bool) -> list[dict[str, Any]]:
        self._need(authed, "read_submission_info")
        model_id = v.get("modelId")
        if model_id:
            self._model(model_id)
        return [
            {
                "id": s.id,
                "filename": s.filename,
                "insertedAt": s.inserted_at,
                "triggerId": s.trigger_id,
                "round": {"number": s.round, "tournament": 8},
            }
            for s in reversed(self.accepted)
            if not model_id or s.model_id == model_id
        ]

    # --- file transfer ----------------------------------------------------------------------

    def file_for(self, name: str) -> Path | None:
        """Older versions serve the same round with some features under their old names
        (``SyntheticRound.renamed``), as Numerai serves every listed version's live data."""
        if name in self.missing_datasets or name not in self._listed():
            return None
        version, _, base = name.partition("/")
        if version == self.round.version:
            return self.round.files.get(name)
        return self.round.older_file(base)

    def store_upload(self, token: str, body: bytes) -> int:
        fault = self._take_fault("upload")
        if fault is not None:
            return fault.status or 500
        if self.refuse_uploads:
            return 403
        with self._lock:
            self._state.uploads[token] = body
        return 200


class _Handler(BaseHTTPRequestHandler):
    fake: FakeNumerai
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # the client may have given up first (the timeout tests do that on purpose)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def _dropped(self) -> bool:
        if self.fake.down:
            self.close_connection = True
            self.connection.close()
            return True
        return False

    def do_POST(self) -> None:
        if self._dropped():
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
            query = payload.get("query") or ""
            variables = payload.get("variables") or {}
        except (ValueError, AttributeError):
            self._send(400, b'{"errors":[{"message":"invalid JSON body"}]}')
            return
        try:
            status, answer = self.fake.graphql(query, variables, self.headers.get("Authorization"))
        except GraphQLError as exc:
            status, answer = 200, {"errors": [{"message": str(exc)}], "data": None}
        self._send(status, json.dumps(answer).encode())

    def do_GET(self) -> None:
        if self._dropped():
            return
        if not self.path.startswith("/files/"):
            self._send(404, b"not found", "text/plain")
            return
        name = self.path[len("/files/") :]
        fault = self.fake._take_fault("download")
        if fault is not None:
            self._send(fault.status or 500, (fault.message or "").encode(), "text/plain")
            return
        path = self.fake.file_for(name)
        if path is None:
            self._send(404, b"NoSuchKey", "application/xml")
            return
        with self.fake._lock:
            self.fake._state.downloads.append(name)
        data = path.read_bytes()
        start = 0
        match = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match:
            start = min(int(match.group(1)), len(data))
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def do_PUT(self) -> None:
        if self._dropped():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not self.path.startswith("/upload/"):
            self._send(404, b"not found", "text/plain")
            return
        status = self.fake.store_upload(self.path[len("/upload/") :], body)
        self._send(status, b"" if status == 200 else b"AccessDenied", "application/xml")
