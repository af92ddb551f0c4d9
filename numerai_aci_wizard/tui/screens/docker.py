"""Step 5: the image reference, the registry login, and whether to build a new image."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Input, Static, Switch

from ...image_ref import ImageRefError, parse_image_ref
from ...settings import (
    check_base_image,
    check_context,
    check_hub_username,
    check_image,
    check_password,
    check_python,
    check_registry_username,
    check_username_field,
    needs_registry_login,
    validate,
)
from ..widgets.field import field_id
from ..widgets.switch import SwitchRow
from .base import StepScreen


class DockerScreen(StepScreen):
    STEP = "docker"
    HEADING = "Docker image"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield self.field(
            "docker.image",
            "Image",
            check=check_image,
            help="registry/path:tag; Docker Hub: youruser/numerai-predict:latest",
            placeholder="youruser/numerai-predict:latest",
        )
        yield self.field(
            "docker.username",
            "Registry username",
            check=self._check_username,
            help="Docker Hub: your username, not your e-mail",
        )
        yield self.field(
            "docker_password",
            "Registry password or access token",
            password=True,
            help="pre-filled from DOCKER_PASSWORD when set; never saved",
        )
        yield SwitchRow(
            w.settings.docker.build,
            "Build a new image and push it (off: use the existing image as it is)",
            switch_id=field_id("docker.build"),
        )
        yield self.field(
            "docker.context",
            "Build context folder (optional)",
            check=check_context,
            help="empty: the bundled prediction image; else a folder with a Dockerfile",
        )
        yield self.field(
            "docker.base_image",
            "Base image (optional)",
            check=check_base_image,
            help="empty: the Dockerfile's default; passed as build arg BASE_IMAGE",
        )
        yield SwitchRow(
            w.settings.docker.public_image_ok,
            "My models may be public (off: never push them into a public Docker Hub repository)",
            switch_id=field_id("docker.public_image_ok"),
        )
        yield self.field(
            "docker.python",
            "Python version",
            check=check_python,
            help="3.10-3.14: a cloudpickled model (Numerai Model Upload) needs the one that made it",
        )
        yield Static("", id="registry-note", classes="muted")

    def _check_username(self, value: str) -> str | None:
        """Docker Hub names have their own rule; other registries only need a name to push."""
        try:
            image = self.query_one(f"#{field_id('docker.image')}-input", Input).value
            build = self.query_one(f"#{field_id('docker.build')}", Switch).value
            ref = parse_image_ref(image)
        except (ImageRefError, NoMatches):
            return check_username_field(value)
        if ref.is_docker_hub and (value.strip() or build):
            return check_hub_username(value)
        if build:
            return check_registry_username(value)
        return check_username_field(value)

    def on_mount(self) -> None:
        self._note()

    def on_input_changed(self) -> None:
        self._note()

    def _note(self) -> None:
        text = self.query_one(f"#{field_id('docker.image')}-input", Input).value
        try:
            ref = parse_image_ref(text)
        except ImageRefError:
            note = ""
        else:
            note = f"Registry: {ref.registry}; Azure logs in to {ref.credential_server}."
            if ref.is_docker_hub:
                note += " A missing repository is created private before the push."
        self.query_one("#registry-note", Static).update(note)

    def keep_answers(self) -> dict[str, str]:
        problems = super().keep_answers()
        for key in ("docker.build", "docker.public_image_ok"):
            self.wizard.choose(key, self.query_one(f"#{field_id(key)}", Switch).value)
        return problems

    def extra_problems(self) -> dict[str, str]:
        w = self.wizard
        out: dict[str, str] = {}
        for problem in validate(w.settings):
            if problem.key in ("docker.image", "docker.username"):
                out.setdefault(problem.key, problem.reason)
        if needs_registry_login(w.settings) and (
            reason := check_password(w.secrets.docker_password)
        ):
            out["docker_password"] = reason + (
                " (a build pushes, so it logs in)"
                if w.settings.docker.build
                else " (the username says the image is private)"
            )
        return out
