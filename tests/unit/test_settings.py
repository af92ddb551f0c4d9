"""Every free-text rule: what it rejects (with the reason a user reads) and what it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_aci_wizard import settings as s
from numerai_aci_wizard.image_ref import parse_image_ref

PUBLIC_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
SECRET_KEY = "A" * 32 + "0123456789BCDEFGHIJKLMNOPQRSTUVW"
UUID = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"

REJECTED: dict[str, list[tuple[str, str]]] = {
    "check_public_id": [
        ("", "enter your Numerai public ID"),
        ("   ", "enter your Numerai public ID"),
        (PUBLIC_ID[:-1], "has 32 characters; this has 31"),
        (PUBLIC_ID + "A", "this has 33"),
        (PUBLIC_ID.lower(), "keys are upper case"),
        (PUBLIC_ID[:-1] + "-", "'-' is not allowed"),
        (PUBLIC_ID[:16] + " " + PUBLIC_ID[17:], "' ' is not allowed"),
    ],
    "check_secret_key": [
        ("", "enter your Numerai secret key"),
        (SECRET_KEY[:32], "has 64 characters; this has 32"),
        (SECRET_KEY + "B", "this has 65"),
        (SECRET_KEY[:-1] + "a", "keys are upper case"),
        (SECRET_KEY[:-1] + "$", "'$' is not allowed"),
        (PUBLIC_ID, "this has 32"),
    ],
    "check_model_id": [
        ("", "enter the model ID"),
        (UUID.replace("-", ""), "needs its hyphens"),
        (UUID[:-1], "has 36 characters"),
        (UUID[:-1] + "g", "'g' is not a hex digit"),
        ("2f0c41d70-b1e-4a4b-9a54-1c2d3e4f5a6b", "hyphens are misplaced"),
        ("my_model", "'m' is not a hex digit"),
    ],
    "check_subscription_id": [
        ("", "enter the subscription ID"),
        ("00000000000000000000000000000001", "needs its hyphens"),
        ("0000-0000", "has 36 characters"),
        ("zzzzzzzz-0000-0000-0000-000000000001", "'z' is not a hex digit"),
        ("000000000-000-0000-0000-000000000001", "hyphens are misplaced"),
        ("{00000000-0000-0000-0000-00000000001}", "'{' is not a hex digit"),
    ],
    "check_location": [
        ("", "choose an Azure region"),
        ("East US", "short name: eastus"),
        ("West Europe", "short name: westeurope"),
        ("EASTUS", "short name: eastus"),
        ("east_us", "short name: eastus"),
        ("9east", "lowercase letters and digits"),
        ("ü", "lowercase letters and digits"),
    ],
    "check_resource_group": [
        ("", "enter a resource group name"),
        ("a" * 91, "at most 90 characters; this has 91"),
        ("my rg", "a space is not allowed"),
        ("rg/numerai", "'/' is not allowed"),
        ("numerai-rg.", "cannot end with '.'"),
        ("rg#1", "'#' is not allowed"),
    ],
    "check_container_group": [
        ("", "enter a container instance name"),
        ("Numerai", "must be lowercase"),
        ("numerai_predict", "'_' is not allowed"),
        ("-numerai", "cannot start or end with '-'"),
        ("numerai-", "cannot start or end with '-'"),
        ("numerai--predict", "cannot contain '--'"),
        ("n" * 64, "at most 63 characters; this has 64"),
        ("numerai predict", "a space is not allowed"),
    ],
    "check_logic_app": [
        ("", "enter a Logic App name"),
        ("a" * 44, "at most 43 characters; this has 44"),
        ("start aci", "a space is not allowed"),
        ("start/aci", "'/' is not allowed"),
        ("startaci!", "'!' is not allowed"),
        ("stärtaci", "'ä' is not allowed"),
    ],
    "check_memory": [
        ("", "enter the memory"),
        ("lots", "'lots' is not a number"),
        ("0.4", "between 0.5 and 16 GB"),
        ("16.5", "between 0.5 and 16 GB"),
        ("2.55", "steps of 0.1 GB"),
        ("nan", "is not a number"),
        ("inf", "is not a number"),
        ("-1", "between 0.5 and 16 GB"),
    ],
    "check_cpu": [
        ("", "enter the CPU count"),
        ("one", "'one' is not a number"),
        ("0", "between 0.1 and 4 vCPU"),
        ("5", "between 0.1 and 4 vCPU"),
        ("1.25", "steps of 0.1 vCPU"),
        ("1 2", "is not a number"),
    ],
    "check_image": [
        ("", "enter an image reference"),
        ("MyUser/predict:latest", "'MyUser' must be lowercase"),
        ("https://myuser/predict", "leave out the scheme"),
        ("myuser/predict:", "the tag after ':' is empty"),
        ("myuser/predict:-bad", "tag '-bad' is invalid"),
        ("myuser//predict", "empty component"),
        ("my user/predict", "cannot contain spaces"),
        ("myuser/predict@sha256:xyz", "is not a digest"),
        ("myuser/pre--_dict", "'pre--_dict' is invalid"),
        ("bad_host:5000:x/y", "is not a valid registry"),
    ],
    "check_hub_username": [
        ("", "enter your Docker Hub username"),
        ("me@example.com", "not your e-mail address"),
        ("MyUser", "usernames are lowercase"),
        ("abc", "4-30 characters; this has 3"),
        ("a" * 31, "4-30 characters; this has 31"),
        ("my-user", "only lowercase letters and digits"),
    ],
    "check_registry_username": [
        ("", "enter the registry username"),
        ("  ", "enter the registry username"),
        ("my user", "cannot contain spaces"),
        ("a\tb", "cannot contain spaces"),
        ("x y z", "cannot contain spaces"),
    ],
    "check_password": [
        ("", "enter the registry password"),
        (" ", "enter the registry password"),
        ("\n", "enter the registry password"),
        ("\t \n", "enter the registry password"),
        ("\r\n", "enter the registry password"),
    ],
    "check_model_name": [
        ("my model", "a space is not allowed"),
        ("m" * 101, "at most 100 characters"),
        ("model!", "'!' is not allowed"),
        ("modèle", "'è' is not allowed"),
        ("a/b", "'/' is not allowed"),
    ],
    "check_arm_endpoint": [
        ("http://management.azure.com", "must be an https:// URL"),
        ("management.azure.com", "must be an https:// URL"),
        ("https://", "must look like"),
        ("https://man agement", "must look like"),
        ("ftp://x", "must be an https:// URL"),
    ],
    "check_tenant_id": [
        ("not a tenant", "a tenant id is a GUID"),
        ("contoso", "a tenant id is a GUID"),
        ("0000-0000", "a tenant id is a GUID"),
        ("https://login.microsoftonline.com/x", "a tenant id is a GUID"),
        ("contoso..onmicrosoft.com", "a tenant id is a GUID"),
    ],
    "check_cloud": [
        ("Azure", "choose one of: AzureCloud, AzureUSGovernment, AzureChinaCloud"),
        ("public", "choose one of"),
        ("AzureGermanCloud", "choose one of"),
        ("usgov", "choose one of"),
        ("Azure Cloud", "choose one of"),
    ],
    "check_trigger": [
        ("", "choose one of: api-connection, managed-identity"),
        ("api", "choose one of"),
        ("managed", "choose one of"),
        ("API-CONNECTION", "choose one of"),
        ("identity", "choose one of"),
    ],
    "check_base_image": [
        ("Python:3.12", "'Python' must be lowercase"),
        ("python:", "the tag after ':' is empty"),
        ("https://python", "leave out the scheme"),
        ("py thon", "cannot contain spaces"),
        ("python@md5", "is not a digest"),
    ],
    "check_python": [
        ("3.9", "choose one of 3.10, 3.11, 3.12, 3.13, 3.14"),
        ("", "choose one of"),
        ("3.12.1", "give the minor version only: 3.12"),
        ("py3.11", "give the minor version only: 3.11"),
        ("three", "the Python that pickled your model"),
    ],
    "check_data_version": [
        ("5.2", "write the data version as Numerai lists it: v5.2"),
        ("v5", "as Numerai lists it: v5.0"),
        ("latest", "a data version looks like v5.2"),
        ("v5.2.1", "a data version looks like v5.2"),
        ("v 5.2", "a data version looks like v5.2"),
    ],
}

ACCEPTED: dict[str, list[str]] = {
    "check_public_id": [PUBLIC_ID, f"  {PUBLIC_ID}\n", f"\t{PUBLIC_ID}"],
    "check_secret_key": [SECRET_KEY, f"{SECRET_KEY}\r\n"],
    "check_model_id": [UUID, UUID.upper(), f" {UUID} ", "00000000-0000-0000-0000-000000000000"],
    "check_subscription_id": ["00000000-0000-0000-0000-000000000001", f"{UUID}\n"],
    "check_location": ["eastus", "westeurope", "eastus2", " northeurope "],
    "check_resource_group": ["numerai-rg", "Numerai_RG.(prod)", "a", "a" * 90, "rg-ä"],
    "check_container_group": ["numerai-predict", "a", "n" * 63, "model1-predict-2"],
    "check_logic_app": ["startaci", "Start_ACI.(1)", "a" * 43],
    "check_memory": ["2.5", "0.5", "16", "2", " 4.0 ", "1,5"],
    "check_cpu": ["1", "0.1", "4", "2.5"],
    "check_image": [
        "myuser/numerai-predict:latest",
        "myuser/numerai-predict",
        "ubuntu",
        "docker.io/myuser/predict:v1",
        "localhost:5000/predict",
        "127.0.0.1:5000/team/predict:2026.11",
        "myregistry.azurecr.io/numerai/predict:latest",
        "ghcr.io/me/predict@sha256:" + "a" * 64,
        "  myuser/numerai-predict:latest\n",
    ],
    "check_hub_username": ["myuser", "user1234", " myuser "],
    "check_registry_username": ["myuser", "00000000-0000-0000-0000-000000000000", "me@example.com"],
    "check_password": ["hunter2", " p a s s "],
    "check_model_name": ["", "my_model", "Model-2"],
    "check_arm_endpoint": ["", "https://management.azure.com", "https://127.0.0.1:8443/"],
    "check_trigger": ["api-connection", "managed-identity", " managed-identity "],
    "check_tenant_id": ["", "00000000-0000-0000-0000-0000000000aa", "contoso.onmicrosoft.com"],
    "check_cloud": ["", "AzureCloud", "AzureUSGovernment", "azurechinacloud"],
    "check_base_image": ["", "python:3.12-slim", "localbase/python:3.11-bookworm"],
}


@pytest.mark.parametrize(
    ("check", "value", "reason"),
    [(name, value, reason) for name, cases in REJECTED.items() for value, reason in cases],
)
def test_rejects_with_a_specific_reason(check: str, value: str, reason: str) -> None:
    got = getattr(s, check)(value)
    assert got is not None, f"{check}({value!r}) accepted a bad value"
    assert reason in got


@pytest.mark.parametrize(
    ("check", "value"), [(name, value) for name, values in ACCEPTED.items() for value in values]
)
def test_accepts(check: str, value: str) -> None:
    assert getattr(s, check)(value) is None


def test_every_free_text_rule_has_five_rejections() -> None:
    rules = {f.check.__name__ for f in s.FIELDS if f.kind is str and f.key != "docker.context"}
    rules |= {f.check.__name__ for f in s.SECRET_FIELDS} | {"check_hub_username"}
    rules = {"check_registry_username" if r == "check_username_field" else r for r in rules}
    thin = {r: len(REJECTED.get(r, [])) for r in rules if len(REJECTED.get(r, [])) < 5}
    assert not thin


def test_region_limits_lower_the_maximum() -> None:
    assert s.check_memory("16", maximum=14.0) == "the memory must be between 0.5 and 14 GB"
    assert s.check_cpu("4", maximum=2.0) == "the CPU count must be between 0.1 and 2 vCPU"


def test_context_must_be_a_folder_with_a_dockerfile(tmp_path: Path) -> None:
    assert s.check_context("") is None
    assert "does not exist" in (s.check_context(str(tmp_path / "nope")) or "")
    (tmp_path / "file").write_text("x")
    assert "is a file" in (s.check_context(str(tmp_path / "file")) or "")
    assert "has no Dockerfile" in (s.check_context(str(tmp_path)) or "")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert s.check_context(f" {tmp_path} ") is None


def test_coerce_trims_and_types() -> None:
    assert s.coerce("azure.memory_gb", 4) == (4.0, None)
    assert s.coerce("azure.memory_gb", " 2.5 ") == (2.5, None)
    assert s.coerce("azure.cpu", "1,5") == (1.5, None)
    assert s.coerce("azure.memory_gb", True)[1] == "expected a number"
    assert s.coerce("docker.build", "no") == (False, None)
    assert s.coerce("docker.build", "maybe")[1] == "answer true or false"
    assert s.coerce("numerai.model_id", f" {UUID}\n") == (UUID, None)
    assert s.coerce("azure.location", 3)[1] == "expected text"


def _complete() -> s.Settings:
    cfg = s.Settings()
    cfg.numerai.model_id = UUID
    cfg.azure.subscription_id = "00000000-0000-0000-0000-000000000001"
    cfg.azure.location = "eastus"
    cfg.docker.image = "myuser/numerai-predict:latest"
    cfg.docker.username = "myuser"
    return cfg


def test_validate_a_complete_settings_has_no_problem() -> None:
    assert s.validate(_complete()) == []


def test_validate_names_each_missing_answer() -> None:
    keys = {p.key for p in s.validate(s.Settings())}
    assert keys == {"numerai.model_ids", "azure.subscription_id", "azure.location", "docker.image"}
    cfg = s.Settings()
    cfg.docker.image = "myuser/numerai-predict"
    assert "docker.username" in {p.key for p in s.validate(cfg)}


def test_validate_applies_region_limits_and_names_the_region() -> None:
    cfg = _complete()
    cfg.azure.memory_gb = 16.0
    (problem,) = s.validate(cfg, limits=(14.0, 4.0))
    assert problem.key == "azure.memory_gb"
    assert str(problem) == "Memory (GB): the memory must be between 0.5 and 14 GB in eastus"


def test_validate_docker_hub_needs_a_hub_username_and_own_namespace() -> None:
    cfg = _complete()
    cfg.docker.username = "My.User"
    assert [p.key for p in s.validate(cfg)] == ["docker.username"]
    cfg.docker.username = "myuser"
    cfg.docker.image = "numerai-predict"
    (problem,) = s.validate(cfg)
    assert problem.reason == "push to your own account: myuser/numerai-predict:latest"


def test_validate_other_registries_accept_any_username() -> None:
    cfg = _complete()
    cfg.docker.image = "myregistry.azurecr.io/numerai/predict:latest"
    cfg.docker.username = "00000000-0000-0000-0000-000000000000"
    assert s.validate(cfg) == []


def test_an_existing_public_image_needs_no_username() -> None:
    cfg = _complete()
    cfg.docker.build = False
    cfg.docker.username = ""
    assert s.validate(cfg) == []
    assert not s.needs_registry_login(cfg)


def test_secrets_repr_never_shows_a_value() -> None:
    secrets = s.Secrets(PUBLIC_ID, SECRET_KEY, "hunter2")
    assert PUBLIC_ID not in repr(secrets) and "hunter2" not in repr(secrets)


@pytest.mark.parametrize(
    ("text", "registry", "server", "repository", "tag"),
    [
        ("myuser/predict:latest", "docker.io", "index.docker.io", "myuser/predict", "latest"),
        ("myuser/predict", "docker.io", "index.docker.io", "myuser/predict", "latest"),
        (
            "docker.io/myuser/predict:v2",
            "docker.io",
            "index.docker.io",
            "docker.io/myuser/predict",
            "v2",
        ),
        ("ubuntu", "docker.io", "index.docker.io", "library/ubuntu", "latest"),
        (
            "127.0.0.1:5000/team/predict:1",
            "127.0.0.1:5000",
            "127.0.0.1:5000",
            "127.0.0.1:5000/team/predict",
            "1",
        ),
        (
            "acme.azurecr.io/predict:latest",
            "acme.azurecr.io",
            "acme.azurecr.io",
            "acme.azurecr.io/predict",
            "latest",
        ),
        ("ghcr.io/me/predict", "ghcr.io", "ghcr.io", "ghcr.io/me/predict", "latest"),
        ("localhost/predict", "localhost", "localhost", "localhost/predict", "latest"),
    ],
)
def test_image_ref_names_the_registry(
    text: str, registry: str, server: str, repository: str, tag: str
) -> None:
    ref = parse_image_ref(text)
    assert (ref.registry, ref.credential_server, ref.repository, ref.tag_or_latest) == (
        registry,
        server,
        repository,
        tag,
    )
    assert str(ref) == text


# --- issue 19, point 9: no name that reads as a path step ------------------------------


@pytest.mark.parametrize("name", [".", "..", "...", "startaci."])
def test_a_logic_app_named_like_a_path_step_is_refused(name: str) -> None:
    reason = s.check_logic_app(name)
    assert reason is not None and ("path" in reason or "end with '.'" in reason)


@pytest.mark.parametrize("name", [".", "..", "rg."])
def test_a_resource_group_named_like_a_path_step_is_refused(name: str) -> None:
    assert s.check_resource_group(name) is not None


@pytest.mark.parametrize("name", ["start.aci", "a..b", "(startaci)", ".startaci"])
def test_dots_inside_a_name_are_still_fine(name: str) -> None:
    assert s.check_logic_app(name) is None
