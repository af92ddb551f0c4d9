"""Every answer the wizard asks for, as one typed model, and the rule for each.

Pure on purpose: the wizard's inputs, the headless CLI and the settings loader all call
the same ``check_*`` functions (``str -> reason | None``), so a value is judged by one
rule wherever it was typed. Values are trimmed before they are judged: a key pasted
with a trailing newline is accepted, not rejected.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .clouds import CLOUD_NAMES, check_cloud, check_tenant_id, cloud
from .image_ref import ImageRefError, parse_image_ref

Check = Callable[[str], "str | None"]
TriggerMode = Literal["api-connection", "managed-identity"]
TRIGGER_MODES: tuple[str, ...] = ("api-connection", "managed-identity")
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"

MEMORY_MIN_GB, MEMORY_MAX_GB = 0.5, 16.0
CPU_MIN, CPU_MAX = 0.1, 4.0
#: The image's Python minor versions: those Numerai's runner (numerai-predict) builds images for
#: and image/requirements.txt has wheels for. A cloudpickled model loads only under its own.
PYTHON_VERSIONS: tuple[str, ...] = ("3.10", "3.11", "3.12", "3.13", "3.14")
DEFAULT_PYTHON = "3.12"  # the bundled Dockerfile's default base: python:3.12-slim

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_KEY_CHARS_RE = re.compile(r"^[A-Z0-9]+$")
_LOCATION_RE = re.compile(r"^[a-z][a-z0-9]{1,39}$")
_HUB_USER_RE = re.compile(r"^[a-z0-9]{4,30}$")
_WORKFLOW_RE = re.compile(r"^[A-Za-z0-9_.()-]+$")


def clean(value: str) -> str:
    """What every rule sees: the value without pasted whitespace around it."""
    return value.strip()


# --- Numerai ---------------------------------------------------------------------------


def _check_numerai_key(value: str, label: str, length: int) -> str | None:
    v = clean(value)
    if not v:
        return f"enter your Numerai {label} (numer.ai > Account > API keys)"
    if len(v) != length:
        return f"a Numerai {label} has {length} characters; this has {len(v)}"
    if not _KEY_CHARS_RE.match(v):
        bad = next(c for c in v if not ("A" <= c <= "Z" or "0" <= c <= "9"))
        hint = " (keys are upper case)" if bad.isalpha() else ""
        return f"'{bad}' is not allowed: a {label} has only capital letters A-Z and digits{hint}"
    return None


def check_public_id(value: str) -> str | None:
    return _check_numerai_key(value, "public ID", 32)


def check_secret_key(value: str) -> str | None:
    return _check_numerai_key(value, "secret key", 64)


def _check_uuid(value: str, what: str, where: str) -> str | None:
    v = clean(value)
    if not v:
        return f"enter the {what} ({where})"
    if _UUID_RE.match(v):
        return None
    if re.fullmatch(r"[0-9a-fA-F]{32}", v):
        return f"the {what} needs its hyphens: 8-4-4-4-12 hex digits"
    bad = next((c for c in v if c not in "0123456789abcdefABCDEF-"), None)
    if bad is not None:
        return f"'{bad}' is not a hex digit: a {what} looks like 8-4-4-4-12 hex digits"
    if len(v) != 36:
        return f"a {what} has 36 characters (8-4-4-4-12 hex digits); this has {len(v)}"
    return f"the hyphens are misplaced: a {what} looks like 8-4-4-4-12 hex digits"


def check_model_id(value: str) -> str | None:
    return _check_uuid(value, "model ID", "numer.ai > Models > the model's ... menu > Copy ID")


def check_model_ids(value: str) -> str | None:
    """One or more model IDs, comma-separated (how the environment and the wizard type a list)."""
    v = clean(value)
    if not v:
        return check_model_id(v)
    parts = [clean(p) for p in v.split(",")]
    if any(not p for p in parts):
        return "an empty entry in the list: separate model IDs with single commas"
    seen: set[str] = set()
    for number, part in enumerate(parts, start=1):
        if reason := check_model_id(part):
            return reason if len(parts) == 1 else f"model ID {number} ({part}): {reason}"
        if part.lower() in seen:
            return f"model ID {part} is listed twice: list each model once"
        seen.add(part.lower())
    return None


def split_model_ids(value: str) -> list[str]:
    """The IDs a ``check_model_ids``-approved text stands for, in the order given."""
    return [clean(p) for p in value.split(",") if clean(p)]


def check_data_version(value: str) -> str | None:
    """Empty: per model, the newest version with all its features; else a version like v5.2."""
    v = clean(value)
    if not v or re.fullmatch(r"v\d+\.\d+", v):
        return None
    if re.fullmatch(r"[Vv]?\d+(\.\d+)?", v):
        number = v.lstrip("vV")
        return f"write the data version as Numerai lists it: v{number if '.' in number else number + '.0'}"
    return "a data version looks like v5.2 (empty: the newest that has all the model's features)"


def check_model_name(value: str) -> str | None:
    """Display only, so loose: what Numerai shows (letters, digits, '_'), at most 100 characters."""
    v = clean(value)
    if len(v) > 100:
        return f"a model name has at most 100 characters; this has {len(v)}"
    bad = next((c for c in v if not (c.isascii() and (c.isalnum() or c in "_-"))), None)
    if bad is not None:
        shown = "a space" if bad == " " else f"'{bad}'"
        return f"{shown} is not allowed: Numerai model names use letters, digits and '_'"
    return None


# --- Azure -----------------------------------------------------------------------------


def check_subscription_id(value: str) -> str | None:
    return _check_uuid(value, "subscription ID", "portal.azure.com > Subscriptions")


def check_location(value: str) -> str | None:
    v = clean(value)
    if not v:
        return "choose an Azure region, e.g. eastus or westeurope"
    if _LOCATION_RE.match(v):
        return None
    short = re.sub(r"[^a-z0-9]", "", v.lower())
    if short != v and _LOCATION_RE.match(short):
        return f"use the region's short name: {short}"
    return "a region's name is lowercase letters and digits, e.g. eastus or westeurope"


def _path_like(v: str, what: str) -> str | None:
    """A name that is a path step (``.``, ``..``) or ends like one: in a request's URL it
    would name a parent path, not a resource (requests went there after others were made)."""
    if v.strip(".") == "":
        return f"'{v}' is not a {what} name: it reads as a folder in a path"
    if v.endswith("."):
        return f"a {what} name cannot end with '.'"
    return None


def check_resource_group(value: str) -> str | None:
    v = clean(value)
    if not v:
        return "enter a resource group name, e.g. numerai-rg"
    if reason := _path_like(v, "resource group"):
        return reason
    if len(v) > 90:
        return f"a resource group name has at most 90 characters; this has {len(v)}"
    bad = next((c for c in v if not (c.isalnum() or c in "_-.()")), None)
    if bad is not None:
        shown = "a space" if bad == " " else f"'{bad}'"
        return f"{shown} is not allowed: use letters, digits, '_', '-', '.', '(' and ')'"
    if v.endswith("."):
        return "a resource group name cannot end with '.'"
    return None


def check_container_group(value: str) -> str | None:
    v = clean(value)
    if not v:
        return "enter a container instance name, e.g. numerai-predict"
    if len(v) > 63:
        return f"a container instance name has at most 63 characters; this has {len(v)}"
    if v != v.lower():
        return "a container instance name must be lowercase"
    bad = next((c for c in v if not (c.isascii() and (c.isalnum() or c == "-"))), None)
    if bad is not None:
        shown = "a space" if bad == " " else f"'{bad}'"
        return f"{shown} is not allowed: use lowercase letters, digits and '-'"
    if v.startswith("-") or v.endswith("-"):
        return "a container instance name cannot start or end with '-'"
    if "--" in v:
        return "a container instance name cannot contain '--'"
    return None


def check_logic_app(value: str) -> str | None:
    v = clean(value)
    if not v:
        return "enter a Logic App name, e.g. startaci"
    if len(v) > 43:
        return f"a Logic App name has at most 43 characters; this has {len(v)}"
    if not _WORKFLOW_RE.match(v):
        bad = next(c for c in v if not (c.isascii() and (c.isalnum() or c in "_.()-")))
        shown = "a space" if bad == " " else f"'{bad}'"
        return f"{shown} is not allowed: use letters, digits, '-', '_', '.', '(' and ')'"
    return _path_like(v, "Logic App")


def _check_decimal(value: str, what: str, unit: str, low: float, high: float) -> str | None:
    v = clean(value)
    if not v:
        return f"enter the {what}, e.g. {low:g}-{high:g}{unit}"
    try:
        number = float(v.replace(",", ".")) if v.count(",") == 1 and "." not in v else float(v)
    except ValueError:
        return f"'{v}' is not a number"
    if math.isnan(number) or math.isinf(number):
        return f"'{v}' is not a number"
    if number < low or number > high:
        return f"the {what} must be between {low:g} and {high:g}{unit}"
    if abs(round(number, 1) - number) > 1e-9:
        return f"the {what} goes in steps of 0.1{unit} (e.g. {round(number, 1):g})"
    return None


def check_memory(value: str, maximum: float = MEMORY_MAX_GB) -> str | None:
    """Memory in GB. ``maximum`` is the region's real limit once known."""
    return _check_decimal(value, "memory", " GB", MEMORY_MIN_GB, maximum)


