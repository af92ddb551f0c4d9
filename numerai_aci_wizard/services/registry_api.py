"""Is the image in its registry? Asked over the registry's HTTP API (v2), with no Docker engine.

With ``docker.build`` off the user deploys an image that was pushed elsewhere (CI,
another machine), often from a machine without Docker. So the check speaks the
Distribution API itself: ``HEAD /v2/<repository>/manifests/<tag>`` with the manifest
list, OCI index and image manifest media types, following the registry's own auth flow
as docker does. Anonymous first; on 401 the ``WWW-Authenticate`` challenge says how:

- ``Bearer realm=...,service=...,scope=...``: ask the realm for a token (with the
  user's basic credentials when given, else anonymously) and send it as a bearer token.
  Docker Hub works this way (registry-1.docker.io, tokens from auth.docker.io).
- ``Basic realm=...``: send the basic credentials (htpasswd registries, ACR's admin user).

The answer is the ``Docker-Content-Digest`` of what the tag points at, and (with
:func:`inspect_image`) the platforms it holds: Azure Container Instances run linux/amd64
only, and an image built on an Apple Silicon Mac is often linux/arm64 alone (an OCI
index without an amd64 entry, or a single arm64 manifest). Such an image passes a digest
check and then fails every start on Azure with "exec format error", so the manifest is
read, not just its digest: an index's entries carry their platform; a single manifest's
platform is in its config blob. Every failure is
one :class:`WizardError` that says which kind it is: not found (tag or repository),
refused (wrong user or password, or no access), throttled (Docker Hub's pull rate limit,
not a credentials problem), unreachable (DNS, connection, TLS) or the registry's own
5xx. TLS trust follows ``REQUESTS_CA_BUNDLE``. The password and any token are registered
with :mod:`numerai_aci_wizard.redact` and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__, redact
from ..events import ErrorCode, WizardError
from ..image_ref import ImageRef
from ..netreason import DNS_FAILURES
from . import docker_errors

if TYPE_CHECKING:
    import requests

#: What docker itself accepts, so a multi-platform image answers with its index.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
INDEX_MEDIA_TYPES = MANIFEST_MEDIA_TYPES[:2]
#: The one platform Azure Container Instances run (Linux containers, x86-64).
REQUIRED_PLATFORM = "linux/amd64"
_MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution spec's own limit for a manifest
TIMEOUT = (10.0, 30.0)  # (connect, read) seconds
_MAX_TAGS_SHOWN = 8
_CHALLENGE_RE = re.compile(r"(?:^|,)\s*(bearer|basic)\b", re.IGNORECASE)
_PARAM_RE = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: ``scheme`` in lowercase ("bearer" or "basic")."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """The Bearer and Basic challenges in a ``WWW-Authenticate`` value, in order.

    Quoted values may hold commas (``scope="repository:a/b:pull,push"``); several
    challenges may share one header (requests joins repeated headers with ", ").
    """
    starts = list(_CHALLENGE_RE.finditer(header))
    out: list[Challenge] = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(header)
        body = header[match.end() : end]
        params = {
            m.group(1).lower(): (
                m.group(2).replace('\\"', '"') if m.group(2) is not None else m.group(3)
            )
            for m in _PARAM_RE.finditer(body)
        }
        out.append(Challenge(match.group(1).lower(), params))
    return out


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _reason(exc: Exception) -> str:
    """The short cause inside a requests/urllib3 exception's long text."""
    text = str(exc)
    low = text.lower()
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        detail = re.search(r"certificate verify failed: ([^(')\"]+)", text, re.IGNORECASE)
        return "certificate verify failed" + (f": {detail.group(1).strip()}" if detail else "")
    if any(s in low for s in DNS_FAILURES):
        return "the host name does not resolve (DNS)"
    if "timed out" in low or "timeout" in low:
        return "no answer in time"
    match = _ERRNO_RE.search(text)
    if match:
        return match.group(1).strip().lower()
    return redact.redact(text)[:300]


