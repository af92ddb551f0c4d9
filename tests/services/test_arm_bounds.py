"""What ARM's answers may make the Azure engine do is bounded (issue 19, points 6-8), with
the real SDK against the ARM stand-in taught hostile answers: a poll URL or a next page
on another host (the token never goes there), a 429 asking for an hour, a GET that never
answers, a nextLink that points back at its own page, a run whose actions answer 404.
No assertion on wall-clock time: each case ends, and says why."""

from __future__ import annotations

import time
from typing import Any

import pytest

from numerai_aci_wizard.events import Event, LogLine, WizardError
from numerai_aci_wizard.history import build_history
from numerai_aci_wizard.present import history_lines, texts
from numerai_aci_wizard.services.azure_provision import Azure
from tests.support import ARM_SECRETS, arm_settings

RG = "numerai-rg"


def _azure(server: Any, credential: Any, events: list[Event] | None = None) -> Azure:
    emit = events.append if events is not None else (lambda _: None)
    return Azure(arm_settings(server), credential, emit=emit, polling_interval=0)


def _foreign(server: Any) -> str:
    """The stand-in under another host name (its certificate covers both): a foreign host."""
    return f"https://localhost:{server.port}"


def _reached_foreign_host(server: Any) -> list[Any]:
    return [r for r in server.requests if r.host.lower().startswith("localhost")]


# --- point 6: the token only to the endpoint's host -----------------------------------


@pytest.mark.parametrize("kind", ["Azure-AsyncOperation", "Location"])
def test_a_poll_url_on_another_host_is_refused_and_gets_nothing(
    kind: str, arm_server: Any, credential: Any
) -> None:
    azure = _azure(arm_server, credential)
    arm_server.foreign_base = _foreign(arm_server)
    arm_server.lro_seconds = 1  # the poller must follow the header to learn the outcome
    with pytest.raises(WizardError) as caught:
        if kind == "Azure-AsyncOperation":  # a container group's create polls that header
            azure.apply(ARM_SECRETS)
        else:  # a delete answers with Location
            arm_server.foreign_base = ""
            arm_server.lro_seconds = 0
            azure.apply(ARM_SECRETS)
            arm_server.foreign_base = _foreign(arm_server)
            arm_server.lro_seconds = 1
            azure.destroy()
    error = caught.value
    assert error.code == "azure_refused" and error.upstream == "ForeignHost"
    assert f"localhost:{arm_server.port}" in error.message
    assert "your Azure token goes only to the endpoint you use" in error.message
    assert _reached_foreign_host(arm_server) == []  # not even a request without the token


def test_a_next_page_on_another_host_is_refused(arm_server: Any, credential: Any) -> None:
    azure = _azure(arm_server, credential)
    url = azure.apply(ARM_SECRETS).webhook_url
    for _ in range(3):
        arm_server.invoke_webhook(url, {})
        arm_server.wait_for_runs(RG, "startaci")
    arm_server.runs_page_size = 1
    arm_server.foreign_base = _foreign(arm_server)
    with pytest.raises(WizardError) as caught:
        azure.runs(limit=3)
    assert caught.value.upstream == "ForeignHost"
    assert _reached_foreign_host(arm_server) == []


def test_the_same_pages_on_the_endpoints_own_host_are_read(
    arm_server: Any, credential: Any
) -> None:
    """The control: paging itself works; only the other host was refused above."""
    azure = _azure(arm_server, credential)
    url = azure.apply(ARM_SECRETS).webhook_url
    for _ in range(3):
        arm_server.invoke_webhook(url, {})
        arm_server.wait_for_runs(RG, "startaci")
        time.sleep(0.01)  # distinct start times
    arm_server.runs_page_size = 1
    assert len(azure.runs(limit=3)) == 3
    pages = [r for r in arm_server.requests if r.path.endswith("/runs") and r.method == "GET"]
    assert len(pages) == 3 and all(r.authorized for r in pages)


# --- point 7: bounded waits --------------------------------------------------------------