def check_cpu(value: str, maximum: float = CPU_MAX) -> str | None:
    return _check_decimal(value, "CPU count", " vCPU", CPU_MIN, maximum)


def parse_decimal(value: str | float) -> float:
    """The number a ``check_memory``/``check_cpu``-approved text stands for."""
    if isinstance(value, int | float):
        return float(value)
    v = clean(value)
    return float(v.replace(",", ".")) if v.count(",") == 1 and "." not in v else float(v)


RUN_MINUTES_MIN, RUN_MINUTES_MAX = 1.0, 600.0


def check_run_minutes(value: str) -> str | None:
    """How long one run takes, for the cost estimate (typed on the command line or in the wizard)."""
    v = clean(value)
    try:
        minutes = float(v.replace(",", ".")) if v.count(",") == 1 and "." not in v else float(v)
    except ValueError:
        return f"'{v}' is not a number of minutes"
    if not math.isfinite(minutes):
        return f"'{v}' is not a number of minutes"
    if not RUN_MINUTES_MIN <= minutes <= RUN_MINUTES_MAX:
        return f"a run takes between {RUN_MINUTES_MIN:g} and {RUN_MINUTES_MAX:g} minutes"
    return None


def check_positive_int(value: str, what: str = "number") -> str | None:
    """A count the user types (e.g. ``logs --tail``): a whole number, at least 1."""
    v = clean(value)
    try:
        number = int(v)
    except ValueError:
        return f"'{v}' is not a whole number: give the {what} as 1, 2, 3 ..."
    if number < 1:
        return f"the {what} must be at least 1"
    return None