@dataclass(frozen=True)
class RemoteImage:
    """What the registry holds for a tag: its digest and the platforms it can run on.

    ``platforms`` are ``os/architecture[/variant]`` strings, in the registry's order;
    an index's attestation entries (``unknown/unknown``) are left out.
    """

    digest: str
    platforms: tuple[str, ...]
    media_type: str = ""

    @property
    def runs_on_azure(self) -> bool:
        return any(_os_arch(p) == REQUIRED_PLATFORM for p in self.platforms)


def _os_arch(platform: str) -> str:
    return "/".join(platform.split("/")[:2])


def _platform(doc: object) -> str:
    """``os/architecture[/variant]`` of an index entry's ``platform`` or an image config."""
    if not isinstance(doc, dict):
        return ""
    os_name, arch = str(doc.get("os") or ""), str(doc.get("architecture") or "")
    if not os_name or not arch:
        return ""
    variant = str(doc.get("variant") or "")
    return f"{os_name}/{arch}" + (f"/{variant}" if variant else "")


def platform_error(image: str, found: tuple[str, ...]) -> WizardError:
    """The refusal of an image ACI cannot run, naming what it holds and how to rebuild."""
    said = ", ".join(found) if found else "no platform it states"
    only = "only " if len(found) == 1 else ""
    return WizardError(
        f"The image {image} is built for {only}{said}, not {REQUIRED_PLATFORM}: Azure Container "
        f"Instances run {REQUIRED_PLATFORM} images only, so every start would fail with "
        '"exec format error". Nothing was changed on Azure.',
        f"Rebuild it for {REQUIRED_PLATFORM} and push it again, e.g. `docker build --platform "
        f"{REQUIRED_PLATFORM} -t {image} .` then `docker push {image}` (on an Apple Silicon "
        f"Mac, or with buildx: `docker buildx build --platform {REQUIRED_PLATFORM} -t {image} "
        "--push .`), or turn building on (docker.build = true): the wizard builds amd64.",
        exit_code=2,
        code=ErrorCode.IMAGE_PLATFORM,
        field="docker.image",
    )


