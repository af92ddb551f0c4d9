"""Docker Hub repository visibility before the first push, against the Hub API stand-in
(tests/support/docker_hub.py): the models baked into the image never become public without
the user's word. What a user would notice: a missing repository ends up private, a public
one is refused with what to do, and the password never shows."""

from __future__ import annotations

import pytest

from numerai_aci_wizard import redact
from numerai_aci_wizard.events import Event, LogLine, WizardError
from numerai_aci_wizard.image_ref import parse_image_ref
from numerai_aci_wizard.services import docker_hub, docker_image
from numerai_aci_wizard.settings import Settings
from tests.support.docker_hub import DockerHubAPI

PASSWORD = "dckr_pat_alice-0123456789"


@pytest.fixture
def hub(docker_hub_api: DockerHubAPI) -> DockerHubAPI:
    docker_hub_api.add_account("alice", PASSWORD)
    redact.forget_all()
    return docker_hub_api


def settings(image: str = "alice/numerai-predict:latest", public_ok: bool = False) -> Settings:
    s = Settings()
    s.docker.image = image
    s.docker.username = "alice"
    s.docker.public_image_ok = public_ok
    return s


def check(s: Settings, password: str = PASSWORD) -> list[Event]:
    events: list[Event] = []
    docker_image.check_visibility(s, password, emit=events.append)
    return events


def test_the_stand_in_creates_a_pushed_repository_public_by_default(hub: DockerHubAPI) -> None:
    """The trap itself: without the check, the first push publishes the models."""
    assert hub.receive_push("alice", "numerai-predict").is_private is False


def test_a_missing_repository_is_created_private_before_the_push(hub: DockerHubAPI) -> None:
    events = check(settings())
    repo = hub.repository("alice", "numerai-predict")
    assert repo is not None and repo.is_private
    # the push that follows finds it there and keeps it private
    assert hub.receive_push("alice", "numerai-predict").is_private
    said = [e.text for e in events if isinstance(e, LogLine)]
    assert said == ["Docker Hub: created alice/numerai-predict as a private repository"]
    token, look, create = hub.seen
    assert (token.path, token.body) == (
        "/v2/auth/token",
        {"identifier": "alice", "secret": PASSWORD},
    )
    assert (look.method, look.path) == ("GET", "/v2/namespaces/alice/repositories/numerai-predict")
    assert look.authorization.startswith("Bearer ")
    assert (create.method, create.path) == ("POST", "/v2/namespaces/alice/repositories")
    assert create.body["is_private"] is True and create.body["name"] == "numerai-predict"
    assert redact.redact(look.authorization) == "Bearer ***"


def test_a_private_repository_is_used_as_it_is(hub: DockerHubAPI) -> None:
    hub.add_repository("alice", "numerai-predict", private=True)
    events = check(settings())
    assert [e.text for e in events if isinstance(e, LogLine)] == [
        "Docker Hub: alice/numerai-predict is private"
    ]
    assert [s.method for s in hub.seen] == ["POST", "GET"]  # nothing created


def test_a_public_repository_is_refused_without_the_users_word(hub: DockerHubAPI) -> None:
    hub.add_repository("alice", "numerai-predict", private=False)
    with pytest.raises(WizardError) as caught:
        check(settings())
    error = caught.value
    assert (error.code, error.exit_code, error.field) == (
        "image_public",
        2,
        "docker.public_image_ok",
    )
    assert "alice/numerai-predict is public" in error.message
    assert "models" in error.message and "Nothing was pushed" in error.message
    assert "--public-image-ok" in error.hint and "Visibility" in error.hint
    assert PASSWORD not in str(error)


def test_a_public_repository_with_public_image_ok_is_said_plainly(hub: DockerHubAPI) -> None:
    hub.add_repository("alice", "numerai-predict", private=False)
    events = check(settings(public_ok=True))
    (line,) = [e for e in events if isinstance(e, LogLine)]
    assert line.level == "warning" and "PUBLIC" in line.text


def test_a_free_account_whose_private_repository_is_taken(hub: DockerHubAPI) -> None:
    hub.add_repository("alice", "old-project", private=True)
    with pytest.raises(WizardError) as caught:
        check(settings())
    assert caught.value.code == "image_public"
    assert "would not create alice/numerai-predict as a private repository" in caught.value.message
    assert "private repository limit" in caught.value.message
    assert hub.repository("alice", "numerai-predict") is None  # nothing made public
    # with the user's word, the push may create it (with the account's default)
    events = check(settings(public_ok=True))
    assert any(isinstance(e, LogLine) and e.level == "warning" for e in events)


def test_wrong_password_is_refused_by_docker_hub(hub: DockerHubAPI) -> None:
    with pytest.raises(WizardError) as caught:
        check(settings(), "wrong-password")
    assert (caught.value.code, caught.value.exit_code) == ("unauthorized", 2)
    assert "refused user 'alice'" in caught.value.message
    assert "wrong-password" not in str(caught.value)


def test_another_registry_says_what_is_known(hub: DockerHubAPI) -> None:
    events = check(settings("registry.example.com:5000/team/predict:v1"))
    (line,) = [e for e in events if isinstance(e, LogLine)]
    assert "is not Docker Hub" in line.text and "cannot tell" in line.text
    assert hub.seen == []


def test_unreachable_api_pushes_nothing(hub: DockerHubAPI, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HUB_API_URL", "https://127.0.0.1:9")
    with pytest.raises(WizardError) as caught:
        docker_hub.ensure_private(parse_image_ref("alice/predict"), "alice", PASSWORD)
    assert caught.value.code == "registry_unreachable"
    assert "cannot tell whether alice/predict is private" in caught.value.message
