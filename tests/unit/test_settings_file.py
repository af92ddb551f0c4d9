"""The settings file as the user's: a bad value stops a command, nothing the user did not
write lands in it, several models, and files that are not settings files at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerai_aci_wizard import store
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.settings import Settings, coerce

UUID_A = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
UUID_B = "8a6f0c1e-3b2d-4c5e-9f8a-7b6c5d4e3f2a"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- a bad value stops the command ------------------------------------------------------


def test_a_bad_value_in_the_file_is_an_error_naming_file_line_key_and_fix(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[azure]\nlocation = "eastus"\nresource_group = "proj_rg!"\ncontainer_group = "Proj-CG"\n',
    )
    resolved = store.resolve(path, env={})
    assert resolved.settings.azure.resource_group == "numerai-rg"  # what a command would misuse
    with pytest.raises(WizardError) as caught:
        resolved.require_valid()
    err = caught.value
    assert err.exit_code == 2 and err.code == "bad_settings"
    assert f"{path}, line 3: azure.resource_group = \"proj_rg!\": '!' is not allowed" in err.message
    assert f'{path}, line 4: azure.container_group = "Proj-CG": ' in err.message
    assert "must be lowercase" in err.message
    assert "fix the values in" in err.hint and "Nothing was sent to Azure" in err.hint


def test_memory_2_55_is_refused_with_its_reason_and_kept_as_written(tmp_path: Path) -> None:
    text = "# my sizes\n[azure]\nmemory_gb = 2.55 # between 2.5 and 2.6\ncpu = 1\n"
    path = _write(tmp_path, text)
    resolved = store.resolve(path, env={})
    (bad,) = resolved.invalid
    assert (
        str(bad)
        == f"{path}, line 3: azure.memory_gb = 2.55: the memory goes in steps of 0.1 GB (e.g. 2.5)"
    )
    # the wizard may start from it and save other answers: 2.55 stays as the user wrote it
    store.save(resolved.settings, path)
    assert path.read_text(encoding="utf-8") == text  # nothing answered: not even rewritten
    resolved.settings.set("azure.location", "westeurope")
    store.save(resolved.settings, path)
    again = store.load(path)
    assert again.raw_invalid == {"azure.memory_gb": 2.55}
    assert again.settings.azure.location == "westeurope"


def test_an_answer_replaces_an_invalid_value_even_when_it_equals_the_default(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, '[azure]\nresource_group = "proj_rg!"\n')
    settings = store.resolve(path, env={}).settings
    settings.set("azure.resource_group", "numerai-rg")  # typed by the user: the default's text
    store.save(settings, path)
    loaded = store.load(path)
    assert loaded.invalid == [] and loaded.settings.azure.resource_group == "numerai-rg"


def test_an_option_over_a_bad_file_value_is_used_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, '[azure]\nresource_group = "proj_rg!"\n')
    resolved = store.resolve(path, {"azure.resource_group": "proj-rg"}, env={})
    resolved.require_valid()  # the command runs on the option's value, not on a stand-in
    assert resolved.settings.azure.resource_group == "proj-rg"
    assert [w for w in resolved.warnings() if "proj_rg!" in w] == [
        f"{path}, line 2: azure.resource_group = \"proj_rg!\": '!' is not allowed: use letters, "
        "digits, '_', '-', '.', '(' and ')': not used, --resource-group gives the value; "
        "fix it in the file too"
    ]


def test_bad_toml_is_an_error_for_commands(tmp_path: Path) -> None:
    path = _write(tmp_path, '[azure]\nlocation = = "eastus"\n')
    with pytest.raises(WizardError) as caught:
        store.resolve(path, env={}).require_valid()
    assert caught.value.exit_code == 2 and "is not valid TOML" in caught.value.message
    assert "line 2" in caught.value.message


def test_empty_answers_in_a_half_finished_file_are_absent_not_invalid(tmp_path: Path) -> None:
    path = store.save(Settings(), tmp_path / "config.toml")  # what the wizard saves early on
    resolved = store.resolve(path, env={})
    assert resolved.problems() == []
    assert resolved.settings == Settings()


# --- nothing from the environment or options is written back ---------------------------


def test_values_from_env_and_options_are_not_written_back(tmp_path: Path) -> None:
    text = '[azure]\nlocation = "eastus"\ncpu = 1\n'
    path = _write(tmp_path, text)
    env = {
        "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://127.0.0.1:9443",
        "NUMERAI_ACI_AZURE_MEMORY_GB": "4",
        "NUMERAI_MODEL_ID": UUID_A,
    }
    resolved = store.resolve(path, {"azure.cpu": "2"}, env)
    s = resolved.settings
    assert (s.azure.arm_endpoint, s.azure.memory_gb, s.azure.cpu) == (
        "https://127.0.0.1:9443",
        4.0,
        2.0,
    )
    store.save(s.copy(), path)  # e.g. deploy's save: nothing the user answered
    assert path.read_text(encoding="utf-8") == text
    s.set("azure.arm_endpoint", "https://127.0.0.1:9443")  # the wizard's field, unchanged
    s.set("azure.location", "westeurope")  # a real answer
    store.save(s, path)
    saved = store.load(path)
    assert saved.settings.azure.location == "westeurope"
    assert saved.settings.azure.arm_endpoint == ""
    assert (saved.settings.azure.memory_gb, saved.settings.azure.cpu) == (2.0, 1.0)
    assert saved.settings.numerai.model_ids == []
    assert "127.0.0.1" not in path.read_text(encoding="utf-8")


def test_changing_a_value_that_came_from_the_environment_is_an_answer(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    s = store.resolve(path, env={"NUMERAI_ACI_AZURE_LOCATION": "eastus"}).settings
    s.set("azure.location", "westeurope")
    store.save(s, path)
    assert store.load(path).settings.azure.location == "westeurope"


def test_unknown_keys_and_comments_survive_a_save_with_nothing_new(tmp_path: Path) -> None:
    text = '[azure]\nlocation = "eastus" # my region\ncolour = "blue"\n'
    path = _write(tmp_path, text)
    store.save(store.resolve(path, env={}).settings, path)
    assert path.read_text(encoding="utf-8") == text
    s = store.resolve(path, env={}).settings
    s.set("azure.cpu", 2.0)
    store.save(s, path)
    assert "colour" in path.read_text(encoding="utf-8")  # an unknown key is the user's too
    assert store.load(path).settings.azure.cpu == 2.0


# --- several models ---------------------------------------------------------------------


def test_model_ids_list_and_the_old_single_form(tmp_path: Path) -> None:
    got = store.load(_write(tmp_path, f'[numerai]\nmodel_ids = ["{UUID_A}", "{UUID_B}"]\n'))
    assert got.invalid == [] and got.settings.numerai.model_ids == [UUID_A, UUID_B]
    assert got.settings.numerai.model_id == UUID_A  # the first: the webhook's model
    old = store.load(_write(tmp_path, f'[numerai]\nmodel_id = "{UUID_A}"\n'))
    assert old.invalid == [] and old.settings.numerai.model_ids == [UUID_A]
    both = f'[numerai]\nmodel_id = "{UUID_A}"\nmodel_ids = ["{UUID_A}", "{UUID_B}"]\n'
    assert store.load(_write(tmp_path, both)).settings.numerai.model_ids == [UUID_A, UUID_B]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f'model_ids = ["{UUID_A}", "{UUID_A.upper()}"]', "is listed twice"),
        (f'model_ids = ["{UUID_A}", "my_model"]', "model ID 2 (my_model): 'm' is not a hex digit"),
        ("model_ids = [1, 2]", "each model ID in quotes"),
        (f'model_ids = "{UUID_A},"', "an empty entry in the list"),
        ("model_ids = 3", "expected a list of model IDs"),
        (f'model_id = "{UUID_B}"\nmodel_ids = ["{UUID_A}"]', "numerai.model_id = "),
        ('model_id = "nope"', "'n' is not a hex digit"),
    ],
)
def test_bad_model_lists_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    loaded = store.load(_write(tmp_path, f"[numerai]\n{text}\n"))
    (bad,) = loaded.invalid
    assert reason in str(bad) and bad.line is not None


def test_model_ids_from_options_and_environment() -> None:
    assert coerce("numerai.model_ids", [UUID_A, UUID_B]) == ([UUID_A, UUID_B], None)
    assert coerce("numerai.model_ids", f"{UUID_A}, {UUID_B}") == ([UUID_A, UUID_B], None)
    env = {"NUMERAI_MODEL_ID": f"{UUID_A},{UUID_B}"}
    assert store.resolve(Path("/nonexistent/c.toml"), env=env).settings.numerai.model_ids == [
        UUID_A,
        UUID_B,
    ]
    env = {"NUMERAI_ACI_NUMERAI_MODEL_IDS": UUID_B}
    assert store.resolve(Path("/nonexistent/c.toml"), env=env).settings.numerai.model_ids == [
        UUID_B
    ]
    res = store.resolve(Path("/nonexistent/c.toml"), {"numerai.model_ids": [UUID_A, UUID_A]}, {})
    assert res.errors and "listed twice" in res.errors[0] and res.errors[0].startswith("--model-id")


def test_saving_writes_model_ids_in_place_of_the_old_key(tmp_path: Path) -> None:
    path = _write(tmp_path, f'[numerai]\nmodel_id = "{UUID_A}"\n')
    s = store.resolve(path, env={}).settings
    s.set("numerai.model_ids", [UUID_A, UUID_B])
    store.save(s, path)
    text = path.read_text(encoding="utf-8")
    assert "model_id =" not in text and f'"{UUID_B}"' in text
    assert store.load(path).settings.numerai.model_ids == [UUID_A, UUID_B]


def test_the_single_model_field_still_answers_through_its_old_key(tmp_path: Path) -> None:
    s = store.resolve(tmp_path / "c.toml", env={}).settings
    value, reason = coerce("numerai.model_id", f" {UUID_B} ")
    assert reason is None
    s.set("numerai.model_id", value)
    assert s.numerai.model_ids == [UUID_B]
    store.save(s, tmp_path / "c.toml")
    assert store.load(tmp_path / "c.toml").settings.numerai.model_ids == [UUID_B]
    s.numerai.model_ids = [UUID_A, UUID_B]
    s.set("numerai.model_id", UUID_A)  # the wizard's one field, unchanged: the others stay
    assert s.numerai.model_ids == [UUID_A, UUID_B]
    s.set("numerai.model_id", UUID_B)  # the second becomes the first, once
    assert s.numerai.model_ids == [UUID_B]


# --- hostile files ----------------------------------------------------------------------


def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "fifo.toml"
    os.mkfifo(path)
    return path


def _deep_array(tmp_path: Path) -> Path:
    return _write(tmp_path, "[azure]\nlocation = " + "[" * 5000 + "]" * 5000 + "\n")


def _deep_table(tmp_path: Path) -> Path:
    return _write(tmp_path, "[azure]\nlocation = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")


def _deep_header(tmp_path: Path) -> Path:
    return _write(tmp_path, "[azure" + ".a" * 5000 + "]\nx = 1\n")


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big.toml"
    with path.open("wb") as fh:  # sparse: 10 GB on paper, nothing on disk; never read whole
        fh.truncate(10 * 1024**3)
    return path


def _just_over(tmp_path: Path) -> Path:
    return _write(tmp_path, "# " + "x" * store.MAX_SETTINGS_BYTES + "\n")


HOSTILE = {
    "nested 5000 deep (arrays)": (_deep_array, "nested too deeply"),
    "nested 5000 deep (inline tables)": (_deep_table, "nested too deeply"),
    "/dev/zero": (lambda _: Path("/dev/zero"), "it is a device, not a settings file"),
    "a FIFO": (_fifo, "it is a named pipe (FIFO), not a settings file"),
    "10 GB": (_big, "the limit is 1,048,576"),
    "1 MB + 2 bytes": (_just_over, "the limit is 1,048,576"),
    "a directory": (lambda p: p, "it is a folder, not a settings file"),
    "a path under a regular file": (
        lambda p: _write(p, "x = 1\n") / "config.toml",
        "a part of the path is a file, not a folder",
    ),
}


#: a device, a FIFO, a sparse 10 GB file: Linux (NTFS would allocate the 10 GB)
LINUX_ONLY_CASES = {"/dev/zero", "a FIFO", "10 GB"}
HOSTILE_CASES = [
    pytest.param(case, marks=pytest.mark.linux_only) if case in LINUX_ONLY_CASES else case
    for case in HOSTILE
]


@pytest.mark.parametrize("case", HOSTILE_CASES)
def test_hostile_files_are_refused_by_load_with_a_reason(tmp_path: Path, case: str) -> None:
    make, reason = HOSTILE[case]
    path = make(tmp_path)
    if case == "/dev/zero" and not path.exists():
        pytest.skip("no /dev/zero here")
    loaded = store.load(path)
    assert loaded.problem is not None and reason in loaded.problem and str(path) in loaded.problem
    assert loaded.settings == Settings()


@pytest.mark.parametrize(
    "case",
    [
        "nested 5000 deep (arrays)",
        pytest.param("a FIFO", marks=pytest.mark.linux_only),
        "a directory",
        pytest.param("10 GB", marks=pytest.mark.linux_only),
    ],
)
def test_hostile_files_stop_the_real_command_with_exit_2(tmp_path: Path, case: str) -> None:
    make, reason = HOSTILE[case]
    path = make(tmp_path)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NUMERAI_", "AZURE_")) or k == "NUMERAI_ACI_HOME"
    }
    # a hang would be the bug: the timeout only turns it into a failure
    done = subprocess.run(
        [sys.executable, "-m", "numerai_aci_wizard", "destroy", "--yes", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert reason in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_deep_dotted_header_is_only_an_unknown_setting(tmp_path: Path) -> None:
    loaded = store.load(_deep_header(tmp_path))
    assert loaded.problem is None and loaded.invalid == []
    assert any("unknown setting 'azure.a'" in w for w in loaded.warnings)


def test_ten_thousand_unknown_keys_load_with_a_short_summary(tmp_path: Path) -> None:
    lines = [f"k{i} = {i}" for i in range(10_000)]
    path = _write(tmp_path, "[azure]\n" + "\n".join(lines) + '\nlocation = "westeurope"\n')
    loaded = store.load(path)
    assert loaded.settings.azure.location == "westeurope"
    assert len(loaded.warnings) == store.MAX_LISTED_UNKNOWN + 1 and not loaded.wizard_notes
    assert loaded.warnings[0] == f"{path}, line 2: unknown setting 'azure.k0' ignored"
    assert loaded.warnings[-1] == f"{path}: 9,980 more unknown settings ignored"


def test_line_numbers_follow_sections_and_quoted_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[docker]\ncpu = 5\n\n[ azure ]\n# cpu = 1\n"cpu" = 9\n[azure.extra]\nx = 1\n',
    )
    loaded = store.load(path)
    (bad,) = loaded.invalid
    assert (bad.key, bad.line) == ("azure.cpu", 6)
    assert any(
        w.startswith(f"{path}, line 2: unknown setting 'docker.cpu'") for w in loaded.warnings
    )
    assert any(
        w.startswith(f"{path}, line 7: unknown setting 'azure.extra'") for w in loaded.warnings
    )


# --- run state --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[]", "holds list instead of an object"),
        ("null", "holds NoneType instead of an object"),
        ('"text"', "holds str instead of an object"),
        ("{not json", "is not valid JSON"),
        ("\udcff", "is not valid JSON"),
        ("[" * 100_000, "is not valid JSON"),
    ],
    ids=["list", "null", "string", "broken-json", "undecodable", "nested-100000-deep"],
)
def test_a_corrupt_run_state_is_empty_with_a_warning(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    notes: list[str] = []
    assert store.RunState.load(path, notes.append) == store.RunState()
    assert len(notes) == 1 and why in notes[0] and "treated as empty" in notes[0]


def test_a_run_state_that_is_a_folder_is_empty_with_a_warning(tmp_path: Path) -> None:
    notes: list[str] = []
    assert store.RunState.load(tmp_path, notes.append) == store.RunState()
    assert notes and "it is a folder" in notes[0]
    assert store.RunState.load(tmp_path / "missing.json", notes.append) == store.RunState()
    assert len(notes) == 1  # a missing state is simply a first run
