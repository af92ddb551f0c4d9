"""The registry check over HTTP API v2, with no Docker engine anywhere in it.

Two real servers: Docker Distribution with htpasswd (Basic auth, plain HTTP on loopback,
from tests/fixtures/docker_engine.py, with DOCKER_HOST pointed at a dead socket), and a
stand-in for Docker Hub's bearer-token flow over HTTPS (tests/support/registry_token.py).
What a user would notice: the digest of the image they pushed elsewhere; a failure that
says which kind it is (missing, refused, throttled, unreachable, the registry's own 5xx)
and never shows the password or the token.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests

from numerai_aci_wizard import redact
from numerai_aci_wizard.engines import PushedImage
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.image_ref import parse_image_ref
from numerai_aci_wizard.services import docker_image, registry_api
from numerai_aci_wizard.services.registry_api import MANIFEST_MEDIA_TYPES, parse_challenges
from numerai_aci_wizard.settings import Settings
from tests.fixtures.docker_engine import DockerEngine, free_port
from tests.support.arm import LocalCA
from tests.support.registry_token import OCI_INDEX, SERVICE, TokenRegistry

PASSWORD = "alice-Secret-pw-42"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


# --- the bearer-token registry (Docker Hub's flow) -----------------------------------------


@pytest.fixture(scope="module")
def _token_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    server = TokenRegistry(LocalCA(tmp_path_factory.mktemp("registry-ca"))).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hub(_token_listener: TokenRegistry, monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenRegistry]:
    _token_listener.reset()
    _token_listener.users["alice"] = PASSWORD
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", _token_listener.ca.path)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    redact.forget_all()
    yield _token_listener
    _token_listener.reset()
    redact.forget_all()


def check(hub: TokenRegistry, image: str, user: str = "", password: str = "") -> str:
    return registry_api.manifest_digest(parse_image_ref(f"{hub.host}/{image}"), user, password)


def failure(hub: TokenRegistry, image: str, user: str = "", password: str = "") -> WizardError:
    with pytest.raises(WizardError) as caught:
        check(hub, image, user, password)
    error = caught.value
    if password:
        assert password not in str(error)
    for token in (s.authorization[7:] for s in hub.seen if s.auth_scheme == "bearer"):
        assert token not in str(error)
    return error


def test_private_image_through_the_token_service(hub: TokenRegistry) -> None:
    manifest = hub.add_image("team/private", "v1", readers=("alice",))

    assert check(hub, "team/private:v1", "alice", PASSWORD) == manifest.digest

    first, token_request, second = hub.seen
    assert (first.server, first.method, first.path) == (
        "registry",
        "HEAD",
        "/v2/team/private/manifests/v1",
    )
    assert first.authorization == ""  # anonymous first
    assert all(t in first.accept for t in MANIFEST_MEDIA_TYPES)
    assert (token_request.server, token_request.auth_scheme) == ("auth", "basic")
    assert token_request.query == {
        "scope": ["repository:team/private:pull"],
        "service": [SERVICE],
    }
    assert PASSWORD not in json.dumps(token_request.query)
    assert (second.auth_scheme, second.path) == ("bearer", first.path)
    token = second.authorization[7:]
    assert redact.redact(f"token {token} password {PASSWORD}") == "token *** password ***"


def test_public_image_anonymously(hub: TokenRegistry) -> None:
    manifest = hub.add_image("team/public", "latest", public=True)
    assert check(hub, "team/public") == manifest.digest  # no tag: latest
    token_request = hub.of("auth")[0]
    assert token_request.authorization == ""
    # a username without a password reads anonymously too
    assert check(hub, "team/public:latest", "alice", "") == manifest.digest


def test_multi_platform_index_answers_with_the_index_digest(hub: TokenRegistry) -> None:
    index = hub.add_image("team/multi", "v1", public=True, media_type=OCI_INDEX)
    assert check(hub, "team/multi:v1") == index.digest


# --- the platform: ACI runs linux/amd64 only -------------------------------------------------


def hub_settings(hub: TokenRegistry, image: str) -> Settings:
    settings = Settings()
    settings.docker.build = False
    settings.docker.image = f"{hub.host}/{image}"
    settings.docker.username = "alice"
    return settings


def test_an_arm64_only_index_is_refused_naming_its_platforms(hub: TokenRegistry) -> None:
    """What `docker buildx build` pushes from an Apple Silicon Mac by default."""
    hub.add_image("team/mac", "v1", readers=("alice",), media_type=OCI_INDEX,
                  platforms=("linux/arm64/v8",))  # fmt: skip
    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(hub_settings(hub, "team/mac:v1"), PASSWORD)
    error = caught.value
    assert (error.code, error.exit_code, error.field) == ("image_platform", 2, "docker.image")
    assert "built for only linux/arm64/v8, not linux/amd64" in error.message
    assert "unknown" not in error.message  # buildx's attestation entries are not platforms
    assert "exec format error" in error.message
    assert "--platform linux/amd64" in error.hint
    assert PASSWORD not in str(error)


def test_an_arm64_single_manifest_is_refused(hub: TokenRegistry) -> None:
    """A plain `docker build` + `docker push` on an arm64 machine: the config says arm64."""
    manifest = hub.add_image("team/mac", "v2", public=True, platforms=("linux/arm64",))
    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(hub_settings(hub, "team/mac:v2"), None)
    assert caught.value.code == "image_platform"
    assert "built for only linux/arm64" in caught.value.message
    # the manifest was read by its digest, then its config blob
    paths = [s.path for s in hub.of("registry") if s.method == "GET"]
    assert f"/v2/team/mac/manifests/{manifest.digest}" in paths
    assert any("/v2/team/mac/blobs/sha256:" in p for p in paths)


def test_an_index_with_an_amd64_entry_is_accepted(hub: TokenRegistry) -> None:
    index = hub.add_image("team/multi", "v3", readers=("alice",), media_type=OCI_INDEX,
                          platforms=("linux/arm64", "linux/amd64"))  # fmt: skip
    settings = hub_settings(hub, "team/multi:v3")
    assert docker_image.verify_remote(settings, PASSWORD) == index.digest
    found = registry_api.inspect_image(parse_image_ref(settings.docker.image), "alice", PASSWORD)
    assert found.platforms == ("linux/arm64", "linux/amd64")


def test_an_amd64_single_manifest_is_accepted(hub: TokenRegistry) -> None:
    manifest = hub.add_image("team/pc", "v1", readers=("alice",))
    assert docker_image.verify_remote(hub_settings(hub, "team/pc:v1"), PASSWORD) == manifest.digest


def test_digest_without_the_header_is_the_manifest_body_hash(hub: TokenRegistry) -> None:
    manifest = hub.add_image("team/public", "v1", public=True)
    hub.send_digest_header = False
    assert check(hub, "team/public:v1") == manifest.digest
    assert [s.method for s in hub.of("registry")][-1] == "GET"


def test_docker_hub_spellings_ask_for_the_same_repository(hub: TokenRegistry) -> None:
    busybox = hub.add_image("library/busybox", "1.36", public=True)
    mine = hub.add_image("alice/predict", "v1", readers=("alice",))
    for text, want in (
        ("busybox:1.36", busybox),
        ("docker.io/busybox:1.36", busybox),
        ("index.docker.io/library/busybox:1.36", busybox),
        ("registry-1.docker.io/alice/predict:v1", mine),
        ("alice/predict:v1", mine),
    ):
        ref = parse_image_ref(text)
        digest = registry_api.manifest_digest(ref, "alice", PASSWORD, endpoint=hub.registry_url)
        assert digest == want.digest, text
    scopes = {q for s in hub.of("auth") for q in s.query["scope"]}
    assert scopes == {"repository:library/busybox:pull", "repository:alice/predict:pull"}


def test_wrong_password_is_refused_by_the_token_service(hub: TokenRegistry) -> None:
    hub.add_image("team/private", "v1", readers=("alice",))
    error = failure(hub, "team/private:v1", "alice", "not-the-password")
    assert error.code == "unauthorized"
    assert "refused user 'alice'" in error.message
    assert "incorrect username or password" in error.message
    assert len(hub.of("registry")) == 1  # nothing sent to the registry with a bad token


def test_private_image_without_credentials_asks_for_them(hub: TokenRegistry) -> None:
    hub.add_image("team/private", "v1", readers=("alice",))
    error = failure(hub, "team/private:v1")
    assert (error.code, error.exit_code) == ("unauthorized", 2)
    assert "wants a sign-in" in error.message
    assert "DOCKER_PASSWORD" in error.hint


def test_signed_in_user_without_access(hub: TokenRegistry) -> None:
    hub.users["bob"] = "bob-password-1"
    hub.add_image("team/private", "v1", readers=("bob",))
    error = failure(hub, "team/private:v1", "alice", PASSWORD)
    assert error.code == "unauthorized"
    assert "accepted user 'alice' but does not let it read" in error.message


def test_missing_tag_names_the_tags_there_are(hub: TokenRegistry) -> None:
    hub.add_image("team/private", "v1", readers=("alice",))
    hub.add_image("team/private", "v2", readers=("alice",))
    error = failure(hub, "team/private:v3", "alice", PASSWORD)
    assert error.code == "tag_missing"
    assert "team/private:v3" in error.message
    assert "its tags: v1, v2" in error.message


@pytest.mark.parametrize("server", ["registry", "auth"])
def test_throttling_is_not_a_credentials_problem(hub: TokenRegistry, server: str) -> None:
    hub.add_image("team/public", "v1", public=True)
    hub.fail_next(server, 429, {"Retry-After": "60"})
    error = failure(hub, "team/public:v1", "alice", PASSWORD)
    assert error.code == "registry_throttled"
    assert "not a problem with the credentials" in error.message
    assert "wait 60 s" in error.message


def test_docker_hub_throttling_names_its_rate_limit(hub: TokenRegistry) -> None:
    hub.add_image("alice/predict", "v1", public=True)
    hub.fail_next("registry", 429)
    with pytest.raises(WizardError) as caught:
        registry_api.manifest_digest(
            parse_image_ref("docker.io/alice/predict:v1"), endpoint=hub.registry_url
        )
    assert caught.value.code == "registry_throttled"
    assert "Docker Hub's pull rate limit" in caught.value.message
    assert "username and password" in caught.value.hint


@pytest.mark.parametrize(("server", "where"), [("registry", ""), ("auth", "token service")])
def test_server_errors_are_the_registrys_problem(
    hub: TokenRegistry, server: str, where: str
) -> None:
    hub.add_image("team/public", "v1", public=True)
    hub.fail_next(server, 503)
    error = failure(hub, "team/public:v1")
    assert error.code == "registry_error"
    assert "HTTP 503" in error.message and "not your settings" in error.message
    assert where in error.message
    # the next try works: nothing was cached from the failure
    assert check(hub, "team/public:v1")


def test_untrusted_certificate_says_how_to_trust_it(
    hub: TokenRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_image("team/public", "v1", public=True)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    error = failure(hub, "team/public:v1")
    assert error.code == "registry_unreachable"
    assert "certificate verify failed" in error.message
    assert "REQUESTS_CA_BUNDLE" in error.hint
    assert hub.seen == []  # no fallback to plain HTTP after a certificate error


def test_nothing_listening_is_unreachable(hub: TokenRegistry) -> None:
    ref = parse_image_ref(f"127.0.0.1:{free_port()}/team/nowhere:v1")
    with pytest.raises(WizardError) as caught:
        registry_api.manifest_digest(ref)
    assert caught.value.code == "registry_unreachable"
    assert "connection refused" in caught.value.message


def test_dns_failure_reads_as_such() -> None:
    exc = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='registry.example.invalid', port=443): Max retries exceeded "
        "(Caused by NameResolutionError(\"Failed to resolve 'registry.example.invalid' "
        '([Errno -2] Name or service not known)"))'
    )
    assert registry_api._reason(exc) == "the host name does not resolve (DNS)"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:samalba/my-app:pull,push"',
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:samalba/my-app:pull,push",
                    },
                )
            ],
        ),
        ('Basic realm="aci-wizard-tests"', [("basic", {"realm": "aci-wizard-tests"})]),
        (
            'Basic realm="r", Bearer realm="https://a/t",error="insufficient_scope"',
            [
                ("basic", {"realm": "r"}),
                ("bearer", {"realm": "https://a/t", "error": "insufficient_scope"}),
            ],
        ),
        ("Negotiate", []),
    ],
)
def test_challenges_are_parsed(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, c.params) for c in parse_challenges(header)] == expected


# --- the real registry (htpasswd, Basic auth), no engine -------------------------------------


def _blob(session: requests.Session, base: str, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = session.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=10)
    started.raise_for_status()
    session.put(
        urljoin(base, started.headers["Location"]),
        params={"digest": digest},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    ).raise_for_status()
    return digest


def push_without_docker(
    engine: DockerEngine, repository: str, tag: str, architecture: str = "amd64"
) -> str:
    """Upload a small image through the registry's API (as CI elsewhere would have pushed it)."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        info = tarfile.TarInfo("predict.txt")
        payload = f"{repository}:{tag}".encode()
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    layer = gzip.compress(layer_tar.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer_tar.getvalue()).hexdigest()],
            },
        }
    ).encode()
    with requests.Session() as session:
        session.auth = (engine.registry_username, engine.registry_password)
        base = engine.registry_url
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_V2,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(config),
                    "digest": _blob(session, base, repository, config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(layer),
                        "digest": _blob(session, base, repository, layer),
                    }
                ],
            }
        ).encode()
        put = session.put(
            f"{base}/v2/{repository}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": MANIFEST_V2},
            timeout=10,
        )
        put.raise_for_status()
        assert (
            put.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
        )
        return put.headers["Docker-Content-Digest"]


