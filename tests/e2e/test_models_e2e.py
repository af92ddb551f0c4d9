"""Two models, one setup, one run a round: the installed command against real local parts.

`deploy` registers the Logic App's URL as the webhook of the first model only. Numerai's call
goes to the Logic App the local ARM server runs from the stored workflow (its Response, then
the API connection's start of the container group); the ARM server runs the pushed image with
the real dockerd, and that one run submits for both models after one download of the live
data. Calls of the webhook while the run is in progress start nothing (ACI answers a start of
a running group 204): a round never runs twice.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save
from tests.e2e.test_deploy_e2e import (
    GROUP,
    LOGIC_APP,
    RG,
    SUBSCRIPTION,
    Runs,
    _container_runner,
    _webhook_line,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BODY = {"roundNumber": 1185, "dataVersion": "v5.2", "triggerId": "", "isTest": False}


class LogicAppCalls:
    """Numerai calling a webhook: the URL goes to the fake Logic Apps runtime, whose workflow
    starts the container group. ``during_run`` more calls are made while the run is going."""

    def __init__(self, arm: Any) -> None:
        self.arm = arm
        self.answers: list[int] = []
        self.during_run = 0
        self.url = ""
        self._lock = threading.Lock()

    def __call__(self, model_id: str, url: str | None) -> None:
        assert url
        self.url = url
        self.call(url)

    def call(self, url: str) -> None:
        status, body = self.arm.invoke_webhook(url, BODY)
        with self._lock:
            self.answers.append(status)
        assert status == 200, body

    def runner(self, engine: Any) -> Any:
        real = _container_runner(engine, self.arm)

        def run(spec: Any) -> Any:
            # the group is Running now: more calls (a retry, another model's webhook) arrive
            for _ in range(self.during_run):
                self.call(self.url)
            self.during_run = 0
            return real(spec)

        return run


@pytest.fixture
def two_models(
    arm_server, az_cli_login, docker_env, numerai_server, python_base_image, tmp_path
) -> tuple[Runs, LogicAppCalls, list[str]]:
    engine = docker_env
    first, second = numerai_server.models[0], numerai_server.models[1]
    settings = Settings()
    settings.numerai.model_ids = [first.id, second.id]
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.container_group = GROUP
    settings.azure.memory_gb = 2.0
    settings.azure.cpu = 1.0
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = f"{engine.registry}/numerai/predict:latest"
    settings.docker.username = engine.registry_username
    settings.docker.base_image = python_base_image
    config = tmp_path / "config.toml"
    save(settings, config)
    env = {
        **os.environ,
        "NUMERAI_PUBLIC_ID": numerai_server.public_id,
        "NUMERAI_SECRET_KEY": numerai_server.secret_key,
        "DOCKER_PASSWORD": engine.registry_password,
        "NUMERAI_API_URL": numerai_server.url,
        "NUMERAI_ACI_OFFLINE_PRICES": "1",
        "PYTHONUNBUFFERED": "1",
    }
    calls = LogicAppCalls(arm_server)
    arm_server.run_container = calls.runner(engine)
    numerai_server.on_trigger = calls
    return Runs(env, config), calls, [first.id, second.id]


def _new_accepted(numerai_server: Any, before: int) -> dict[str, Any]:
    return {s.model_id: s for s in numerai_server.submissions[before:] if s.accepted}


def test_two_models_one_webhook_one_run_two_submissions(
    two_models: tuple[Runs, LogicAppCalls, list[str]], arm_server, numerai_server
) -> None:
    world, calls, (first, second) = two_models
    names = {m.id: m.name for m in numerai_server.models}

    # The plan: one webhook action per model, the first holds it, the other is served by it.
    plan = json.loads(world("plan", "--json").stdout)
    hooks = [(a["name"], a["action"]) for a in plan["actions"] if a["resource"] == "webhook"]
    assert [action for _, action in hooks] == ["create", "keep"]
    served = next(
        a for a in plan["actions"] if a["resource"] == "webhook" and a["action"] == "keep"
    )
    assert "one run submits for all models" in served["reason"]

    # deploy registers the webhook once: the first model's.
    result = world("deploy", "--yes")
    url = _webhook_line(result.stdout)
    assert numerai_server.webhooks == {first: url}
    assert f"The webhook of {names[first]} is the Logic App's URL." in result.stdout
    assert "One run a round submits for 2 models" in result.stdout
    env = arm_server.container_group(RG, GROUP)["properties"]["containers"][0]["properties"]
    secure = {e["name"]: e.get("secureValue") for e in env["environmentVariables"]}
    assert secure["NUMERAI_MODEL_IDS"] == f"{first},{second}"
    assert secure["NUMERAI_MODEL_ID"] == first
    arm_server.authorize_connection("aci")

    # A round opens: Numerai calls one webhook; two more calls arrive while the run goes on.
    arm_server.clear_requests()
    runs_before = len(arm_server.runs)
    downloads = numerai_server.downloaded("live.parquet")
    before = len(numerai_server.submissions)
    calls.during_run = 2
    assert numerai_server.open_round() == [first]
    numerai_server.wait_hooks()
    outcome = arm_server.wait_for_run(GROUP, timeout=600)
    arm_server.wait_for_runs(RG, LOGIC_APP)
    assert outcome.exit_code == 0, outcome.logs
    assert calls.answers == [200, 200, 200]
    assert len(arm_server.runs) == runs_before + 1  # three calls, one container run
    assert not arm_server.runs[-1].halted.is_set()
    statuses = [r["properties"]["status"] for r in arm_server.runs_of(RG, LOGIC_APP)[:3]]
    assert statuses == ["Succeeded"] * 3  # the extra starts were ACI's "already running"
    landed = _new_accepted(numerai_server, before)
    assert set(landed) == {first, second}
    assert len(numerai_server.submissions) == before + 2  # one each, none rejected
    assert numerai_server.downloaded("live.parquet") == downloads + 1

    # trigger: one call through the first model, and a submission for each model.
    before = len(numerai_server.submissions)
    downloads = numerai_server.downloaded("live.parquet")
    out = json.loads(world("trigger", "--json", "--timeout", "600").stdout)
    numerai_server.wait_hooks()
    assert out["landed"] is True
    assert [(m["model_id"], m["landed"]) for m in out["models"]] == [(first, True), (second, True)]
    assert [t["model_id"] for t in numerai_server.triggers] == [first]
    assert set(_new_accepted(numerai_server, before)) == {first, second}
    assert numerai_server.downloaded("live.parquet") == downloads + 1
    status = json.loads(world("status", "--json").stdout)
    assert [(m["model_id"], m["holds_webhook"]) for m in status["models"]] == [
        (first, True),
        (second, False),
    ]
    assert all(m["latest"] is not None for m in status["models"])

    # The user puts the other model first: its webhook is registered, the old holder cleared.
    reordered = ("--model-id", second, "--model-id", first)
    plan = json.loads(world("plan", "--json", *reordered).stdout)
    hooks = [(a["name"], a["action"]) for a in plan["actions"] if a["resource"] == "webhook"]
    assert hooks == [(second, "create"), (first, "delete")]  # plan asks Numerai nothing: ids
    moved = world("deploy", "--yes", *reordered)
    assert numerai_server.webhooks == {second: url}
    assert f"The webhook of {names[second]} is the Logic App's URL." in moved.stdout
