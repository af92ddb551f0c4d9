"""One screen per step of the wizard, plus its dialogs."""

from __future__ import annotations

from .azure import AzureScreen
from .base import StepScreen
from .deploy import DeployScreen
from .docker import DockerScreen
from .done import DoneScreen
from .numerai import NumeraiScreen
from .review import ReviewScreen
from .size import SizeScreen
from .welcome import WelcomeScreen

STEP_SCREENS: dict[str, type[StepScreen]] = {
    s.STEP: s
    for s in (
        WelcomeScreen,
        NumeraiScreen,
        AzureScreen,
        SizeScreen,
        DockerScreen,
        ReviewScreen,
        DeployScreen,
        DoneScreen,
    )
}

__all__ = ["STEP_SCREENS", "StepScreen"]