def check_trigger(value: str) -> str | None:
    v = clean(value)
    if v in TRIGGER_MODES:
        return None
    return f"choose one of: {', '.join(TRIGGER_MODES)}"


def check_arm_endpoint(value: str) -> str | None:
    v = clean(value)
    if not v:
        return None
    if not v.startswith("https://"):
        return "the ARM endpoint must be an https:// URL (Azure refuses tokens over http)"
    host = v[len("https://") :].split("/", 1)[0]
    if not host or any(c.isspace() for c in v):
        return "the ARM endpoint must look like https://management.azure.com"
    return None


# --- Docker ----------------------------------------------------------------------------


def check_image(value: str) -> str | None:
    try:
        parse_image_ref(value)
    except ImageRefError as exc:
        return str(exc)
    return None


def check_hub_username(value: str) -> str | None:
    """A Docker Hub account name (4-30 lowercase letters and digits)."""
    v = clean(value)
    if not v:
        return "enter your Docker Hub username"
    if "@" in v:
        return "use your Docker Hub username, not your e-mail address"
    if v != v.lower() and _HUB_USER_RE.match(v.lower()):
        return "Docker Hub usernames are lowercase"
    if not 4 <= len(v) <= 30:
        return f"a Docker Hub username has 4-30 characters; this has {len(v)}"
    if not _HUB_USER_RE.match(v):
        return "a Docker Hub username has only lowercase letters and digits"
    return None


