"""One screen per step of the wizard, plus its dialogs.

Each step's module is imported when the step is first shown: the Welcome step paints
without loading the widgets of the later steps (progress bars, logs, selects).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .azure import AzureScreen
    from .base import StepScreen
    from .deploy import DeployScreen
    from .docker import DockerScreen
    from .done import DoneScreen
    from .numerai import NumeraiScreen
    from .review import ReviewScreen
    from .size import SizeScreen
    from .welcome import WelcomeScreen

#: step -> (module, class) of its screen
_WHERE: dict[str, tuple[str, str]] = {
    "welcome": ("welcome", "WelcomeScreen"),
    "numerai": ("numerai", "NumeraiScreen"),
    "azure": ("azure", "AzureScreen"),
    "size": ("size", "SizeScreen"),
    "docker": ("docker", "DockerScreen"),
    "review": ("review", "ReviewScreen"),
    "deploy": ("deploy", "DeployScreen"),
    "done": ("done", "DoneScreen"),
}
_BY_CLASS = {cls: module for module, cls in _WHERE.values()} | {"StepScreen": "base"}


def screen_class(step: str) -> type[StepScreen]:
    """The screen of ``step``, importing its module on first use."""
    module, name = _WHERE[step]
    cls: type[StepScreen] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return cls


def __getattr__(name: str) -> Any:
    if name == "STEP_SCREENS":
        return {step: screen_class(step) for step in _WHERE}
    if name in _BY_CLASS:
        return getattr(importlib.import_module(f"{__name__}.{_BY_CLASS[name]}"), name)
    raise AttributeError(name)


__all__ = [
    "AzureScreen",
    "DeployScreen",
    "DockerScreen",
    "DoneScreen",
    "NumeraiScreen",
    "ReviewScreen",
    "SizeScreen",
    "StepScreen",
    "WelcomeScreen",
    "screen_class",
]
