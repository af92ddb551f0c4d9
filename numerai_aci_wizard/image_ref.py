"""Docker image references: the grammar of distribution/reference, and the registry they name.

Pure: the settings validator, the docker service and the Azure provisioner all read an
image reference the same way, so the registry the image is pushed to and the server
the container group logs in to can never disagree.

Docker Hub has several spellings (``user/repo``, ``docker.io/user/repo``,
``index.docker.io/...``, ``registry-1.docker.io/...``; ``busybox`` is
``library/busybox``). They name one image, so two references compare equal when their
normalised forms do, and ACI gets the short form (:attr:`ImageRef.aci_image`): its
``index.docker.io`` credentials apply to that form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
#: The server name Docker Hub credentials use in a container group (as the original scripts).
DOCKER_HUB_CREDENTIAL_SERVER = "index.docker.io"
#: The host that serves Docker Hub's registry HTTP API (v2).
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_OFFICIAL_NAMESPACE = "library"
_MAX_PORT = 65535

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?$")
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_MAX_NAME = 255


@dataclass(frozen=True, eq=False)
class ImageRef:
    """A parsed reference, fields as written. ``domain`` is empty for Docker Hub references
    written without one.

    Equality and hashing use :attr:`normalized`: ``docker.io/user/repo`` equals
    ``user/repo:latest``, ``busybox`` equals ``index.docker.io/library/busybox``.
    """

    domain: str
    path: str
    tag: str
    digest: str

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageRef):
            return NotImplemented
        return self.normalized == other.normalized

    def __hash__(self) -> int:
        return hash(self.normalized)

    @property
    def is_docker_hub(self) -> bool:
        return not self.domain or self.domain.lower() in _HUB_ALIASES

    @property
    def hub_path(self) -> str:
        """The path as the registry API knows it: ``library/`` before a Hub official image."""
        if self.is_docker_hub and "/" not in self.path:
            return f"{_OFFICIAL_NAMESPACE}/{self.path}"
        return self.path

    @property
    def api_host(self) -> str:
        """The host[:port] that serves this image's registry HTTP API."""
        return DOCKER_HUB_API_HOST if self.is_docker_hub else self.domain

    @property
    def normalized(self) -> str:
        """The one full spelling of this reference, for comparing two of them.

        Docker Hub as ``docker.io/library/name`` (the Hub's aliases folded in), the registry
        host in lowercase (host names are case-insensitive), and ``:latest`` when neither a
        tag nor a digest is written (what docker pulls then).
        """
        domain = DOCKER_HUB if self.is_docker_hub else self.domain.lower()
        name = f"{domain}/{self.hub_path}"
        tag = self.tag or ("" if self.digest else "latest")
        return name + (f":{tag}" if tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def aci_image(self) -> str:
        """The reference a container group gets: Docker Hub images in the short form
        (``user/repo:tag``, ``busybox:tag``), others as written. Tag and digest as written:
        the group runs the tag, so a newly pushed tag is picked up at the next start."""
        if not self.is_docker_hub:
            return str(self)
        path = self.path
        if path.startswith(f"{_OFFICIAL_NAMESPACE}/") and path.count("/") == 1:
            path = path.split("/", 1)[1]
        return str(ImageRef(domain="", path=path, tag=self.tag, digest=self.digest))

    @property
    def registry(self) -> str:
        """The registry host[:port] to log in and push to."""
        return DOCKER_HUB if self.is_docker_hub else self.domain

    @property
    def credential_server(self) -> str:
        """The ``server`` of the container group's image registry credentials."""
        return DOCKER_HUB_CREDENTIAL_SERVER if self.is_docker_hub else self.domain

    @property
    def repository(self) -> str:
        """Name without tag or digest, as docker push and the registry API know it."""
        if self.is_docker_hub:
            path = self.path if "/" in self.path else f"library/{self.path}"
            return path if not self.domain else f"{self.domain}/{path}"
        return f"{self.domain}/{self.path}"

    @property
    def namespace(self) -> str:
        """First path component (the Docker Hub account for Hub images)."""
        return self.path.split("/", 1)[0] if "/" in self.path else "library"

    @property
    def tag_or_latest(self) -> str:
        return self.tag or "latest"

    def __str__(self) -> str:
        name = f"{self.domain}/{self.path}" if self.domain else self.path
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name


class ImageRefError(ValueError):
    pass


def _port_problem(domain: str) -> str | None:
    host, sep, port = domain.rpartition(":")
    if not sep:
        return None
    number = int(port)
    if not 1 <= number <= _MAX_PORT:
        return f"port {port} of the registry {host} is out of range: a port is 1 to {_MAX_PORT}"
    return None


def same_image(a: str, b: str) -> bool:
    """Whether two references name the same image (Docker Hub's spellings are one); a
    reference that does not parse is compared as written."""
    try:
        return parse_image_ref(a) == parse_image_ref(b)
    except ImageRefError:
        return a.strip() == b.strip()


def aci_image(text: str) -> str:
    """The form of ``text`` a container group gets (see :attr:`ImageRef.aci_image`); text
    that does not parse is returned stripped (settings validation reports it)."""
    try:
        return parse_image_ref(text).aci_image
    except ImageRefError:
        return text.strip()


def parse_image_ref(text: str) -> ImageRef:
    """Parse ``[registry[:port]/]path[:tag][@digest]``; raise ImageRefError with a reason."""
    ref = text.strip()
    if not ref:
        raise ImageRefError("enter an image reference, e.g. myuser/numerai-predict:latest")
    if "://" in ref:
        raise ImageRefError("leave out the scheme (https://): write registry/path:tag")
    if any(c.isspace() for c in ref):
        raise ImageRefError("an image reference cannot contain spaces")
    name, _, digest = ref.partition("@")
    if "@" in ref and not _DIGEST_RE.match(digest):
        raise ImageRefError(f"'{digest}' is not a digest (expected sha256:<64 hex digits>)")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not tag:
            raise ImageRefError("the tag after ':' is empty (e.g. :latest)")
        if not _TAG_RE.match(tag):
            raise ImageRefError(
                f"tag '{tag}' is invalid: letters, digits, '_', '.', '-' (not first), "
                "at most 128 characters"
            )
    if not name:
        raise ImageRefError("the image name is empty")
    if len(name) > _MAX_NAME:
        raise ImageRefError(f"the image name is {len(name)} characters; at most {_MAX_NAME}")
    first, sep, rest = name.partition("/")
    domain = ""
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN_RE.match(first):
            raise ImageRefError(f"'{first}' is not a valid registry host[:port]")
        if reason := _port_problem(first):
            raise ImageRefError(reason)
        domain, name = first, rest
    for component in name.split("/"):
        if not component:
            raise ImageRefError("the image path has an empty component ('//' or a trailing '/')")
        if component != component.lower():
            raise ImageRefError(f"'{component}' must be lowercase (Docker requires it)")
        if not _PATH_COMPONENT_RE.match(component):
            raise ImageRefError(
                f"'{component}' is invalid: lowercase letters and digits, separated by "
                "'.', '_', '__' or '-'"
            )
    return ImageRef(domain=domain, path=name, tag=tag, digest=digest)
