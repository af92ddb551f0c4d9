"""A rehearsal on this machine before any round counts (``trigger --local``): pure parts.

The container gets the environment the container group gets on Azure (Numerai keys,
every model id, ``NUMERAI_API_URL`` when the tool runs with it); after it exits, each
model's newest submission is compared with the one before the run: a newer one landed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .engines import Submission
from .history import iso
from .plan import API_URL_ENV, container_env
from .settings import Secrets, Settings


def local_env(settings: Settings, secrets: Secrets, environ: Mapping[str, str]) -> dict[str, str]:
    """The container group's environment (plan.container_env) plus what only a local run
    needs: ``NUMERAI_API_URL`` when the tool itself runs with it."""
    env = container_env(settings, secrets)
    if environ.get(API_URL_ENV, "").strip():
        env[API_URL_ENV] = environ[API_URL_ENV].strip()
    return env


@dataclass(frozen=True)
class ModelOutcome:
    model_id: str
    name: str
    before: Submission | None
    after: Submission | None

    @property
    def landed(self) -> bool:
        return self.after is not None and self.after != self.before


@dataclass
class Rehearsal:
    """What a local run did: the image, its exit code, and per model whether a submission landed."""

    image: str
    exit_code: int
    models: list[ModelOutcome] = field(default_factory=list)
    #: the last lines the container printed (the model's error, when it failed)
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and bool(self.models) and all(m.landed for m in self.models)

    @property
    def missing(self) -> list[str]:
        return [m.name or m.model_id for m in self.models if not m.landed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "local": True,
            "image": self.image,
            "exit_code": self.exit_code,
            "ok": self.ok,
            "models": [
                {
                    "model": m.name or m.model_id,
                    "model_id": m.model_id,
                    "landed": m.landed,
                    "round": m.after.round if m.landed and m.after else None,
                    "submitted": iso(m.after.inserted_at) if m.landed and m.after else None,
                }
                for m in self.models
            ],
        }

    def lines(self) -> list[str]:
        """The outcome in words, one line per model."""
        out = []
        for m in self.models:
            label = m.name or m.model_id
            if m.landed and m.after is not None:
                when = m.after.inserted_at
                shown = when.astimezone(dt.UTC).strftime("%H:%M:%S") if when else "?"
                out.append(f"✓ {label}: a valid submission landed (round {m.after.round}, {shown})")
            else:
                out.append(f"✗ {label}: no submission landed")
        return out


def error_line(tail: list[str]) -> str:
    """The line of the container's output that says what went wrong: the first error-ish one
    (later ones are its consequences, such as "1 of 1 submission(s) did not land")."""
    for text in tail:
        low = text.lower()
        if any(word in low for word in ("error", "failed", "exception", "traceback", "refused")):
            return _STAMP.sub("", text).strip()
    return next((_STAMP.sub("", t).strip() for t in reversed(tail) if t.strip()), "")


_STAMP = re.compile(r"^\s*\[\s*[\d.]+s\]\s*")  # predict.py's "[   7.2s] " prefix
