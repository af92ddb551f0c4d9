"""Image references: Docker Hub's spellings fold into one, ACI gets the short form, and a
registry port outside 1..65535 is refused with its reason."""

from __future__ import annotations

import pytest

from numerai_aci_wizard.image_ref import (
    ImageRefError,
    aci_image,
    parse_image_ref,
    same_image,
)
from numerai_aci_wizard.settings import check_image


@pytest.mark.parametrize(
    ("text", "short", "normalized"),
    [
        ("myuser/predict:v1", "myuser/predict:v1", "docker.io/myuser/predict:v1"),
        ("docker.io/myuser/predict:v1", "myuser/predict:v1", "docker.io/myuser/predict:v1"),
        ("index.docker.io/myuser/predict:v1", "myuser/predict:v1", "docker.io/myuser/predict:v1"),
        (
            "registry-1.docker.io/myuser/predict:v1",
            "myuser/predict:v1",
            "docker.io/myuser/predict:v1",
        ),
        ("Docker.IO/myuser/predict", "myuser/predict", "docker.io/myuser/predict:latest"),
        ("busybox", "busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("docker.io/library/busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "busybox", "docker.io/library/busybox:latest"),
        (
            "docker.io/myorg/team/predict:v1",
            "myorg/team/predict:v1",
            "docker.io/myorg/team/predict:v1",
        ),
        (
            "busybox@sha256:" + "a" * 64,
            "busybox@sha256:" + "a" * 64,
            "docker.io/library/busybox@sha256:" + "a" * 64,
        ),
        # other registries keep the reference as written (their host is the credential server)
        ("ghcr.io/me/predict:v1", "ghcr.io/me/predict:v1", "ghcr.io/me/predict:v1"),
        (
            "Acme.azurecr.io/predict",
            "Acme.azurecr.io/predict",
            "acme.azurecr.io/predict:latest",
        ),
        ("localhost:5000/predict", "localhost:5000/predict", "localhost:5000/predict:latest"),
    ],
)
def test_short_and_normalised_forms(text: str, short: str, normalized: str) -> None:
    ref = parse_image_ref(text)
    assert ref.aci_image == short == aci_image(text)
    assert ref.normalized == normalized
    assert str(ref) == text  # what the user wrote is kept for build, push and messages


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("myuser/predict:latest", "docker.io/myuser/predict:latest"),
        ("myuser/predict", "index.docker.io/myuser/predict:latest"),
        ("registry-1.docker.io/myuser/predict:v1", "docker.io/myuser/predict:v1"),
        ("busybox", "docker.io/library/busybox:latest"),
        ("library/busybox:1", "index.docker.io/busybox:1"),
        ("ACME.azurecr.io/predict:1", "acme.azurecr.io/predict:1"),
    ],
)
def test_spellings_of_one_image_are_equal(a: str, b: str) -> None:
    assert parse_image_ref(a) == parse_image_ref(b)
    assert hash(parse_image_ref(a)) == hash(parse_image_ref(b))
    assert same_image(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("myuser/predict:v1", "myuser/predict:v2"),
        ("myuser/predict:v1", "otheruser/predict:v1"),
        ("myuser/predict:v1", "ghcr.io/myuser/predict:v1"),
        ("busybox", "myuser/busybox"),
        ("busybox:latest", "busybox@sha256:" + "a" * 64),
        ("localhost:5000/predict", "localhost:5001/predict"),
    ],
)
def test_different_images_differ(a: str, b: str) -> None:
    assert parse_image_ref(a) != parse_image_ref(b)
    assert not same_image(a, b)


def test_unparseable_references_compare_as_written() -> None:
    assert same_image(" Not An Image ", "Not An Image")
    assert not same_image("Not An Image", "myuser/predict")
    assert aci_image("  Not An Image ") == "Not An Image"


def test_the_registry_api_host_and_path() -> None:
    hub = parse_image_ref("docker.io/busybox:1")
    assert (hub.api_host, hub.hub_path) == ("registry-1.docker.io", "library/busybox")
    user = parse_image_ref("myuser/predict")
    assert (user.api_host, user.hub_path) == ("registry-1.docker.io", "myuser/predict")
    own = parse_image_ref("127.0.0.1:5000/predict")
    assert (own.api_host, own.hub_path) == ("127.0.0.1:5000", "predict")


@pytest.mark.parametrize("port", ["0", "65536", "99999", "00"])
def test_a_registry_port_outside_the_range_is_refused(port: str) -> None:
    with pytest.raises(ImageRefError) as caught:
        parse_image_ref(f"registry.example.com:{port}/team/predict:1")
    assert f"port {port} of the registry registry.example.com is out of range" in str(caught.value)
    assert "1 to 65535" in str(caught.value)
    assert check_image(f"registry.example.com:{port}/team/predict:1") == str(caught.value)


@pytest.mark.parametrize("port", ["1", "5000", "65535"])
def test_ports_in_range_are_fine(port: str) -> None:
    assert parse_image_ref(f"registry.example.com:{port}/predict").domain.endswith(port)
