"""The ``[tags]`` settings table: the user's own Azure tags, checked like every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_aci_wizard import plan, store
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.settings import RESERVED_TAGS, Settings, check_tag


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_tags_are_read_kept_and_written_back(tmp_path: Path) -> None:
    path = _file(tmp_path, '[tags]\ncostcenter = "4711"\n"team name" = "research"\n')
    loaded = store.load(path)
    assert loaded.warnings == [] and loaded.invalid == []
    assert loaded.settings.tags == {"costcenter": "4711", "team name": "research"}
    store.save(loaded.settings, path)
    assert store.load(path).settings.tags == {"costcenter": "4711", "team name": "research"}
    assert loaded.settings.copy().tags == loaded.settings.tags


def test_tags_of_settings_built_by_hand_are_saved(tmp_path: Path) -> None:
    s = Settings()
    s.tags = {"owner": "ada"}
    path = store.save(s, tmp_path / "c.toml")
    assert "[tags]" in path.read_text() and store.load(path).settings.tags == {"owner": "ada"}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('"managed-by" = "me"', "the tool's own tag"),
        ('"numerai-aci-wizard-secrets" = "x"', "the tool's own tag"),
        ('"a/b" = "x"', "cannot contain /"),
        ("costcenter = 4711", "value is text"),
        ('costcenter = "' + "x" * 257 + '"', "at most 256"),
    ],
)
def test_a_bad_tag_stops_a_headless_command(tmp_path: Path, line: str, words: str) -> None:
    path = _file(tmp_path, f"[tags]\n{line}\n")
    resolved = store.resolve(path, env={})
    with pytest.raises(WizardError) as caught:
        resolved.require_valid()
    assert caught.value.exit_code == 2
    assert words in caught.value.message and "line 2" in caught.value.message


def test_the_reserved_names_are_the_tools_own_tags() -> None:
    assert set(RESERVED_TAGS) == {plan.MANAGED_BY_TAG, plan.FINGERPRINT_TAG}
    assert check_tag("Managed-By", "x") is not None  # Azure tag names ignore case
    assert check_tag("owner", "ada") is None