def check_registry_username(value: str) -> str | None:
    """A username for any other registry (ACR, GHCR, self-hosted): only non-empty."""
    v = clean(value)
    if not v:
        return "enter the registry username"
    if any(c.isspace() for c in v):
        return "a registry username cannot contain spaces"
    return None


def check_username_field(value: str) -> str | None:
    """The saved username: may be empty (a public image); who needs it is judged in validate()."""
    return check_registry_username(value) if clean(value) else None


def check_password(value: str) -> str | None:
    return None if clean(value) else "enter the registry password or access token"


def check_base_image(value: str) -> str | None:
    """Empty keeps the Dockerfile's default base; else any image reference."""
    return check_image(value) if clean(value) else None


def check_python(value: str) -> str | None:
    """The image's Python minor version: one Numerai's runner supports."""
    v = clean(value)
    if v in PYTHON_VERSIONS:
        return None
    minor = re.fullmatch(r"(?:python|py)?\s*(3\.\d+)(?:\.\d+)?", v, re.IGNORECASE)
    if minor and minor.group(1) in PYTHON_VERSIONS:
        return f"give the minor version only: {minor.group(1)}"
    return f"choose one of {', '.join(PYTHON_VERSIONS)} (the Python that pickled your model)"


def check_context(value: str) -> str | None:
    """Empty means the bundled image/; else a folder holding a Dockerfile."""
    v = clean(value)
    if not v:
        return None
    path = Path(v).expanduser()
    if not path.exists():
        return f"the folder {v} does not exist"
    if not path.is_dir():
        return f"{v} is a file; give the folder that holds the Dockerfile"
    if not (path / "Dockerfile").is_file():
        return f"{v} has no Dockerfile"
    return None


# --- The model -------------------------------------------------------------------------


@dataclass
class NumeraiSettings:
    """The ``[numerai]`` table: the models the webhook serves."""

    model_ids: list[str] = field(default_factory=list)
    model_name: str = ""
    register_webhook: bool = True
    #: empty: per model, the newest listed version whose features.json has all its features
    data_version: str = ""

    @property
    def model_id(self) -> str:
        """The first model: the one whose webhook starts the run (and the old one-model setting)."""
        return self.model_ids[0] if self.model_ids else ""

    @model_id.setter
    def model_id(self, value: str) -> None:
        """Replace the first model (a one-model form edits it), keeping the others."""
        v = clean(value)
        rest = [m for m in self.model_ids[1:] if m.lower() != v.lower()]
        self.model_ids = [v, *rest] if v else rest


@dataclass
class AzureSettings:
    """The ``[azure]`` table: where the container group runs and how big it is."""

    subscription_id: str = ""
    location: str = ""
    resource_group: str = "numerai-rg"
    container_group: str = "numerai-predict"
    memory_gb: float = 2.0
    cpu: float = 1.0
    trigger: str = "api-connection"
    logic_app: str = "startaci"
    arm_endpoint: str = ""
    #: empty: the subscription's own tenant
    tenant_id: str = ""
    cloud: str = "AzureCloud"

    @property
    def endpoint(self) -> str:
        return (self.arm_endpoint or cloud(self.cloud).arm_endpoint).rstrip("/")


@dataclass
class DockerSettings:
    """The ``[docker]`` table: the prediction image and the registry account."""

    image: str = ""
    username: str = ""
    build: bool = True
    context: str = ""
    base_image: str = ""
    pull: bool = True
    #: pushing the models into a public repository is what the user wants (else refused)
    public_image_ok: bool = False
    #: the image's Python minor version (a cloudpickled model needs the one that made it)
    python: str = DEFAULT_PYTHON


@dataclass
class RunSettings:
    """The ``[run]`` table: how deploy leaves the container group."""

    stop_after_create: bool = True