class _Registry:
    """One image's registry, one check: the state of its auth flow and where it answered."""

    def __init__(
        self,
        session: requests.Session,
        ref: ImageRef,
        username: str,
        password: str,
        endpoint: str,
    ) -> None:
        self.session = session
        self.ref = ref
        self.username = username
        self.password = password
        self.image = str(ref)
        self.registry = ref.registry
        if endpoint:
            self.bases = [endpoint.rstrip("/")]
        else:
            host = ref.api_host
            self.bases = [f"https://{host}"] + ([f"http://{host}"] if _is_loopback(host) else [])
        self.authorization = ""
        self.scheme_used = ""  # "", "bearer" or "basic": what the last 401 asked for

    # --- transport -------------------------------------------------------------------

    def _verify(self) -> str | bool:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def _send(self, method: str, path: str) -> requests.Response:
        """One request to the registry; a loopback registry may speak plain HTTP (as docker
        allows for 127.0.0.0/8), so a TLS handshake that meets HTTP falls back to http://."""
        import requests

        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        if self.authorization:
            headers["Authorization"] = self.authorization
        for i, base in enumerate(self.bases):
            try:
                response = self.session.request(
                    method,
                    base + path,
                    headers=headers,
                    timeout=TIMEOUT,
                    verify=self._verify(),
                    allow_redirects=True,
                )
            except requests.exceptions.SSLError as exc:
                # a certificate problem means the server speaks TLS: never retry in clear
                if "certificate" in str(exc).lower() or i + 1 >= len(self.bases):
                    raise self._unreachable(exc, base) from None
                continue
            except requests.exceptions.RequestException as exc:
                raise self._unreachable(exc, base) from None
            self.bases = [base]  # it answered here: the rest of the check stays here
            return response
        raise AssertionError("no registry base URL")  # pragma: no cover - bases is never empty

    def _unreachable(self, exc: Exception, url: str) -> WizardError:
        reason = _reason(exc)
        error = docker_errors.registry_unreachable(self.registry, f"{reason} ({url})")
        if reason.startswith("certificate verify failed"):
            error.hint = (
                "The registry's TLS certificate is not trusted here. If it comes from a "
                "private CA, point REQUESTS_CA_BUNDLE at that CA's PEM file; otherwise check "
                "the registry host in the image name."
            )
        elif "does not resolve" in reason:
            error.hint = (
                "Check the registry host in the image name for typos, and your network, "
                "DNS or proxy."
            )
        return error

    # --- auth flow -------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    def authorize(self, response: requests.Response) -> bool:
        """Answer a 401's challenge; False when it offers no scheme we speak."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is not None:
            token = self._token(bearer)
            redact.register(token)
            self.authorization = f"Bearer {token}"
            self.scheme_used = "bearer"
            return True
        if any(c.scheme == "basic" for c in challenges):
            self.scheme_used = "basic"
            credentials = self._credentials()
            if credentials is None:
                raise self._needs_credentials()
            pair = base64.b64encode(":".join(credentials).encode()).decode()
            redact.register(pair)
            self.authorization = f"Basic {pair}"
            return True
        return False

    def _token(self, challenge: Challenge) -> str:
        """A bearer token from the challenge's realm (Docker Hub: auth.docker.io/token)."""
        import requests

        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise WizardError(
                f"The registry {self.registry} sent an unusable sign-in challenge "
                f"(realm {realm!r})",
                "Check that the image name points at a Docker registry (HTTP API v2).",
                code=ErrorCode.REGISTRY_ERROR,
            )
        params = {"scope": challenge.params.get("scope") or f"repository:{self.ref.hub_path}:pull"}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        credentials = self._credentials()
        try:
            response = self.session.get(
                realm,
                params=params,
                auth=credentials,
                timeout=TIMEOUT,
                verify=self._verify(),
            )
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(exc, realm.split("?", 1)[0]) from None
        status = response.status_code
        if status in (401, 403):
            if credentials is None:
                raise self._needs_credentials()
            raise self._refused(_body_text(response) or f"HTTP {status} from the token service")
        if status == 429:
            raise self._throttled(response)
        if status != 200:
            raise self._server_error(response, "its token service")
        try:
            body = response.json()
        except ValueError:
            body = None
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise WizardError(
                f"The token service of the registry {self.registry} answered without a token",
                "Try again later; if it keeps happening, the registry is misconfigured.",
                code=ErrorCode.REGISTRY_ERROR,
            )
        return token

    # --- the check -------------------------------------------------------------------

    def manifest_digest(self) -> str:
        path = f"/v2/{self.ref.hub_path}/manifests/{self.ref.digest or self.ref.tag_or_latest}"
        response = self._send("HEAD", path)
        if response.status_code == 401 and self.authorize(response):
            response = self._send("HEAD", path)
        status = response.status_code
        if status == 200:
            digest = response.headers.get("Docker-Content-Digest", "")
            if not digest:  # allowed by the spec for HEAD; the body's sha256 is the digest
                body = self._send("GET", path)
                if body.status_code == 200:
                    digest = "sha256:" + hashlib.sha256(body.content).hexdigest()
            if not digest:
                raise WizardError(
                    f"The registry {self.registry} returned no digest for {self.image}",
                    "Push the image again.",
                    code=ErrorCode.REGISTRY_ERROR,
                )
            return digest
        if status == 404:
            raise self._not_found()
        if status == 401:
            if self._credentials() is None:
                raise self._needs_credentials()
            if self.scheme_used == "basic":
                raise self._refused("wrong username or password")
            raise self._no_access()
        if status == 403:
            raise self._no_access() if self._credentials() else self._needs_credentials()
        if status == 429:
            raise self._throttled(response)
        raise self._server_error(response, "")

    def _tags(self) -> list[str] | None:
        """The repository's tags, or None when the repository is not there (or not listable)."""
        try:
            response = self._send("GET", f"/v2/{self.ref.hub_path}/tags/list")
        except WizardError:
            return None
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        tags = body.get("tags") if isinstance(body, dict) else None
        return [str(t) for t in tags] if isinstance(tags, list) else None

    def inspect(self) -> RemoteImage:
        """The digest, then the manifest by that digest and, for a single manifest, its config."""
        digest = self.manifest_digest()
        name = self.ref.hub_path
        doc, media_type = self._json(f"/v2/{name}/manifests/{digest}", "its manifest")
        media_type = str(doc.get("mediaType") or media_type)
        entries = doc.get("manifests")
        if media_type in INDEX_MEDIA_TYPES or isinstance(entries, list):
            found = [_platform(e.get("platform")) for e in entries or [] if isinstance(e, dict)]
            platforms = tuple(p for p in found if p and not p.startswith("unknown/"))
            return RemoteImage(digest, platforms, media_type)
        if doc.get("schemaVersion") == 1:  # the old format names its architecture itself
            arch = str(doc.get("architecture") or "")
            return RemoteImage(digest, (f"linux/{arch}",) if arch else (), media_type)
        config = doc.get("config")
        config_digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(config_digest, str) or not config_digest:
            return RemoteImage(digest, (), media_type)
        blob, _ = self._json(f"/v2/{name}/blobs/{config_digest}", "its image configuration")
        platform = _platform(blob)
        return RemoteImage(digest, (platform,) if platform else (), media_type)

    def _json(self, path: str, what: str) -> tuple[dict[str, Any], str]:
        """A GET of a manifest or blob as JSON, and its Content-Type."""
        response = self._send("GET", path)
        if response.status_code == 401 and self.authorize(response):
            response = self._send("GET", path)
        if response.status_code == 404:
            raise WizardError(
                f"The registry {self.registry} lists {self.image} but does not serve {what} "
                f"({path.rsplit('/', 1)[-1]})",
                "Push the image again: a push that stopped half way leaves this behind.",
                code=ErrorCode.REGISTRY_ERROR,
            )
        if response.status_code == 429:
            raise self._throttled(response)
        if response.status_code != 200:
            raise self._server_error(response, what)
        try:
            doc = response.json() if len(response.content) <= _MAX_MANIFEST_BYTES else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise WizardError(
                f"The registry {self.registry} sent {what} of {self.image} in a form this "
                "tool does not read (not a JSON object)",
                "Check that the image name points at a container image.",
                code=ErrorCode.REGISTRY_ERROR,
            )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return doc, content_type

    # --- errors ----------------------------------------------------------------------

    def _not_found(self) -> WizardError:
        wanted = self.ref.digest or self.ref.tag_or_latest
        tags = self._tags()
        if tags:
            shown = ", ".join(sorted(tags)[:_MAX_TAGS_SHOWN])
            more = f" and {len(tags) - _MAX_TAGS_SHOWN} more" if len(tags) > _MAX_TAGS_SHOWN else ""
            return WizardError(
                f"The image {self.image} does not exist in the registry {self.registry}: the "
                f"repository has no {wanted} (its tags: {shown}{more})",
                "Push that tag (or turn building on), or set the image to one of its tags.",
                code=ErrorCode.TAG_MISSING,
            )
        return WizardError(
            f"The image {self.image} does not exist in the registry {self.registry}: there is "
            f"no repository {self.ref.hub_path}",
            "Build and push it (turn building on), or fix the image name.",
            code=ErrorCode.TAG_MISSING,
        )

    def _needs_credentials(self) -> WizardError:
        what = (
            "the repository is private or does not exist"
            if self.ref.is_docker_hub
            else "the registry allows no anonymous reads"
        )
        return WizardError(
            f"The registry {self.registry} wants a sign-in to read {self.image} ({what})",
            "Set the registry username and give the password or access token "
            "(DOCKER_PASSWORD); for a public Docker Hub image, check the name for typos.",
            exit_code=2,
            code=ErrorCode.UNAUTHORIZED,
            field="docker_password",
        )

    def _refused(self, text: str) -> WizardError:
        return docker_errors.unauthorized(
            self.registry, self.username, text, hub=self.ref.is_docker_hub, action="read"
        )

    def _no_access(self) -> WizardError:
        return WizardError(
            f"The registry {self.registry} accepted user '{self.username}' but does not let it "
            f"read {self.image}: the repository does not exist or belongs to someone else",
            "Check the image name, and that this user (or the token's scope) may pull it.",
            code=ErrorCode.UNAUTHORIZED,
        )

    def _throttled(self, response: requests.Response) -> WizardError:
        wait = response.headers.get("Retry-After", "")
        after = f" (it asks to wait {wait} s)" if wait.isdigit() else ""
        if self.ref.is_docker_hub:
            message = (
                f"Docker Hub's pull rate limit is reached for this address{after}: it did not "
                f"say whether {self.image} exists. This is not a problem with the credentials."
            )
            hint = (
                "Wait and try again (Docker Hub's limits reset over hours); signed-in users "
                "get a higher limit, so setting the Docker Hub username and password helps."
            )
        else:
            message = (
                f"The registry {self.registry} is throttling requests{after}: it did not say "
                f"whether {self.image} exists. This is not a problem with the credentials."
            )
            hint = "Wait a little and try again."
        return WizardError(message, hint, code=ErrorCode.REGISTRY_THROTTLED)

    def _server_error(self, response: requests.Response, part: str) -> WizardError:
        status = response.status_code
        where = f"The registry {self.registry}" + (f" ({part})" if part else "")
        detail = _body_text(response)
        if status >= 500:
            return WizardError(
                f"{where} failed with HTTP {status}"
                + (f": {detail}" if detail else "")
                + ". That is the registry's own problem, not your settings.",
                "Try again in a few minutes"
                + (
                    " (status.docker.com shows Docker Hub's state)."
                    if self.ref.is_docker_hub
                    else "."
                ),
                code=ErrorCode.REGISTRY_ERROR,
            )
        return WizardError(
            f"{where} answered HTTP {status} for {self.image}" + (f": {detail}" if detail else ""),
            "Check the image name and the registry, then try again.",
            code=ErrorCode.REGISTRY_ERROR,
        )


