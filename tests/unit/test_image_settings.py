"""The image's Python and the data version: their rules, where they come from, what they build."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_aci_wizard import store
from numerai_aci_wizard.plan import image_action
from numerai_aci_wizard.services.docker_image import context_hash
from numerai_aci_wizard.settings import (
    PYTHON_VERSIONS,
    Settings,
    check_data_version,
    check_python,
)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("3.12", None),
        (" 3.10 ", None),
        ("3.14", None),
        ("3.12.4", "give the minor version only: 3.12"),
        ("python3.11", "give the minor version only: 3.11"),
        ("3.9", "choose one of 3.10, 3.11, 3.12, 3.13, 3.14 (the Python that pickled your model)"),
        ("", "choose one of 3.10, 3.11, 3.12, 3.13, 3.14 (the Python that pickled your model)"),
    ],
)
def test_the_python_setting_takes_a_minor_version_numerai_supports(
    value: str, reason: str | None
) -> None:
    assert check_python(value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", None),
        ("v5.2", None),
        ("v4.3", None),
        ("5.2", "write the data version as Numerai lists it: v5.2"),
        ("V5", "write the data version as Numerai lists it: v5.0"),
        (
            "latest",
            "a data version looks like v5.2 (empty: the newest that has all the model's features)",
        ),
    ],
)
def test_the_data_version_setting_is_empty_or_a_listed_name(value: str, reason: str | None) -> None:
    assert check_data_version(value) == reason


def test_build_args_follow_the_python_and_data_version_and_a_base_image_wins() -> None:
    settings = Settings()
    assert settings.docker.python == "3.12" and "3.10" in PYTHON_VERSIONS
    assert settings.build_args() == {}  # the Dockerfile's own default: python:3.12-slim
    settings.docker.python = "3.11"
    assert settings.build_args() == {"BASE_IMAGE": "python:3.11-slim"}
    settings.numerai.data_version = "v5.0"
    assert settings.build_args() == {"BASE_IMAGE": "python:3.11-slim", "DATA_VERSION": "v5.0"}
    settings.docker.base_image = "registry.example.com/my/python:3.11"
    assert settings.build_args()["BASE_IMAGE"] == "registry.example.com/my/python:3.11"


def test_a_new_python_or_data_version_changes_the_context_hash(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    settings = Settings()
    default = context_hash(tmp_path, build_args=settings.build_args())
    assert default == context_hash(tmp_path)  # default settings: the hash of before
    settings.docker.python = "3.13"
    other_python = context_hash(tmp_path, build_args=settings.build_args())
    settings.numerai.data_version = "v5.2"
    pinned = context_hash(tmp_path, build_args=settings.build_args())
    assert len({default, other_python, pinned}) == 3
    # the base_image keyword alone hashes as before
    assert context_hash(tmp_path, base_image="x/y:1") == context_hash(
        tmp_path, build_args={"BASE_IMAGE": "x/y:1"}
    )


def test_file_env_and_option_set_them_and_a_bad_file_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[numerai]\ndata_version = "v5.0"\n[docker]\npython = "3.11"\n')
    loaded = store.load(path)
    assert loaded.warnings == []
    assert (loaded.settings.docker.python, loaded.settings.numerai.data_version) == ("3.11", "v5.0")
    got = store.resolve(
        path, {"docker.python": "3.13"}, {"NUMERAI_ACI_NUMERAI_DATA_VERSION": "v4.3"}
    ).settings
    assert (got.docker.python, got.numerai.data_version) == ("3.13", "v4.3")

    path.write_text('[docker]\npython = "3.9"\n')
    bad = store.load(path)
    assert any("docker.python" in str(b.key) for b in bad.invalid)
    assert bad.settings.docker.python == "3.12"  # the default stands in until it is fixed


def test_plan_shows_the_python_and_the_pinned_data_version() -> None:
    settings = Settings()
    settings.docker.image = "me/numerai-predict:latest"
    settings.docker.python = "3.11"
    action = image_action(
        settings, last_image="", last_context_hash="", last_digest="", context_hash="sha256:x"
    )
    assert action.reason == "build the image and push it (Python 3.11)"
    settings.numerai.data_version = "v5.0"
    action = image_action(
        settings, last_image="", last_context_hash="", last_digest="", context_hash="sha256:x"
    )
    assert action.reason == "build the image and push it (Python 3.11, data v5.0)"