@dataclass
class SecretsSettings:
    """The ``[secrets]`` table: whether secrets may be kept in the OS keyring."""

    keyring: bool = False


SECTIONS: tuple[str, ...] = ("numerai", "azure", "docker", "run", "secrets")

#: The ``[tags]`` table: the user's own Azure tags, added to every resource the tool creates.
TAGS_SECTION = "tags"
#: Tags the tool itself sets (plan.MANAGED_BY_TAG, plan.FINGERPRINT_TAG): never the user's.
RESERVED_TAGS = ("managed-by", "numerai-aci-wizard-secrets")
MAX_USER_TAGS = 48  # Azure allows 50 tags a resource; the tool sets up to two
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def check_tag(name: str, value: Any) -> str | None:
    """Azure's rules for a tag (name up to 512 characters without < > % & \\ ? /, a text
    value up to 256), plus: the tool's own tags are not the user's to set."""
    if not name.strip():
        return "a tag needs a name"
    if len(name) > 512:
        return "a tag name has at most 512 characters"
    if bad := sorted(set(name) & _TAG_NAME_FORBIDDEN):
        return f"a tag name cannot contain {' '.join(bad)}"
    if name.lower() in RESERVED_TAGS:
        return f"'{name}' is the tool's own tag (it marks what the tool created)"
    if not isinstance(value, str):
        return "a tag's value is text, in quotes"
    if len(value) > 256:
        return "a tag value has at most 256 characters"
    return None


#: Keys the file may still use for a setting that has a new name (old name -> key).
ALIASES: dict[str, str] = {"numerai.model_id": "numerai.model_ids"}


@dataclass
class Provenance:
    """Where the values came from, so saving writes back only what is the user's.

    ``store.load``/``store.resolve`` fill it; ``Settings.set`` records an answer the user
    gave (in the wizard). Saving then writes the file's own values (invalid ones as the
    user wrote them) plus the answers, never a value from an option or the environment
    and never a default standing in for a broken value. Code that builds a ``Settings``
    by hand is not ``tracked``: all of it is saved.
    """

    #: the settings file as parsed (every section and key, unknown or invalid ones too)
    file_data: dict[str, Any] = field(default_factory=dict)
    #: setting key -> (TOML section, TOML key) for each setting the file holds
    file_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: keys whose value in the file was refused (the in-memory value is not the file's)
    invalid: set[str] = field(default_factory=set)
    #: key -> the option or environment variable its value came from
    overrides: dict[str, str] = field(default_factory=dict)
    #: keys the user answered (in the wizard) since loading
    answered: set[str] = field(default_factory=set)
    #: set by loading: save writes only the file's own values and the answers, nothing else
    tracked: bool = False

    def copy(self) -> Provenance:
        return Provenance(
            file_data=_deep_copy(self.file_data),
            file_keys=dict(self.file_keys),
            invalid=set(self.invalid),
            overrides=dict(self.overrides),
            answered=set(self.answered),
            tracked=self.tracked,
        )


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)


