"""Bad inputs, field by field: every one is refused with a reason, none becomes a default.

Each input below is written into a real settings file (``[section]`` + ``key = <TOML>``)
and loaded the way every headless command loads it: the command must stop (exit 2) and the
message must name the file, the line, the key and the reason. Inputs that are text are also
given through the field's environment variable (``NUMERAI_ACI_<SECTION>_<KEY>``) and must be
refused there as well. Run-time numbers typed on the command line are tried through the real
argument parser.

=========================  ===============  ==================
field                      file inputs      also via env var
=========================  ===============  ==================
numerai.model_ids          11               7
numerai.model_name         6                5
numerai.register_webhook   6                3
numerai.data_version       6                5
azure.subscription_id      6                5
azure.location             7                6
azure.resource_group       7                5
azure.container_group      9                7
azure.memory_gb            11               5
azure.cpu                  9                5
azure.tenant_id            6                5
azure.cloud                6                4
azure.trigger              6                4
azure.logic_app            7                5
azure.arm_endpoint         6                5
docker.image               10               9
docker.username            5                3
docker.build               6                3
docker.context             5                4
docker.base_image          6                5
docker.pull                6                3
docker.public_image_ok     6                3
docker.python              6                4
run.stop_after_create      6                3
secrets.keyring            6                3
--run-minutes (option)     7                -
logs --tail (option)       5                -
=========================  ===============  ==================

In all: 171 file inputs, 116 environment inputs and 12 option inputs.
Every input in the table is refused, each with a reason (checked by the tests below;
``test_the_table_is_true`` keeps the table and the lists in step).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from numerai_aci_wizard import store
from numerai_aci_wizard.cli import build_parser
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.settings import FIELD_BY_KEY, FIELDS

UUID = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
_BOOL_BAD = ['"maybe"', "1", "0", "2.5", "[true]", '""']

#: field -> TOML literals that must be refused ({nodir}, {file}, {nodockerfile} are paths)
BAD: dict[str, list[str]] = {
    "numerai.model_ids": [
        '[""]',
        f'["{UUID.replace("-", "")}"]',
        f'["{UUID[:-1]}"]',
        f'["{UUID[:-1]}g"]',
        '["my_model"]',
        f'["{UUID}", "{UUID}"]',
        f'"{UUID},,{UUID}"',
        "[1]",
        "3",
        "{ id = 1 }",
        f'[["{UUID}"]]',
    ],
    "numerai.model_name": ['"my model"', f'"{"m" * 101}"', '"model!"', '"modèle"', '"a/b"', "7"],
    "numerai.register_webhook": _BOOL_BAD,
    "numerai.data_version": ['"5.2"', '"latest"', '"v5"', '"v5.2.x"', '" v 5.2"', "5.2"],
    "azure.subscription_id": [
        '"00000000000000000000000000000001"',
        '"0000-0000"',
        '"zzzzzzzz-0000-0000-0000-000000000001"',
        '"000000000-000-0000-0000-000000000001"',
        '"{00000000-0000-0000-0000-00000000001}"',
        "1",
    ],
    "azure.location": [
        '"East US"',
        '"West Europe"',
        '"EASTUS"',
        '"east_us"',
        '"9east"',
        '"ü"',
        "1",
    ],
    "azure.resource_group": [
        '""',
        f'"{"a" * 91}"',
        '"my rg"',
        '"rg/numerai"',
        '"numerai-rg."',
        '"proj_rg!"',
        "1",
    ],
    "azure.container_group": [
        '""',
        '"Proj-CG"',
        '"numerai_predict"',
        '"-numerai"',
        '"numerai-"',
        '"numerai--predict"',
        f'"{"n" * 64}"',
        '"numerai predict"',
        "true",
    ],
    "azure.memory_gb": [
        '""',
        '"lots"',
        "0.4",
        "16.5",
        "2.55",
        "nan",
        "inf",
        "-1",
        "true",
        '"2.55"',
        "[2]",
    ],
    "azure.cpu": ['"one"', "0", "5", "1.25", '"1 2"', "-inf", "false", "[1]", "{ n = 1 }"],
    "azure.tenant_id": [
        '"not a tenant"',
        '"0000-1111"',
        '"contoso"',
        '"https://login.microsoftonline.com/contoso.onmicrosoft.com"',
        '"tenant@contoso.com"',
        "1",
    ],
    "azure.cloud": ['"Azure"', '"public"', '"AzureGermanCloud"', '"azure cloud"', "1", "[]"],
    "azure.trigger": ['""', '"api"', '"managed"', '"API-CONNECTION"', '"identity"', "1"],
    "azure.logic_app": [
        '""',
        f'"{"a" * 44}"',
        '"start aci"',
        '"start/aci"',
        '"startaci!"',
        '"stärtaci"',
        "1",
    ],
    "azure.arm_endpoint": [
        '"http://management.azure.com"',
        '"management.azure.com"',
        '"https://"',
        '"https://man agement"',
        '"ftp://x"',
        "443",
    ],
    "docker.image": [
        '"MyUser/predict:latest"',
        '"https://myuser/predict"',
        '"myuser/predict:"',
        '"myuser/predict:-bad"',
        '"myuser//predict"',
        '"my user/predict"',
        '"myuser/predict@sha256:xyz"',
        '"myuser/pre--_dict"',
        '"bad_host:5000:x/y"',
        "1",
    ],
    "docker.username": ['"my user"', '"a\\tb"', '"x y z"', "1", '["me"]'],
    "docker.build": _BOOL_BAD,
    "docker.context": ['"{nodir}"', '"{file}"', '"{nodockerfile}"', "1", '" {nodir} "'],
    "docker.base_image": [
        '"Python:3.12"',
        '"python:"',
        '"https://python"',
        '"py thon"',
        '"python@md5"',
        "3",
    ],
    "docker.pull": _BOOL_BAD,
    "docker.public_image_ok": _BOOL_BAD,
    "docker.python": ['"3.9"', '"3.12.1"', '"3"', '"python"', '""', "3.12"],
    "run.stop_after_create": _BOOL_BAD,
    "secrets.keyring": _BOOL_BAD,
}

#: run-time numbers typed as options: (subcommand, option) -> values
BAD_OPTIONS: dict[tuple[str, str], list[str]] = {
    ("plan", "--run-minutes"): ["1e308", "inf", "nan", "0", "601", "-5", "soon"],
    ("logs", "--tail"): ["-1", "0", "1.5", "ten", ""],
}


def _paths(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    return {
        "nodir": str(tmp_path / "nope"),
        "file": str(tmp_path / "file"),
        "nodockerfile": str(tmp_path / "empty"),
    }


def _fill(key: str, text: str, tmp_path: Path) -> str:
    return text.format(**_paths(tmp_path)) if key == "docker.context" else text


def _toml_text(literal: str) -> str | None:
    """The text a TOML string literal stands for (None when it is not a plain string)."""
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', literal)
    return m.group(1).replace("\\t", "\t") if m else None


CASES = [(key, literal) for key, literals in BAD.items() for literal in literals]


@pytest.mark.parametrize(("key", "literal"), CASES)
def test_a_bad_file_value_stops_the_command_with_its_reason(
    tmp_path: Path, key: str, literal: str
) -> None:
    section, name = key.split(".")
    value = _fill(key, literal, tmp_path)
    path = tmp_path / "config.toml"
    text = f"# mine\n[{section}]\n{name} = {value}\n"
    path.write_text(text, encoding="utf-8")
    resolved = store.resolve(path, env={})
    with pytest.raises(WizardError) as caught:
        resolved.require_valid()
    message = caught.value.message
    assert caught.value.exit_code == 2
    assert message.startswith(f"{path}, line 3: {key} = "), message
    reason = message.split(": ", 2)[2]
    assert len(reason) > 10  # a reason a user can act on, not a bare "invalid"
    assert key in resolved.loaded.raw_invalid
    store.save(resolved.settings, path)  # the wizard starting from it and saving
    assert path.read_text(encoding="utf-8") == text


#: text that only an environment variable (or an option) can carry: lists and numbers as text
ENV_EXTRA: dict[str, list[str]] = {
    "numerai.model_ids": [
        UUID.replace("-", ""),
        UUID[:-1],
        "my_model",
        f"{UUID},{UUID.upper()}",
        f"{UUID};{UUID}",
        ",",
    ],
    "azure.memory_gb": ["0.4", "16.5", "nan"],
    "azure.cpu": ["0", "5", "1.25"],
    **{key: ["2", "truee"] for key, spec in FIELD_BY_KEY.items() if spec.kind is bool},
}
ENV_CASES = [
    (key, text)
    for key, literal in CASES
    if (text := _toml_text(literal)) is not None and text.strip()
] + [(key, text) for key, texts in ENV_EXTRA.items() for text in texts]


@pytest.mark.parametrize(("key", "text"), ENV_CASES)
def test_a_bad_env_value_is_refused_by_name(tmp_path: Path, key: str, text: str) -> None:
    spec = FIELD_BY_KEY[key]
    text = _fill(key, text, tmp_path)
    resolved = store.resolve(tmp_path / "none.toml", env={spec.default_env: text})
    (error,) = resolved.errors
    assert error.startswith(f"{spec.default_env} = ")
    with pytest.raises(WizardError):
        resolved.require_valid()


OPTION_CASES = [(cmd, opt, v) for (cmd, opt), values in BAD_OPTIONS.items() for v in values]


@pytest.mark.parametrize(("command", "option", "value"), OPTION_CASES)
def test_a_bad_number_option_exits_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], command: str, option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args([command, f"{option}={value}"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err
    assert re.search(r"(minutes|at least 1|whole number)", err), err


def test_every_field_is_tried_at_least_five_ways() -> None:
    assert {f.key for f in FIELDS} == set(BAD)
    assert {k: len(v) for k, v in BAD.items() if len(v) < 5} == {}


def test_the_table_is_true() -> None:
    rows = re.findall(r"^(\S+(?: \S+)*?)\s{2,}(\d+)\s+(\d+|-)$", __doc__ or "", re.MULTILINE)
    table = {name: (int(n), env) for name, n, env in rows}
    env_counts = {key: sum(1 for k, _ in ENV_CASES if k == key) for key in BAD}
    expected = {key: (len(values), str(env_counts[key])) for key, values in BAD.items()}
    for (command, option), values in BAD_OPTIONS.items():
        label = f"{option} (option)" if command == "plan" else f"{command} {option} (option)"
        expected[label] = (len(values), "-")
    assert table == expected
