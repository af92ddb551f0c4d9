"""The wizard's steps in order, and which step asks for each setting or secret."""

from __future__ import annotations

from ..settings import FIELD_BY_KEY, SECRET_FIELDS

#: The steps in order; a screen's ``STEP`` is one of these names.
STEPS = ("welcome", "numerai", "azure", "size", "docker", "review", "deploy", "done")

SECRET_NAMES = tuple(f.name for f in SECRET_FIELDS)

#: Which step asks for each setting or secret: where a problem found later sends the user.
FIELD_STEP: dict[str, str] = {
    "numerai_public_id": "numerai",
    "numerai_secret_key": "numerai",
    "docker_password": "docker",
    "azure.memory_gb": "size",
    "azure.cpu": "size",
    "run_minutes": "size",
    "secrets.keyring": "numerai",
}
for _key in FIELD_BY_KEY:
    FIELD_STEP.setdefault(
        _key,
        {"numerai": "numerai", "azure": "azure", "docker": "docker"}.get(
            _key.split(".")[0], "review"
        ),
    )


def step_after(step: str) -> str:
    return STEPS[min(STEPS.index(step) + 1, len(STEPS) - 1)]


def step_before(step: str) -> str:
    return STEPS[max(STEPS.index(step) - 1, 0)]
