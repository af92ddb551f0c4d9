"""Loading and saving the settings file, and the run state beside it.

The settings file is the user's: TOML, human-editable, never a secret in it, written
atomically with mode 0600. A broken file must not stop the tool: it starts from the
defaults and says which line is wrong. Precedence for every value is
command line > environment > file > default; :func:`resolve` is the only place that
applies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import redact
from .settings import FIELD_BY_KEY, FIELDS, Settings, coerce

APP_NAME = "numerai-aci-wizard"
CONFIG_NAME = "config.toml"

_HEADER = (
    "# numerai-aci-wizard settings. Secrets (Numerai keys, registry password) are never\n"
    "# stored here: they come from the environment, the OS keyring (opt-in) or a prompt.\n"
)


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False, roaming=True) / CONFIG_NAME


def state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def state_path(config_path: Path) -> Path:
    """Run state for one settings file: each --config keeps its own history."""
    if config_path == default_config_path():
        return state_dir() / "state.json"
    digest = hashlib.sha256(str(config_path.resolve()).encode()).hexdigest()[:12]
    return state_dir() / f"state-{digest}.json"


@dataclass
class Loaded:
    """What loading found: the settings plus everything worth telling the user."""

    settings: Settings
    path: Path
    exists: bool = False
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the file could not be read at all: defaults are in use
    raw_invalid: dict[str, Any] = field(default_factory=dict)  # key -> what the file said


def _line_of(text: str, section: str, key: str) -> int | None:
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if m := re.match(r"^\[\s*([^\]]+?)\s*\]", stripped):
            current = m.group(1)
        elif current == section and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return number
    return None


def load(path: Path | None = None) -> Loaded:
    """Read the settings file; never raises for a bad file (the tool must still start)."""
    path = Path(path) if path else default_config_path()
    loaded = Loaded(settings=Settings(), path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return loaded
    except (OSError, UnicodeDecodeError) as exc:
        loaded.exists = True
        loaded.error = f"cannot read {path}: {exc}; starting from the defaults"
        return loaded
    loaded.exists = True
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        loaded.error = f"{path} is not valid TOML ({exc}); starting from the defaults"
        return loaded
    for section, values in data.items():
        if not isinstance(values, dict):
            line = _line_of(text, "", section)
            where = f"line {line}" if line else "top level"
            loaded.warnings.append(f"{path}, {where}: unknown setting '{section}' ignored")
            continue
        for key, raw in values.items():
            dotted = f"{section}.{key}"
            line = _line_of(text, section, key)
            where = f"{path}, line {line}" if line else str(path)
            if dotted not in FIELD_BY_KEY:
                loaded.warnings.append(f"{where}: unknown setting '{dotted}' ignored")
                continue
            value, reason = coerce(dotted, raw)
            if reason:
                loaded.raw_invalid[dotted] = raw
                default = loaded.settings.get(dotted)
                loaded.warnings.append(
                    f"{where}: {dotted} = {raw!r}: {reason} (using {default!r} until it is fixed)"
                )
                continue
            loaded.settings.set(dotted, value)
    return loaded


def env_values(env: Mapping[str, str]) -> dict[str, str]:
    """Settings given through environment variables (first listed name wins)."""
    out: dict[str, str] = {}
    for spec in FIELDS:
        for name in spec.envs:
            if env.get(name, "").strip():
                out[spec.key] = env[name]
                break
    return out


@dataclass
class Resolved:
    settings: Settings
    loaded: Loaded
    errors: list[str] = field(default_factory=list)  # bad values given on the command line or env


def resolve(
    config: Path | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Resolved:
    """Settings by precedence: command line > environment > file > default."""
    loaded = load(config)
    settings = loaded.settings.copy()
    errors: list[str] = []
    env_map = env_values(os.environ if env is None else env)
    for source, values in (("environment", env_map), ("command line", dict(cli or {}))):
        for key, raw in values.items():
            if raw is None:
                continue
            value, reason = coerce(key, raw)
            if reason:
                spec = FIELD_BY_KEY[key]
                origin = spec.flag if source == "command line" else _env_name(spec, env)
                errors.append(f"{origin} = {raw!r}: {reason}")
                continue
            settings.set(key, value)
            loaded.raw_invalid.pop(key, None)
    return Resolved(settings=settings, loaded=loaded, errors=errors)


def _env_name(spec: Any, env: Mapping[str, str] | None) -> str:
    source = os.environ if env is None else env
    return next((n for n in spec.envs if source.get(n, "").strip()), spec.default_env)


def dumps(settings: Settings) -> str:
    import tomli_w

    body = tomli_w.dumps(settings.as_dict())
    leaked = [s for s in redact.known_secrets() if s in body]
    if (
        leaked
    ):  # defence in depth: the model has no secret fields, but a pasted key could land in one
        raise ValueError("refusing to write a secret into the settings file")
    return _HEADER + body


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename) with mode 0600; the folder is made 0700."""
    path = Path(path) if path else default_config_path()
    _atomic_write(path, dumps(settings))
    return path


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        os.chmod(
            path, 0o600
        )  # Windows: only the read-only bit is honoured; the profile dir is private
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class RunState:
    """What the last runs did, so a re-run can skip work. Never holds a secret or the webhook URL."""

    image: str = ""
    context_hash: str = ""
    digest: str = ""
    webhook_model_id: str = ""
    webhook_fingerprint: str = (
        ""  # sha256 of the registered URL: tells "changed" without storing it
    )

    @classmethod
    def load(cls, path: Path) -> RunState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(
            **{k: str(v) for k, v in data.items() if k in names and isinstance(v, str | int)}
        )

    def save(self, path: Path) -> None:
        _atomic_write(
            path, json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, indent=2)
        )
