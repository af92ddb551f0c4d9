"""Who can read the image? Docker Hub repository visibility, before the first push.

The image bakes in the user's trained models (``image/models/``). Docker Hub creates a
repository on its first push with the account's default visibility, public on most
accounts, and a free account has one private repository: a push into a repository that
does not exist yet can publish the models to anyone. So, before pushing to Docker Hub,
this module asks Docker Hub's own API (``https://hub.docker.com``, ``DOCKER_HUB_API_URL``
overrides it):

- ``POST /v2/auth/token`` ``{"identifier", "secret"}`` -> ``access_token`` (a password or
  a personal access token), sent as ``Authorization: Bearer``;
- ``GET /v2/namespaces/{namespace}/repositories/{name}`` -> ``is_private``, or 404;
- ``POST /v2/namespaces/{namespace}/repositories`` with ``is_private: true`` when it is
  missing, so the push lands in a private repository.

A public repository is refused unless the user said so (``docker.public_image_ok``,
``--public-image-ok``, the wizard's question); so is a repository Docker Hub will not
create private (the free plan's one private repository is taken). Other registries have
no common API for this: the caller says what is known instead (:func:`not_docker_hub`).
The password and the token are registered with :mod:`numerai_aci_wizard.redact`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__, netreason, redact
from ..events import ErrorCode, WizardError
from ..image_ref import ImageRef

if TYPE_CHECKING:
    import requests

DEFAULT_API_URL = "https://hub.docker.com"
API_URL_ENV = "DOCKER_HUB_API_URL"
TIMEOUT = (10.0, 30.0)
DESCRIPTION = "Numerai predictions (created private by numerai-aci-wizard)"


def api_url() -> str:
    return (os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")


@dataclass(frozen=True)
class Visibility:
    """What the check found: ``private`` is None when it could not be told."""

    repository: str
    private: bool | None
    created: bool
    summary: str


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact.redact(response.text.strip()[:200])
    if isinstance(body, dict):
        for key in ("message", "detail", "details", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return redact.redact(body[key])
    return ""


class _Hub:
    def __init__(self, session: requests.Session, ref: ImageRef, base: str) -> None:
        self.session = session
        self.ref = ref
        self.base = base
        self.namespace, _, self.name = ref.hub_path.partition("/")
        self.repository = ref.hub_path
        self.headers: dict[str, str] = {"Accept": "application/json"}

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests

        try:
            return self.session.request(
                method,
                self.base + path,
                json=body,
                headers=self.headers,
                timeout=TIMEOUT,
            )
        except requests.exceptions.RequestException as exc:
            raise WizardError(
                f"Docker Hub's API ({self.base}) cannot be reached: {netreason.plain(str(exc))}. Without it "
                f"the tool cannot tell whether {self.repository} is private, so nothing was "
                "pushed.",
                "Check your network or proxy and try again; to push without this check, "
                "set docker.public_image_ok = true (--public-image-ok).",
                code=ErrorCode.REGISTRY_UNREACHABLE,
            ) from None

    def sign_in(self, username: str, password: str) -> None:
        response = self.request(
            "POST", "/v2/auth/token", {"identifier": username, "secret": password}
        )
        if response.status_code in (401, 403):
            raise WizardError(
                f"Docker Hub refused user '{username}': {_message(response) or 'unauthorized'}",
                "Check the Docker Hub username (not the e-mail) and the password or access "
                "token (DOCKER_PASSWORD); with SSO enforced, use a personal access token.",
                exit_code=2,
                code=ErrorCode.UNAUTHORIZED,
                field="docker_password",
            )
        token = _json(response).get("access_token") if response.status_code == 200 else None
        if not isinstance(token, str) or not token:
            raise self._failed(response, "sign-in")
        redact.register(token)
        self.headers["Authorization"] = f"Bearer {token}"

    def get(self) -> bool | None:
        """``is_private`` of the repository; None when it does not exist."""
        response = self.request("GET", f"/v2/namespaces/{self.namespace}/repositories/{self.name}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._failed(response, "repository look-up")
        private = _json(response).get("is_private")
        if not isinstance(private, bool):
            raise self._failed(response, "repository look-up (no is_private in the answer)")
        return private

    def create_private(self) -> Any:
        body = {
            "namespace": self.namespace,
            "name": self.name,
            "is_private": True,
            "description": DESCRIPTION,
        }
        return self.request("POST", f"/v2/namespaces/{self.namespace}/repositories", body)

    def _failed(self, response: requests.Response, what: str) -> WizardError:
        detail = _message(response)
        return WizardError(
            f"Docker Hub's {what} for {self.repository} failed with HTTP "
            f"{response.status_code}" + (f": {detail}" if detail else "") + ". Nothing was pushed.",
            "Try again later; to push without this check, set docker.public_image_ok = true "
            "(--public-image-ok).",
            code=ErrorCode.REGISTRY_ERROR,
        )


def public_refused(ref: ImageRef, why: str) -> WizardError:
    return WizardError(
        f"{why} The image holds your trained models (models/), so anyone could pull them. "
        "Nothing was pushed.",
        f"Make {ref.hub_path} private on hub.docker.com (the repository's Settings > "
        "Visibility), or push to another registry; if a public image is what you want, set "
        "docker.public_image_ok = true (--public-image-ok, or the wizard's Docker step).",
        exit_code=2,
        code=ErrorCode.IMAGE_PUBLIC,
        field="docker.public_image_ok",
    )


def ensure_private(
    ref: ImageRef, username: str, password: str, *, public_ok: bool = False
) -> Visibility:
    """Make sure a push to Docker Hub will not publish the models without the user's word.

    Private repository: fine. Missing: created private now. Public: refused unless
    ``public_ok``. Raises WizardError (``image_public``, ``unauthorized``,
    ``registry_unreachable``, ``registry_error``).
    """
    import requests

    redact.register(password)
    repository = ref.hub_path
    with requests.Session() as session:
        session.headers["User-Agent"] = f"numerai-aci-wizard/{__version__}"
        hub = _Hub(session, ref, api_url())
        hub.sign_in(username, password)
        private = hub.get()
        if private is True:
            return Visibility(repository, True, False, f"Docker Hub: {repository} is private")
        if private is False:
            if not public_ok:
                raise public_refused(ref, f"The Docker Hub repository {repository} is public.")
            return Visibility(
                repository,
                False,
                False,
                f"Docker Hub: {repository} is PUBLIC; pushing anyway (public_image_ok)",
            )
        response = hub.create_private()
        if response.status_code in (200, 201):
            return Visibility(
                repository, True, True, f"Docker Hub: created {repository} as a private repository"
            )
        if response.status_code == 409:  # created in between: look again
            again = hub.get()
            if again is True or (again is False and public_ok):
                return Visibility(repository, again, False, f"Docker Hub: {repository} exists")
            raise public_refused(ref, f"The Docker Hub repository {repository} is public.")
        detail = _message(response) or f"HTTP {response.status_code}"
        if public_ok:
            return Visibility(
                repository,
                None,
                False,
                f"Docker Hub would not create {repository} private ({detail}); the push "
                "creates it with the account's default visibility (public_image_ok)",
            )
        raise public_refused(
            ref,
            f"Docker Hub would not create {repository} as a private repository ({detail}): a "
            "free account has one private repository. A push would create it with the "
            "account's default visibility, public on most accounts.",
        )


def not_docker_hub(ref: ImageRef) -> str:
    """What is known about who can read an image in another registry: nothing certain."""
    return (
        f"{ref.registry} is not Docker Hub: this tool cannot tell who may pull {ref} there. "
        "The image holds your models; keep the repository private in that registry."
    )