def test_a_429_asking_for_an_hour_is_waited_out_only_up_to_the_cap_and_said(
    arm_server: Any, credential: Any
) -> None:
    events: list[Event] = []
    azure = _azure(arm_server, credential, events)
    azure.retry_after_cap = 0.2  # the cap as a test can afford it; 30 s for people
    arm_server.fail(
        "GET",
        rf"/resourcegroups/{RG}$",
        429,
        "TooManyRequests",
        times=2,
        headers={"Retry-After": "3600"},
    )
    observed = azure.observe()  # the third try answers
    assert observed.resource_group is None
    said = [e.text for e in events if isinstance(e, LogLine) and e.level == "warning"]
    assert said and "Azure asked to wait 1.0 h before trying again (throttled)" in said[0]


def test_throttling_that_never_ends_ends_with_a_clear_error(
    arm_server: Any, credential: Any
) -> None:
    azure = _azure(arm_server, credential)
    azure.retry_after_cap = 0.1
    arm_server.fail(
        "GET",
        rf"/resourcegroups/{RG}$",
        429,
        "TooManyRequests",
        times=100,
        headers={"Retry-After": "3600"},
    )
    with pytest.raises(WizardError) as caught:
        azure.observe()
    assert caught.value.code == "azure_throttled"


def test_a_get_that_never_answers_ends_with_a_timeout_error(
    arm_server: Any, credential: Any
) -> None:
    azure = _azure(arm_server, credential)
    azure.request_timeout = 0.5
    arm_server.hang("GET", r"/containerGroups/numerai-predict$", times=10)
    with pytest.raises(WizardError) as caught:
        azure.status()
    error = caught.value
    assert error.code == "azure_unreachable" and error.upstream == "Timeout"
    assert "did not answer in time to read container group numerai-predict" in error.message


def test_a_next_link_that_points_back_at_its_page_ends_with_a_clear_error(
    arm_server: Any, credential: Any
) -> None:
    azure = _azure(arm_server, credential)
    azure.apply(ARM_SECRETS)  # a Logic App with no run yet: each page is empty
    arm_server.runs_page_size = 1
    arm_server.next_link_loop = True
    with pytest.raises(WizardError) as caught:
        azure.runs(limit=10)
    assert caught.value.upstream == "NextLinkLoop"
    assert "pointed back at a page it had already given" in caught.value.message


# --- point 8: one run's unreadable actions do not hide the others -----------------------


def test_history_shows_every_run_and_marks_the_one_whose_actions_answer_404(
    arm_server: Any, credential: Any
) -> None:
    azure = _azure(arm_server, credential)
    url = azure.apply(ARM_SECRETS).webhook_url
    arm_server.invoke_webhook(url, {})  # before the portal sign-in: this run fails
    arm_server.wait_for_runs(RG, "startaci")
    time.sleep(0.01)
    arm_server.authorize_connection("aci")
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs(RG, "startaci")
    arm_server.fail("GET", r"/runs/[^/]+/actions$", 404, "WorkflowRunNotFound", times=5)
    newest, failed = azure.runs(limit=5)
    assert newest.status == "succeeded"
    assert failed.status == "failed" and failed.unreadable and not failed.code
    history = build_history([newest, failed], None, group=None, trigger="api-connection")
    lines = texts(history_lines(history))
    assert not any(line.startswith("No webhook calls yet") for line in lines)
    assert len([line for line in lines if line[:1] in "✓✗"]) == 2
    [marked] = [line for line in lines if line.startswith("✗")]
    assert "failed; why could not be read" in marked and "404" in marked
    assert history.to_dict()["runs"][1]["unreadable"] is True


def test_a_redirect_to_another_host_goes_without_the_token(
    arm_server: Any, credential: Any
) -> None:
    """A 307 is the SDK's own business: azure-core follows it and strips the token on a
    change of host; the guard lets that through rather than break redirects."""
    azure = _azure(arm_server, credential)
    path = f"/subscriptions/{arm_server.subscription_id}/resourcegroups/{RG}"
    target = f"{_foreign(arm_server)}{path}?api-version=2024-11-01"
    arm_server.fail("GET", rf"/resourcegroups/{RG}$", 307, "Redirect", headers={"Location": target})
    with pytest.raises(WizardError):
        azure.observe()  # the other host answers 401 to a request without a token
    reached = _reached_foreign_host(arm_server)
    assert reached and not any(r.authorized for r in reached)
