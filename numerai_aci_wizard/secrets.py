"""Where secrets come from: the environment, the OS keyring (opt-in), or the user.

Secrets never touch the settings file or a log. Every value found is registered with
:mod:`redact` at once, so whatever prints it later prints ``***`` instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from . import redact
from .events import ErrorCode, WizardError
from .settings import SECRET_FIELDS, SecretField, Secrets, Settings, clean, needs_registry_login

KEYRING_SERVICE = "numerai-aci-wizard"
NUMERAI_KEYS = ("numerai_public_id", "numerai_secret_key")
FIELD_BY_NAME = {f.name: f for f in SECRET_FIELDS}

#: ask(field, reason_of_previous_answer_or_None) -> the answer, or None when the user gives up
Prompt = Callable[[SecretField, "str | None"], "str | None"]


def needed_for(command: str, settings: Settings) -> list[str]:
    """The secrets a command cannot do without (DESIGN.md, "Which secrets each command needs")."""
    if command == "deploy":
        names = list(NUMERAI_KEYS)
        if needs_registry_login(settings):
            names.append("docker_password")
        return names
    if command == "trigger":
        return list(NUMERAI_KEYS)
    return []


@dataclass
class Found:
    """The secrets found, where each came from, and notes on what could not be read."""

    secrets: Secrets = field(default_factory=Secrets)
    sources: dict[str, str] = field(default_factory=dict)  # name -> environment|keyring|prompt
    notes: list[str] = field(default_factory=list)


def keyring_status() -> tuple[bool, str]:
    """Whether an OS keyring backend exists here, and what it is (or why not)."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # pragma: no cover - keyring is a declared dependency
        return False, f"the keyring library cannot load ({exc})"
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return False, "no OS keyring is available on this machine"
    return True, type(backend).__module__.rsplit(".", 1)[-1]


def _keyring_get(name: str) -> str | None:
    import keyring

    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:
        return None


def resolve(
    settings: Settings,
    needed: Iterable[str],
    *,
    optional: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    prompt: Prompt | None = None,
) -> Found:
    """Find each needed secret; ``optional`` ones are looked up but never asked for.

    Raises WizardError (exit 2) naming the variable to set when a needed secret is missing
    and nobody can be asked.
    """
    env = os.environ if env is None else env
    found = Found()
    use_keyring = settings.secrets.keyring
    if use_keyring:
        ok, why = keyring_status()
        if not ok:
            found.notes.append(f"Keyring: {why}; secrets will be asked for instead.")
            use_keyring = False
    wanted = list(dict.fromkeys([*needed, *optional]))
    missing: list[SecretField] = []
    for name in wanted:
        spec = FIELD_BY_NAME[name]
        value, source = clean(env.get(spec.env, "")), "environment"
        if value and (reason := spec.check(value)):
            raise WizardError(
                f"{spec.env} is set but invalid: {reason}", f"fix or unset {spec.env}", exit_code=2
            )
        if not value and use_keyring:
            value, source = clean(_keyring_get(name) or ""), "keyring"
            if value and spec.check(value):
                found.notes.append(f"The {spec.label} in the keyring is invalid; asking again.")
                value = ""
        if not value and prompt is not None and name not in optional:
            value, source = _ask(spec, prompt), "prompt"
        if value:
            setattr(found.secrets, name, value)
            found.sources[name] = source
            redact.register(value)
        elif name not in optional:
            missing.append(spec)
    if missing:
        names = ", ".join(s.env for s in missing)
        labels = ", ".join(s.label for s in missing)
        raise WizardError(
            f"missing secret{'s' if len(missing) > 1 else ''}: {labels}",
            f"set the environment variable{'s' if len(missing) > 1 else ''} {names}"
            + (
                " (or run the wizard once with the keyring option on)"
                if not settings.secrets.keyring
                else ""
            ),
            exit_code=2,
            code=ErrorCode.MISSING_SECRET,
        )
    return found


def _ask(spec: SecretField, prompt: Prompt) -> str:
    reason: str | None = None
    for _ in range(5):
        answer = prompt(spec, reason)
        if answer is None:
            return ""
        answer = clean(answer)
        reason = spec.check(answer)
        if reason is None:
            return answer
    return ""


def remember(secrets: Secrets) -> str:
    """Store the secrets in the OS keyring (the user opted in). Returns what happened, for display."""
    ok, why = keyring_status()
    if not ok:
        return f"Not remembered: {why}."
    import keyring

    stored = 0
    try:
        for spec in SECRET_FIELDS:
            value = getattr(secrets, spec.name)
            if value:
                keyring.set_password(KEYRING_SERVICE, spec.name, value)
                stored += 1
    except Exception as exc:
        return f"Not remembered: the keyring refused ({type(exc).__name__})."
    return f"Remembered {stored} secret{'s' if stored != 1 else ''} in the OS keyring ({why})."


def forget() -> None:
    """Remove every secret this tool put in the keyring."""
    ok, _ = keyring_status()
    if not ok:
        return
    import keyring
    from keyring.errors import PasswordDeleteError

    for spec in SECRET_FIELDS:
        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, spec.name)