@dataclass
class Settings:
    """Every non-secret answer. Secrets live in :class:`Secrets` and are never saved."""

    numerai: NumeraiSettings = field(default_factory=NumeraiSettings)
    azure: AzureSettings = field(default_factory=AzureSettings)
    docker: DockerSettings = field(default_factory=DockerSettings)
    run: RunSettings = field(default_factory=RunSettings)
    secrets: SecretsSettings = field(default_factory=SecretsSettings)
    provenance: Provenance = field(default_factory=Provenance, compare=False, repr=False)
    #: ``[tags]``: the user's own tags on every resource the tool creates
    tags: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        section, name = key.split(".")
        return getattr(getattr(self, section), name)

    def set(self, key: str, value: Any) -> None:
        """An answer the user gave: saved later, unless it merely confirms a value that came
        from an option or the environment (those are never written back)."""
        canonical = ALIASES.get(key, key)
        prov = self.provenance
        confirms_override = canonical in prov.overrides and self.get(key) == value
        if not confirms_override or canonical in prov.invalid:
            prov.answered.add(canonical)
        self.assign(key, value)

    def assign(self, key: str, value: Any) -> None:
        """Put a value in place without counting it as the user's answer (loading, resolving)."""
        section, name = key.split(".")
        setattr(getattr(self, section), name, value)

    def copy(self) -> Settings:
        sections = {
            name: replace(getattr(self, name), **_list_copies(getattr(self, name)))
            for name in SECTIONS
        }
        return Settings(**sections, provenance=self.provenance.copy(), tags=dict(self.tags))

    def build_args(self) -> dict[str, str]:
        """The image's build arguments: ``BASE_IMAGE`` (the base_image setting, else
        python:3.X-slim when the Python is not the Dockerfile's default) and ``DATA_VERSION``.
        Only what differs from the Dockerfile's defaults, so a context of the user's own keeps
        its own base unless a setting asks for another."""
        args: dict[str, str] = {}
        base, python = clean(self.docker.base_image), clean(self.docker.python)
        if base:
            args["BASE_IMAGE"] = base
        elif python and python != DEFAULT_PYTHON:
            args["BASE_IMAGE"] = f"python:{python}-slim"
        if clean(self.numerai.data_version):
            args["DATA_VERSION"] = clean(self.numerai.data_version)
        return args

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                g.name: _plain(getattr(getattr(self, name), g.name))
                for g in fields(getattr(self, name))
            }
            for name in SECTIONS
        }


