"""The outcome vocabulary (typed events) and the one presenter that turns it into words."""

from __future__ import annotations

import datetime as dt

import pytest

from numerai_aci_wizard import present
from numerai_aci_wizard.events import (
    Action,
    Cancelled,
    ErrorCode,
    Event,
    LogLine,
    StepFailed,
    StepFinished,
    StepStarted,
    WizardError,
    step,
)
from numerai_aci_wizard.history import History, HistoryRow
from numerai_aci_wizard.present import Line, event_lines, texts


def test_a_step_ends_well_through_its_handle_with_the_action_it_carried_out() -> None:
    seen: list[Event] = []
    created = Action("container_group", "numerai-predict", "create", "missing")
    with step(seen.append, "container_group", "Container group numerai-predict") as handle:
        handle.done("created numerai-predict", change=created)
    assert seen == [
        StepStarted("container_group", "Container group numerai-predict"),
        StepFinished("container_group", "created numerai-predict", created),
    ]


def test_a_failure_carries_the_error_and_the_setting_the_step_is_about() -> None:
    seen: list[Event] = []
    error = WizardError("the registry refused the push", "check the image name")
    with pytest.raises(WizardError), step(seen.append, "push", "Push", field="docker.image"):
        raise error
    [failed] = [e for e in seen if isinstance(e, StepFailed)]
    assert failed.error is error and error.field == "docker.image"
    assert (failed.message, failed.hint) == (error.message, error.hint)


def test_a_failure_that_names_its_setting_keeps_it_and_is_reported_once() -> None:
    seen: list[Event] = []
    error = WizardError("wrong password", field="docker_password")
    with (
        pytest.raises(WizardError),
        step(seen.append, "image", "Image", field="docker.image"),
        step(seen.append, "push", "Push", field="docker.image"),
    ):
        raise error
    assert error.field == "docker_password"
    assert [e.step for e in seen if isinstance(e, StepFailed)] == ["push"]


def test_a_cancel_is_a_failure_with_the_cancelled_code() -> None:
    seen: list[Event] = []
    with pytest.raises(Cancelled), step(seen.append, "build", "Build"):
        raise Cancelled()
    [failed] = [e for e in seen if isinstance(e, StepFailed)]
    assert failed.error.code == ErrorCode.CANCELLED
    assert texts(event_lines(failed)) == ["xx cancelled"]


def test_events_in_the_words_every_front_end_uses() -> None:
    error = WizardError("Docker is not running", "start Docker Desktop")
    assert texts(event_lines(StepStarted("build", "Build team/predict:v1"))) == [
        "-> Build team/predict:v1"
    ]
    assert texts(event_lines(StepFinished("build", "built in 4 steps"))) == ["ok built in 4 steps"]
    assert texts(event_lines(StepFailed("build", error))) == ["xx Docker is not running"]
    assert present.log_text(StepFailed("build", error)) == (
        "failed: Docker is not running (start Docker Desktop)"
    )
    assert present.log_text(StepStarted("build", "Build team/predict:v1")) == (
        "Build team/predict:v1"
    )
    assert present.log_text(StepFinished("build", "built in 4 steps")) == "done: built in 4 steps"
    said = event_lines(LogLine("build", "Step 1/4\nStep 2/4\n", "warning"))
    assert said == [Line("Step 1/4", "warning"), Line("Step 2/4", "warning")]


def test_the_manual_step_is_one_text_however_it_is_laid_out() -> None:
    steps = ["Open the portal link", "Press Authorize, then Save"]
    cli = texts(present.manual_step_lines(steps))
    assert cli == [
        "One manual step: authorize the API connection so the Logic App may start the container.",
        "  1. Open the portal link",
        "  2. Press Authorize, then Save",
        "  Check it with: numerai-aci-wizard status",
    ]
    done = texts(present.manual_step_lines(steps, indent="", check=False))
    assert done[1:] == ["1. Open the portal link", "2. Press Authorize, then Save"]
    assert cli[0].split(": ", 1)[1] == done[0].split(": ", 1)[1]


def test_history_rows_say_their_outcome_by_tone_not_by_a_prefix() -> None:
    day = dt.datetime(2026, 11, 25, 13, tzinfo=dt.UTC)
    history = History(
        runs=(
            HistoryRow(day, "failed", "called 13:00:00, not started", hint="authorize"),
            HistoryRow(day, "succeeded", "submitted round 900"),
            HistoryRow(day, "running", "running"),
        ),
        submissions=(),
    )
    lines = present.history_lines(history)
    assert [(line.text[:1], line.tone) for line in lines] == [
        ("✗", "failed"),
        (" ", "warning"),
        ("✓", "ok"),
        ("…", "plain"),
    ]


def test_what_a_deploy_changed_is_said_from_the_plan_then_the_earlier_attempt() -> None:
    created = Action("container_group", "numerai-predict", "create", "missing")
    assert str(present.changed_line([created])) == "Changed: container_group create"
    labels = {"container_group": "Container group"}
    assert (
        str(present.changed_line([created], labels=labels))
        == "Changed: Container group numerai-predict (create)"
    )
    earlier = ["created numerai-predict (1 vCPU, 2 GB)"]
    assert str(present.changed_line([], earlier=earlier)) == (
        "Changed by this run: created numerai-predict (1 vCPU, 2 GB)"
    )
    assert str(present.changed_line([])).startswith("Nothing changed:")


def test_a_run_that_did_not_finish_says_what_it_left_in_azure_and_what_comes_next() -> None:
    steps = {
        "checks": ("done", "Checking Docker, Azure and Numerai", "all ready"),
        "resource_group": ("done", "Resource group rg", "rg exists"),
        "container_group": ("stopped", "Container group numerai-predict", "not finished"),
        "workflow": ("running", "Logic App trigger", ""),
    }
    said = texts(present.azure_left("Stopped.", steps, {"container_group": "numerai-predict"}))
    assert said[:5] == [
        "Stopped.",
        "Azure now:",
        "  done          Resource group rg: rg exists",
        "  deleted       Container group numerai-predict: not created again",
        "  not finished  Logic App trigger",
    ]
    assert "the next round will fail" in said[5]
    nothing = texts(present.azure_left("Stopped.", {"checks": steps["checks"]}, {}))
    assert nothing[1] == "Azure now: nothing was changed."
    assert nothing[2].startswith("Run `numerai-aci-wizard`")


def test_a_runs_steps_and_its_failure_where_it_stopped() -> None:
    steps = {
        "build": ("done", "Build team/predict:v1", "built in 4 steps"),
        "push": ("failed", "Push team/predict:v1", "denied"),
        "provision": ("stopped", "Provisioning Azure", "not finished"),
        "workflow": ("running", "Logic App trigger", ""),
    }
    assert [(str(line), line.tone) for line in present.step_lines(steps)] == [
        ("✓ Build team/predict:v1: built in 4 steps", "dim"),
        ("✗ Push team/predict:v1: denied", "failed"),
        ("- Provisioning Azure: not finished", "plain"),
        ("… Logic App trigger", "running"),
    ]
    error = WizardError("the registry refused the push: denied", "check the image name")
    assert texts(present.run_failure_lines(error, {})) == [
        "✗ the registry refused the push: denied",
        "What to do: check the image name",
    ]
    cancelled = WizardError("cancelled", code=ErrorCode.CANCELLED)
    said = texts(present.run_failure_lines(cancelled, {"container_group": "numerai-predict"}))
    assert said[0] == "✗ Cancelled: stopped at a safe point."
    assert "was deleted for the resize" in said[1]
    assert said[1].endswith("nothing you typed is lost.")
