"""The wizard's conversation with Numerai: check the keys, list models, set and fire the webhook.

numerapi (3.1.x) is the client, but it needs taming before a terminal UI can use it:

- it calls ``logging.basicConfig`` on the root logger and logs connection errors there, which
  would scribble over the TUI. We keep the root logger untouched while it is built and give its
  loggers a handler of their own, so records still propagate to whatever the app installed
  (its log file) but never fall through to Python's last-resort stderr handler;
- it posts without a timeout: each call runs with one, applied at call time through a thin
  wrapper around the ``requests`` module numerapi uses (installed on first use, inert outside
  our calls);
- it turns a connection or HTTP failure into an empty answer, so callers die with
  ``KeyError: 'data'``: we turn that into "cannot reach Numerai" with the reason it logged;
- it raises ``ValueError(message)`` for GraphQL errors: we turn the known ones (a wrong key, a
  missing scope, someone else's model) into specific messages with a hint.

The API URL is ``NUMERAI_API_URL`` (read at call time) or numerapi's default; it is set on
``numerapi.base_api.API_TOURNAMENT_URL`` only for the duration of each call.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .. import redact
from ..engines import Account, Submission
from ..events import ErrorCode, WizardError

T = TypeVar("T")
TOURNAMENT = 8
DEFAULT_API_URL = "https://api-tournament.numer.ai"
KEYS_HINT = (
    "Check the public ID and secret key (numer.ai > Account > API keys); a secret key is shown "
    "only once, so create a new key if in doubt, with all scopes ticked."
)

_call_lock = threading.RLock()  # numerapi's URL is a module global: one call at a time
_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "numerai_timeout", default=None
)
_last_error: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "numerai_last_error", default=None
)


class _RequestsWithTimeout:
    """Stands in for the ``requests`` module inside numerapi: adds our timeout to its calls."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        timeout = _timeout.get()
        if timeout is not None and kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return getattr(self._real, method)(*args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("post", args, kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", args, kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("put", args, kwargs)


class _ErrorCatcher(logging.Handler):
    """Keeps what numerapi logged about a failed request, to put the reason in our message."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _last_error.get()
        if sink is not None and record.levelno >= logging.ERROR:
            with contextlib.suppress(Exception):
                sink.append(redact.redact(record.getMessage()))


_tamed = False


def _tame_numerapi() -> None:
    """Done once, at the first call (not at import): see the module docstring."""
    global _tamed
    if _tamed:
        return
    import numerapi.base_api
    import numerapi.utils

    for module in (numerapi.utils, numerapi.base_api):
        if not isinstance(module.requests, _RequestsWithTimeout):
            module.requests = _RequestsWithTimeout(module.requests)  # type: ignore[attr-defined]
    logger = logging.getLogger("numerapi")
    if not any(isinstance(h, _ErrorCatcher) for h in logger.handlers):
        logger.addHandler(_ErrorCatcher())  # also stops the fall-through to stderr
    _tamed = True


@contextlib.contextmanager
def _quiet_root() -> Iterator[None]:
    """numerapi's constructor calls ``logging.basicConfig``: make that a no-op."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    empty = not root.handlers
    if empty:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if empty:
            root.removeHandler(placeholder)


class Numerai:
    """One Numerai account, reached through numerapi with the rough edges filed off."""

    def __init__(
        self,
        public_id: str,
        secret_key: str,
        *,
        api_url: str | None = None,
        timeout: float = 30,
    ) -> None:
        self.public_id = (public_id or "").strip()
        self.secret_key = (secret_key or "").strip()
        redact.register(self.public_id, self.secret_key)
        self._api_url = api_url
        self.timeout = timeout

    @property
    def api_url(self) -> str:
        """The endpoint of the next call: the argument, else ``NUMERAI_API_URL``, else Numerai."""
        return (
            self._api_url or os.environ.get("NUMERAI_API_URL", "").strip() or DEFAULT_API_URL
        ).rstrip("/")

    # --- plumbing ----------------------------------------------------------------------------

    def _client(self) -> Any:
        if not self.public_id or not self.secret_key:
            missing = "public ID" if not self.public_id else "secret key"
            # numerapi would silently fall back to NUMERAI_* variables: refuse instead.
            raise WizardError(
                f"the Numerai {missing} is empty",
                KEYS_HINT,
                exit_code=2,
                code=ErrorCode.MISSING_SECRET,
            )
        import numerapi

        with _quiet_root():
            return numerapi.NumerAPI(  # type: ignore[no-untyped-call]
                public_id=self.public_id,
                secret_key=self.secret_key,
                verbosity="warning",
                show_progress_bars=False,
            )

    def _call(self, what: str, call: Callable[[Any], T]) -> T:
        """Run ``call(api)`` against our URL with our timeout; failures become WizardError."""
        import numerapi.base_api

        with _call_lock:
            _tame_numerapi()
            api = self._client()
            url = self.api_url
            errors: list[str] = []
            tokens = (_timeout.set(self.timeout), _last_error.set(errors))
            previous = numerapi.base_api.API_TOURNAMENT_URL
            numerapi.base_api.API_TOURNAMENT_URL = url
            try:
                return call(api)
            except KeyError as exc:
                if exc.args != ("data",):
                    raise
                reason = errors[-1] if errors else "no answer"
                raise WizardError(
                    f"cannot reach Numerai at {url} to {what}: {reason}",
                    "Check the internet connection (and NUMERAI_API_URL if you set it), then try again.",
                    code=ErrorCode.NUMERAI_UNREACHABLE,
                ) from None
            except ValueError as exc:
                raise self._refused(what, redact.redact(str(exc))) from None
            finally:
                numerapi.base_api.API_TOURNAMENT_URL = previous
                _last_error.reset(tokens[1])
                _timeout.reset(tokens[0])

    def _refused(self, what: str, message: str) -> WizardError:
        low = message.lower()
        if "session is invalid" in low or "authenticated" in low or "api keys required" in low:
            return WizardError(
                f"Numerai refused the API key: {message}",
                KEYS_HINT,
                exit_code=2,
                code=ErrorCode.NUMERAI_BAD_KEYS,
                field="numerai_public_id",
            )
        if "scope" in low or "permission" in low:
            return WizardError(
                f"the Numerai API key may not {what}: {message}",
                "Create a key with all scopes ticked (numer.ai > Account > API keys).",
                exit_code=2,
                code=ErrorCode.NUMERAI_SCOPE,
                field="numerai_public_id",
            )
        if "model" in low and "not found" in low:
            return WizardError(
                f"Numerai does not know this model on your account: {message}",
                "Check the model id (numer.ai > Models, or pick one from the list of your models).",
                exit_code=2,
                code=ErrorCode.NUMERAI_MODEL,
                field="numerai.model_id",
            )
        # an error answer that is none of the above (a query Numerai could not run, say) is
        # not a refusal of the user's key or model: say what was asked and what came back
        return WizardError(
            f"Numerai answered with an error when asked to {what}: {message}",
            "try again in a while; if it stays, the log file has the details",
            code=ErrorCode.NUMERAI_REFUSED,
        )

    def _query(
        self, what: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A GraphQL call with our key, one quick retry on 5xx (numerapi's default waits 15 s)."""

        def run(api: Any) -> dict[str, Any]:
            answer = api.raw_query(
                query, variables, authorization=True, retries=2, delay=1, backoff=2
            )
            data: dict[str, Any] = answer["data"]
            return data

        data = self._call(what, run)
        if data is None:
            raise WizardError(
                f"Numerai sent an empty answer when asked to {what}", code=ErrorCode.NUMERAI_REFUSED
            )
        return data

    # --- the API -----------------------------------------------------------------------------

    def check_keys(self) -> Account:
        """The account the key belongs to; WizardError(exit_code=2) when Numerai refuses it."""
        data = self._query(
            "check the API key",
            "query { account { username apiTokens { name public_id scopes } } }",
        )
        account = data.get("account") or {}
        scopes = None
        for token in account.get("apiTokens") or []:
            if token.get("public_id") == self.public_id and token.get("scopes") is not None:
                scopes = tuple(token["scopes"])
        return Account(username=str(account.get("username") or ""), scopes=scopes)

    def models(self) -> dict[str, str]:
        """The account's Numerai (tournament 8) models: name -> id."""
        data = self._query(
            "list your models", "query { account { models { id name tournament } } }"
        )
        models = (data.get("account") or {}).get("models") or []
        return {m["name"]: m["id"] for m in models if m.get("tournament") == TOURNAMENT}

    def set_webhook(self, model_id: str, url: str | None) -> None:
        """Register the model's compute webhook (None clears it)."""
        if url:
            redact.register(url.split("sig=", 1)[1].split("&", 1)[0] if "sig=" in url else "")
        what = "set the model's webhook" if url else "clear the model's webhook"
        data = self._query(
            what,
            "mutation ($modelId: String!, $newSubmissionWebhook: String) {"
            " setSubmissionWebhook(modelId: $modelId, newSubmissionWebhook: $newSubmissionWebhook) }",
            {"modelId": model_id, "newSubmissionWebhook": url or None},
        )
        if str(data.get("setSubmissionWebhook")).lower() != "true":
            raise WizardError(
                f"Numerai did not confirm that it would {what} (answer: {data.get('setSubmissionWebhook')!r})",
                "Try again; if it persists set the webhook on numer.ai > Models > Compute.",
                code=ErrorCode.NUMERAI_REFUSED,
            )

    def trigger(self, model_id: str) -> str:
        """Ask Numerai to call the model's webhook now, as when a round opens: the trigger id."""
        data = self._query(
            "trigger the model's webhook",
            "mutation ($modelId: String!) { triggerModelWebhook(modelId: $modelId) }",
            {"modelId": model_id},
        )
        trigger_id = data.get("triggerModelWebhook")
        if not trigger_id:
            raise WizardError("Numerai did not return a trigger id", code=ErrorCode.NUMERAI_REFUSED)
        return str(trigger_id)

    def latest_submission(self, model_id: str) -> Submission | None:
        """The model's newest accepted submission (None when it has none)."""
        found = self.submissions(model_id, limit=1)
        return found[0] if found else None

    def submissions(self, model_id: str, limit: int = 10) -> list[Submission]:
        """The model's accepted submissions for recent rounds, newest first (round, then time)."""
        data = self._query(
            "read the model's submissions",
            "query ($modelId: String) { submissions(modelId: $modelId) {"
            " id round { number tournament } triggerId insertedAt } }",
            {"modelId": model_id},
        )
        found: list[tuple[tuple[int, str], Submission]] = []
        for item in data.get("submissions") or []:
            rnd = item.get("round") or {}
            if rnd.get("tournament") not in (None, TOURNAMENT):
                continue
            number = rnd.get("number")
            inserted = item.get("insertedAt") or ""
            sub = Submission(
                id=str(item.get("id") or ""),
                round=int(number) if number is not None else None,
                trigger_id=item.get("triggerId"),
                inserted_at=_parse_time(inserted),
            )
            key = (sub.round or 0, sub.inserted_at.isoformat() if sub.inserted_at else "")
            found.append((key, sub))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [sub for _, sub in found[:limit]]

    def current_round(self) -> int:
        data = self._query(
            "read the current round",
            "query ($tournament: Int!) { rounds(tournament: $tournament, number: 0) { number } }",
            {"tournament": TOURNAMENT},
        )
        rounds = data.get("rounds") or []
        if not rounds or rounds[0] is None or rounds[0].get("number") is None:
            raise WizardError(
                "Numerai has no open round right now", code=ErrorCode.NUMERAI_NO_ROUND
            )
        return int(rounds[0]["number"])


def _parse_time(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