def _list_copies(section: Any) -> dict[str, Any]:
    return {
        f.name: list(v) for f in fields(section) if isinstance(v := getattr(section, f.name), list)
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


@dataclass
class Secrets:
    """Values that are never written anywhere: held in memory only."""

    numerai_public_id: str = ""
    numerai_secret_key: str = ""
    docker_password: str = ""

    def values(self) -> list[str]:
        return [
            v for v in (self.numerai_public_id, self.numerai_secret_key, self.docker_password) if v
        ]

    def __repr__(self) -> str:  # never print a secret by accident
        shown = {f.name: ("***" if getattr(self, f.name) else "") for f in fields(self)}
        return f"Secrets({shown})"


@dataclass(frozen=True)
class Field:
    """One setting: where it lives, how it is typed in, which rule judges it."""

    key: str
    label: str
    kind: type
    check: Check
    flag: str
    env: tuple[str, ...]
    help: str
    choices: tuple[str, ...] = ()

    @property
    def default_env(self) -> str:
        return "NUMERAI_ACI_" + self.key.replace(".", "_").upper()

    @property
    def envs(self) -> tuple[str, ...]:
        return (*self.env, self.default_env)


def _bool_check(value: str) -> str | None:
    return None if clean(value).lower() in _BOOLS else "answer true or false"


_BOOLS = {
    "true": True,
    "yes": True,
    "1": True,
    "on": True,
    "false": False,
    "no": False,
    "0": False,
    "off": False,
}

FIELDS: tuple[Field, ...] = (
    Field(
        "numerai.model_ids",
        "Numerai model IDs",
        list,
        check_model_ids,
        "--model-id",
        ("NUMERAI_MODEL_ID",),
        "a model's UUID (numer.ai > Models); repeat for several models (or comma-separate them)",
    ),
    Field(
        "numerai.model_name",
        "Model name",
        str,
        check_model_name,
        "--model-name",
        (),
        "display only",
    ),
    Field(
        "numerai.register_webhook",
        "Register the webhook with Numerai",
        bool,
        _bool_check,
        "--register-webhook",
        (),
        "set the model's compute webhook to the Logic App's URL",
    ),
    Field(
        "numerai.data_version",
        "Data version",
        str,
        check_data_version,
        "--data-version",
        (),
        "e.g. v5.2 for every model; empty: per model, the newest with all its features",
    ),
    Field(
        "azure.subscription_id",
        "Azure subscription ID",
        str,
        check_subscription_id,
        "--subscription",
        ("AZURE_SUBSCRIPTION_ID",),
        "the subscription to create resources in",
    ),
    Field("azure.location", "Azure region", str, check_location, "--location", (), "e.g. eastus"),
    Field(
        "azure.resource_group",
        "Resource group",
        str,
        check_resource_group,
        "--resource-group",
        (),
        "created if missing",
    ),
    Field(
        "azure.container_group",
        "Container instance name",
        str,
        check_container_group,
        "--container-group",
        (),
        "the container group (and container) name",
    ),
    Field("azure.memory_gb", "Memory (GB)", float, check_memory, "--memory", (), "e.g. 2 or 2.5"),
    Field("azure.cpu", "CPU (vCPU)", float, check_cpu, "--cpu", (), "e.g. 1"),
    Field(
        "azure.trigger",
        "How the Logic App starts the container",
        str,
        check_trigger,
        "--trigger",
        (),
        "api-connection (one sign-in in the portal) or managed-identity (needs Owner)",
        TRIGGER_MODES,
    ),
    Field(
        "azure.logic_app",
        "Logic App name",
        str,
        check_logic_app,
        "--logic-app",
        (),
        "default startaci",
    ),
    Field(
        "azure.tenant_id",
        "Azure tenant (directory) ID",
        str,
        check_tenant_id,
        "--tenant",
        ("AZURE_TENANT_ID",),
        "empty: the subscription's own tenant; set it to sign in a personal Microsoft account",
    ),
    Field(
        "azure.cloud",
        "Azure cloud",
        str,
        check_cloud,
        "--cloud",
        (),
        "AzureCloud, AzureUSGovernment or AzureChinaCloud",
        CLOUD_NAMES,
    ),
    Field(
        "azure.arm_endpoint",
        "ARM endpoint",
        str,
        check_arm_endpoint,
        "--arm-endpoint",
        ("AZURE_RESOURCE_MANAGER_ENDPOINT",),
        "default https://management.azure.com",
    ),
    Field(
        "docker.image",
        "Image",
        str,
        check_image,
        "--image",
        (),
        "registry/path:tag, e.g. myuser/numerai-predict:latest",
    ),
    Field(
        "docker.username",
        "Registry username",
        str,
        check_username_field,
        "--docker-username",
        ("DOCKER_USERNAME",),
        "Docker Hub (or registry) username",
    ),
    Field(
        "docker.build",
        "Build a new image",
        bool,
        _bool_check,
        "--build",
        (),
        "false: use the existing image as it is",
    ),
    Field(
        "docker.context",
        "Build context",
        str,
        check_context,
        "--context",
        (),
        "a folder with a Dockerfile; empty: the bundled image/",
    ),
    Field(
        "docker.base_image",
        "Base image",
        str,
        check_base_image,
        "--base-image",
        (),
        "passed as build arg BASE_IMAGE",
    ),
    Field(
        "docker.python",
        "Python version",
        str,
        check_python,
        "--python",
        (),
        "the image's Python: a cloudpickled model needs the one that made it",
        PYTHON_VERSIONS,
    ),
    Field(
        "docker.pull",
        "Pull a newer base image",
        bool,
        _bool_check,
        "--pull",
        (),
        "like docker build --pull",
    ),
    Field(
        "docker.public_image_ok",
        "Models may go into a public repository",
        bool,
        _bool_check,
        "--public-image-ok",
        (),
        "true: push the image (with your models) into a public repository",
    ),
    Field(
        "run.stop_after_create",
        "Stop the container after create",
        bool,
        _bool_check,
        "--stop-after-create",
        (),
        "false: let the first run go ahead now",
    ),
    Field(
        "secrets.keyring",
        "Remember secrets in the OS keyring",
        bool,
        _bool_check,
        "--keyring",
        (),
        "opt in to the OS keyring",
    ),
)
FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
#: The one-model form, still answered by a single text field (and read from old files).
FIELD_BY_KEY["numerai.model_id"] = Field(
    "numerai.model_id",
    "Numerai model ID",
    str,
    check_model_id,
    "--model-id",
    ("NUMERAI_MODEL_ID",),
    "the model's UUID (numer.ai > Models)",
)


@dataclass(frozen=True)
class SecretField:
    """One secret: its name, label, environment variable and the rule its value passes."""

    name: str
    label: str
    env: str
    check: Check


SECRET_FIELDS: tuple[SecretField, ...] = (
    SecretField("numerai_public_id", "Numerai public ID", "NUMERAI_PUBLIC_ID", check_public_id),
    SecretField("numerai_secret_key", "Numerai secret key", "NUMERAI_SECRET_KEY", check_secret_key),
    SecretField("docker_password", "Registry password or token", "DOCKER_PASSWORD", check_password),
)


def coerce(key: str, raw: Any) -> tuple[Any, str | None]:
    """Turn a raw value (TOML-typed, or text from env/CLI/TUI) into the field's type.

    Returns ``(value, None)`` or ``(raw, reason)``. Integers are accepted for decimals.
    """
    spec = FIELD_BY_KEY[key]
    if spec.kind is list:
        return _coerce_list(spec, raw)
    if spec.kind is bool:
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, str) and clean(raw).lower() in _BOOLS:
            return _BOOLS[clean(raw).lower()], None
        return raw, "answer true or false"
    if spec.kind is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            return raw, "expected a number"
        reason = spec.check(str(raw))
        return (raw, reason) if reason else (parse_decimal(raw), None)
    if not isinstance(raw, str):
        return raw, "expected text"
    value = clean(raw)
    return value, spec.check(value)