def _body_text(response: requests.Response) -> str:
    """The registry's or token service's own words, if it sent any (JSON errors or details)."""
    try:
        body = response.json()
    except ValueError:
        return redact.redact(response.text.strip()[:200])
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return redact.redact(str(errors[0].get("message") or errors[0].get("code") or ""))
        for key in ("details", "detail", "message", "error"):
            if isinstance(body.get(key), str):
                return redact.redact(body[key])
    return ""


def manifest_digest(
    ref: ImageRef, username: str = "", password: str = "", *, endpoint: str = ""
) -> str:
    """The digest the registry holds for ``ref``'s tag (or digest), through its HTTP API.

    Credentials count only as a pair (a username without a password reads anonymously).
    ``endpoint`` replaces the API's base URL (``https://registry-1.docker.io`` for Docker
    Hub, else ``https://<host[:port]>``): for a proxy or a test stand-in.
    Raises WizardError; codes: ``tag_missing``, ``unauthorized``, ``registry_throttled``,
    ``registry_unreachable``, ``registry_error``.
    """
    import requests

    if password:
        redact.register(password)
    with requests.Session() as session:
        session.headers["User-Agent"] = f"numerai-aci-wizard/{__version__}"
        return _Registry(session, ref, username.strip(), password, endpoint).manifest_digest()


def inspect_image(
    ref: ImageRef, username: str = "", password: str = "", *, endpoint: str = ""
) -> RemoteImage:
    """What the registry holds for ``ref``: its digest and the platforms it is built for.

    The same sign-in and failures as :func:`manifest_digest`; then the manifest itself is
    read (by digest, so it is the one the digest names) and, for a single image, its
    config blob, where the platform is written.
    """
    import requests

    if password:
        redact.register(password)
    with requests.Session() as session:
        session.headers["User-Agent"] = f"numerai-aci-wizard/{__version__}"
        return _Registry(session, ref, username.strip(), password, endpoint).inspect()


def require_amd64(ref: ImageRef, found: RemoteImage) -> RemoteImage:
    """``found`` if ACI can run it; else the refusal naming its platforms."""
    if not found.runs_on_azure:
        raise platform_error(str(ref), found.platforms)
    return found