@pytest.fixture
def no_engine(docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch) -> DockerEngine:
    """A user without Docker: DOCKER_HOST names a socket nobody listens on."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(WizardError) as caught:
        docker_image.check_daemon()
    assert caught.value.code == "daemon_unreachable"
    return docker_engine


def existing_image(engine: DockerEngine, image: str) -> Settings:
    settings = Settings()
    settings.docker.build = False
    settings.docker.image = image
    settings.docker.username = engine.registry_username
    return settings


@pytest.mark.docker
def test_existing_image_checked_with_basic_auth_and_no_engine(no_engine: DockerEngine) -> None:
    digest = push_without_docker(no_engine, "ci/pushed", "v1")
    settings = existing_image(no_engine, f"{no_engine.registry}/ci/pushed:v1")

    assert docker_image.verify_remote(settings, no_engine.registry_password) == digest
    result = docker_image.build_and_push(settings, no_engine.registry_password, PushedImage())
    assert (result.built, result.pushed, result.digest) == (False, False, digest)


@pytest.mark.docker
def test_real_registry_failures_without_an_engine(no_engine: DockerEngine) -> None:
    push_without_docker(no_engine, "ci/failures", "v1")
    password = no_engine.registry_password

    missing_tag = existing_image(no_engine, f"{no_engine.registry}/ci/failures:v9")
    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(missing_tag, password)
    assert caught.value.code == "tag_missing"
    assert "its tags: v1" in caught.value.message

    missing_repo = existing_image(no_engine, f"{no_engine.registry}/ci/never-pushed:v1")
    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(missing_repo, password)
    assert caught.value.code == "tag_missing"
    assert "no repository ci/never-pushed" in caught.value.message

    pushed = existing_image(no_engine, f"{no_engine.registry}/ci/failures:v1")
    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(pushed, "wrong-password")
    assert caught.value.code == "unauthorized"
    assert "wrong username or password" in caught.value.message
    assert "wrong-password" not in str(caught.value)

    with pytest.raises(WizardError) as caught:
        docker_image.verify_remote(pushed, None)
    assert (caught.value.code, caught.value.exit_code) == ("unauthorized", 2)
    assert password not in str(caught.value)


def push_index_without_docker(
    engine: DockerEngine, repository: str, tag: str, architectures: tuple[str, ...]
) -> str:
    """An OCI index over images pushed by digest, as `docker buildx build --push` leaves it."""
    entries = []
    with requests.Session() as session:
        session.auth = (engine.registry_username, engine.registry_password)
        for arch in architectures:
            digest = push_without_docker(engine, repository, f"only-{arch}", arch)
            size = len(session.get(
                f"{engine.registry_url}/v2/{repository}/manifests/{digest}",
                headers={"Accept": MANIFEST_V2}, timeout=10,
            ).content)  # fmt: skip
            entries.append({"mediaType": MANIFEST_V2, "digest": digest, "size": size,
                            "platform": {"architecture": arch, "os": "linux"}})  # fmt: skip
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        put = session.put(
            f"{engine.registry_url}/v2/{repository}/manifests/{tag}",
            data=index.encode(),
            headers={"Content-Type": OCI_INDEX},
            timeout=10,
        )
        put.raise_for_status()
        return put.headers["Docker-Content-Digest"]


@pytest.mark.docker
def test_real_registry_arm64_images_are_refused(no_engine: DockerEngine) -> None:
    push_without_docker(no_engine, "ci/mac", "single", "arm64")
    push_index_without_docker(no_engine, "ci/mac", "index", ("arm64",))
    both = push_index_without_docker(no_engine, "ci/mac", "both", ("arm64", "amd64"))
    password = no_engine.registry_password
    for tag in ("single", "index"):
        with pytest.raises(WizardError) as caught:
            docker_image.verify_remote(
                existing_image(no_engine, f"{no_engine.registry}/ci/mac:{tag}"), password
            )
        assert caught.value.code == "image_platform", tag
        assert "linux/arm64, not linux/amd64" in caught.value.message
    settings = existing_image(no_engine, f"{no_engine.registry}/ci/mac:both")
    assert docker_image.verify_remote(settings, password) == both