def _coerce_list(spec: Field, raw: Any) -> tuple[Any, str | None]:
    """A list from TOML (``["a", "b"]``), an option given several times, or ``"a,b"`` text."""
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list | tuple):
        items = list(raw)
        if not items:
            return raw, spec.check("")
    else:
        return raw, 'expected a list of model IDs, e.g. ["2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"]'
    if not all(isinstance(item, str) for item in items):
        return raw, "expected text: each model ID in quotes"
    text = ",".join(items)
    if reason := spec.check(text):
        return raw, reason
    return split_model_ids(text), None


@dataclass(frozen=True)
class Problem:
    """A setting's value refused by its rule, and why."""

    key: str
    reason: str

    @property
    def label(self) -> str:
        spec = FIELD_BY_KEY.get(self.key)
        return spec.label if spec else self.key

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


def validate(settings: Settings, limits: tuple[float, float] | None = None) -> list[Problem]:
    """Every problem in ``settings``; ``limits`` is the region's (max memory GB, max CPU)."""
    problems: list[Problem] = []
    for spec in FIELDS:
        value = settings.get(spec.key)
        if spec.kind is bool:
            continue
        reason = spec.check(",".join(value) if isinstance(value, list) else str(value))
        if reason:
            problems.append(Problem(spec.key, reason))
    if limits:
        for key, check, maximum in (
            ("azure.memory_gb", check_memory, limits[0]),
            ("azure.cpu", check_cpu, limits[1]),
        ):
            if not any(p.key == key for p in problems) and (
                reason := check(str(settings.get(key)), maximum)
            ):
                problems.append(Problem(key, f"{reason} in {settings.azure.location}"))
    problems.extend(_image_problems(settings))
    return problems


def needs_registry_login(settings: Settings) -> bool:
    """A build pushes, so it must log in; an existing image needs credentials only if private."""
    return settings.docker.build or bool(settings.docker.username)


def _image_problems(settings: Settings) -> list[Problem]:
    try:
        ref = parse_image_ref(settings.docker.image)
    except ImageRefError:
        return []
    out: list[Problem] = []
    username = settings.docker.username
    if ref.is_docker_hub and (username or settings.docker.build):
        if reason := check_hub_username(username):
            out.append(Problem("docker.username", reason))
        elif settings.docker.build and ref.namespace == "library":
            out.append(
                Problem(
                    "docker.image",
                    f"push to your own account: {username}/{ref.path}:{ref.tag_or_latest}",
                )
            )
    elif (
        not ref.is_docker_hub
        and settings.docker.build
        and (reason := check_registry_username(username))
    ):
        out.append(Problem("docker.username", reason))
    return out


def problems_for(problems: list[Problem], key: str) -> str | None:
    return next((p.reason for p in problems if p.key == key), None)
