"""The settings file: round trip, no secrets, mode, broken files, precedence; the run state."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from numerai_aci_wizard import redact, store
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.secrets import resolve as resolve_secrets
from numerai_aci_wizard.settings import FIELDS, Settings

PUBLIC_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
SECRET_KEY = "QWERTYUIOPASDFGHJKLZXCVBNM0123456789QWERTYUIOPASDFGHJKLZXCVBNM01"
PASSWORD = "dckr_pat_Sup3rSecretToken"


def _every_field_changed(tmp_path: Path) -> Settings:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    cfg = Settings()
    cfg.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    cfg.numerai.model_name = "my_model"
    cfg.numerai.register_webhook = False
    cfg.numerai.data_version = "v5.0"
    cfg.azure.subscription_id = "00000000-0000-0000-0000-000000000001"
    cfg.azure.location = "westeurope"
    cfg.azure.resource_group = "rg-numerai"
    cfg.azure.container_group = "predict-1"
    cfg.azure.memory_gb = 3.5
    cfg.azure.cpu = 2.0
    cfg.azure.trigger = "managed-identity"
    cfg.azure.logic_app = "start-numerai"
    cfg.azure.arm_endpoint = "https://127.0.0.1:8443"
    cfg.azure.tenant_id = "contoso.onmicrosoft.com"
    cfg.azure.cloud = "AzureUSGovernment"
    cfg.docker.image = "127.0.0.1:5000/team/predict:v2"
    cfg.docker.username = "someone"
    cfg.docker.build = False
    cfg.docker.context = str(tmp_path / "ctx")
    cfg.docker.base_image = "localbase/python:3.11"
    cfg.docker.pull = False
    cfg.docker.public_image_ok = True
    cfg.docker.python = "3.11"
    cfg.run.stop_after_create = False
    cfg.secrets.keyring = True
    return cfg


def test_round_trip_keeps_every_non_secret_field(tmp_path: Path) -> None:
    cfg = _every_field_changed(tmp_path)
    defaults = Settings()
    assert all(cfg.get(f.key) != defaults.get(f.key) for f in FIELDS), (
        "the test must change every field"
    )
    path = store.save(cfg, tmp_path / "c" / "config.toml")
    loaded = store.load(path)
    assert loaded.error is None and loaded.warnings == []
    assert loaded.settings == cfg


def test_no_secret_ever_lands_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DOCKER_PASSWORD", PASSWORD)
    cfg = _every_field_changed(tmp_path)
    found = resolve_secrets(cfg, ["numerai_public_id", "numerai_secret_key", "docker_password"])
    assert found.secrets.values() == [PUBLIC_ID, SECRET_KEY, PASSWORD]
    path = store.save(cfg, tmp_path / "config.toml")
    text = path.read_text()
    for secret in (PUBLIC_ID, SECRET_KEY, PASSWORD):
        assert secret not in text


def test_a_secret_pasted_into_a_setting_is_refused(tmp_path: Path) -> None:
    redact.register(PASSWORD)
    cfg = Settings()
    cfg.numerai.model_name = PASSWORD
    with pytest.raises(ValueError, match="refusing to write a secret"):
        store.save(cfg, tmp_path / "config.toml")
    assert not (tmp_path / "config.toml").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.linux_only  # POSIX file modes
def test_file_is_private_and_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config.toml"
    store.save(Settings(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.save(Settings(), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]  # no temp file left


def test_default_location_is_under_numerai_aci_home_when_it_is_set() -> None:
    path = store.save(Settings())
    assert path == Path(os.environ["NUMERAI_ACI_HOME"]) / "config" / "config.toml"
    assert store.load().exists


def test_without_numerai_aci_home_the_files_live_in_the_os_user_folders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platformdirs import user_config_path, user_state_path

    monkeypatch.delenv("NUMERAI_ACI_HOME")
    app = "numerai-aci-wizard"
    assert store.default_config_path() == (
        user_config_path(app, appauthor=False, roaming=True) / "config.toml"
    )
    assert store.state_dir() == user_state_path(app, appauthor=False)


def test_design_example_file_loads_with_integer_numbers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[numerai]\nmodel_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"\n'
        '[azure]\nmemory_gb = 4\ncpu = 2\ntrigger = "managed-identity"\n'
        '[docker]\nimage = "myuser/numerai-predict:latest"\n'
    )
    loaded = store.load(path)
    assert loaded.warnings == []
    assert (loaded.settings.azure.memory_gb, loaded.settings.azure.cpu) == (4.0, 2.0)
    assert isinstance(loaded.settings.azure.memory_gb, float)


def test_broken_toml_names_the_line_and_starts_from_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[azure]\nlocation = "eastus"\nmemory_gb = = 2\n')
    loaded = store.load(path)
    assert loaded.settings == Settings()
    assert loaded.error is not None and "line 3" in loaded.error and str(path) in loaded.error


def test_bad_value_names_its_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[azure]\nlocation = "eastus"\n\nmemory_gb = "lots"\ncpu = 2\n')
    loaded = store.load(path)
    assert loaded.settings.azure.location == "eastus" and loaded.settings.azure.cpu == 2.0
    (note,) = loaded.warnings  # the wizard starts anyway and shows it; a command stops on it
    assert note == loaded.wizard_notes[0] and "line 4" in note and "until it is fixed" in note
    (bad,) = loaded.invalid
    assert str(bad) == f"{path}, line 4: azure.memory_gb = \"lots\": 'lots' is not a number"
    assert loaded.raw_invalid == {"azure.memory_gb": "lots"}


def test_unknown_keys_warn_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[azure]\nlocation = "eastus"\ncolour = "blue"\n[extra]\nx = 1\n')
    loaded = store.load(path)
    assert loaded.error is None and loaded.settings.azure.location == "eastus"
    assert any("line 3" in w and "azure.colour" in w for w in loaded.warnings)
    assert any("extra.x" in w for w in loaded.warnings)


def test_unreadable_file_still_starts(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[azure]")
    loaded = store.load(path)
    assert loaded.settings == Settings()
    assert loaded.problem == f"the settings file {path} is not UTF-8 text (byte 1)"
    assert loaded.error == f"{loaded.problem}; starting from the defaults"  # what the wizard says


def test_precedence_cli_over_env_over_file_over_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[azure]\nlocation = "westeurope"\nmemory_gb = 3\ncpu = 2\n')
    env = {
        "NUMERAI_ACI_AZURE_MEMORY_GB": "4",
        "NUMERAI_ACI_AZURE_CPU": "3",
        "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://127.0.0.1:9",
    }
    got = store.resolve(path, {"azure.cpu": "1.5", "azure.location": None}, env).settings
    assert got.azure.location == "westeurope"  # file
    assert got.azure.memory_gb == 4.0  # env over file
    assert got.azure.cpu == 1.5  # command line over env
    assert got.azure.arm_endpoint == "https://127.0.0.1:9"  # the documented variable
    assert got.azure.resource_group == "numerai-rg"  # default


def test_bad_cli_or_env_values_are_reported_by_name(tmp_path: Path) -> None:
    res = store.resolve(
        tmp_path / "none.toml", {"azure.memory_gb": "99"}, {"NUMERAI_ACI_AZURE_CPU": "x"}
    )
    assert res.errors == [
        "NUMERAI_ACI_AZURE_CPU = 'x': 'x' is not a number",
        "--memory = '99': the memory must be between 0.5 and 16 GB",
    ]


def test_run_state_round_trip_and_is_per_config(tmp_path: Path) -> None:
    a = store.state_path(tmp_path / "a.toml")
    assert a != store.state_path(tmp_path / "b.toml")
    assert store.state_path(store.default_config_path()).name == "state.json"
    st = store.RunState(image="x/y:1", context_hash="abc", digest="sha256:" + "0" * 64)
    st.save(a)
    assert store.RunState.load(a) == st
    a.write_text("{not json")
    assert store.RunState.load(a) == store.RunState()


# --- issue 19: unknown keys name the nearest known one ---------------------------------


@pytest.mark.parametrize(
    ("section", "name", "meant"),
    [
        ("azure", "container_grup", "azure.container_group"),
        ("azure", "resource_grup", "azure.resource_group"),
        ("azure", "logicapp", "azure.logic_app"),
        ("", "resource_group", "azure.resource_group"),  # written above [azure]
        ("docker", "location", "azure.location"),  # in the wrong table
        ("azur", None, "azure"),  # a table's name misspelt
        ("azure", "zzzz", ""),
    ],
)
def test_an_unknown_key_is_matched_to_the_nearest_known_one(
    section: str, name: str | None, meant: str
) -> None:
    assert store.nearest_key(section, name) == meant


def test_unknown_keys_are_kept_with_their_line_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'resource_group = "mine"\n[azure]\nlocation = "eastus"\ncontainer_grup = "my-cg"\n'
        "[azur]\nx = 1\n"
    )
    loaded = store.load(path)
    told = {u.key: (u.line, u.did_you_mean) for u in loaded.unknown}
    assert told == {
        "resource_group": (1, "did you mean `resource_group` under `[azure]`?"),
        "azure.container_grup": (4, "did you mean `container_group`?"),
        "azur.x": (6, "did you mean `[azure]`?"),
    }
    resolved = store.resolve(path, env={})
    resolved.require_valid()  # a command that only reads goes on (with warnings)
    with pytest.raises(WizardError) as caught:
        resolved.require_valid(acting=True)
    assert caught.value.exit_code == 2 and caught.value.code == "bad_settings"
    assert "3 settings are not valid" in caught.value.message
    assert "did you mean `container_group`?" in caught.value.message
    assert resolved.warnings(acting=True) == []
    assert len(resolved.warnings()) == 3


def test_a_save_that_cannot_replace_the_file_names_the_settings_file_not_a_temporary_one(
    tmp_path: Path,
) -> None:
    from numerai_aci_wizard.events import describe

    target = tmp_path / "config.toml"
    target.mkdir()  # a folder has the file's name: the write beside it cannot replace it
    with pytest.raises(OSError) as caught:
        store.save(Settings(), target)
    error = describe(caught.value)
    assert error.message.endswith(f": {target})") and ".tmp" not in error.message
    assert error.hint == "check the path and its permissions, then run again"
