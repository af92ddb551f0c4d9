"""The Azure engine's runtime: the API connection's status, the webhook URL, the Logic
App's runs (``history``, ``trigger``), and the container group's state and logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .. import redact
from .. import workflow as lw
from ..clouds import cloud
from ..engines import (
    ConnectionStatus,
    GroupStatus,
    WorkflowRun,
)
from ..events import (
    Cancelled,
    ErrorCode,
    LogLine,
    Progress,
    WizardError,
    check_cancel,
)
from . import arm_guard
from .azure_base import _group_view, _text
from .azure_discovery import AzureDiscovery
from .azure_errors import is_not_found, translate

#: trigger: how long to retry a run refused because a new role assignment is not in effect
ROLE_WAIT_SECONDS = 300.0
#: a role assignment younger than this may still be propagating
ROLE_NEW_SECONDS = 1800.0

RUN_STATUS = {
    "running": "running",
    "waiting": "running",
    "paused": "running",
    "suspended": "running",
    "notspecified": "running",
    "succeeded": "succeeded",
    "skipped": "succeeded",
    "ignored": "succeeded",
}


class AzureRuntime(AzureDiscovery):
    """What runs: read, and the webhook called."""

    # --- connector mode ---------------------------------------------------------------

    def _tenant(self) -> str:
        if self.tenant_id:
            return self.tenant_id
        try:
            sub = self._client("subscriptions").subscriptions.get(self._a.subscription_id)
            self.tenant_id = getattr(sub, "tenant_id", "") or ""
        except Exception:  # only the deep link's tenant part is lost
            self.tenant_id = ""
        return self.tenant_id

    def connection_status(self) -> ConnectionStatus:
        """Whether ``aci`` is authorized, the portal link and the steps to authorize it."""
        conn = self._observe_connection()
        tenant = self._tenant()
        # The resource's own page (the portal's "#@<tenant>/resource<id>" form): no source
        # from Microsoft confirms a deep link into its "Edit API connection" blade, so the
        # steps name the blade instead.
        portal = cloud(self._a.cloud).portal
        link = f"{portal}/#@{tenant}/resource{self._connection_id}"
        if not tenant:
            link = f"{portal}/#resource{self._connection_id}"
        if conn is None:
            return ConnectionStatus(
                "missing", False, link, ["run deploy to create the API connection aci"]
            )
        connected = conn.status.lower() == "connected"
        steps = [
            f"Open {link}",
            "In the connection's menu, under General, select Edit API connection "
            f"(or: portal > resource group {self._a.resource_group} > API connection 'aci')",
            "Click Authorize and sign in with an account that may start the container group",
            "Click Save",
            "Check again here: the status should read Connected",
        ]
        return ConnectionStatus(
            conn.status or "unknown", connected, link, [] if connected else steps
        )

    def webhook_url(self) -> str | None:
        a = self._a
        from azure.core.exceptions import HttpResponseError

        with self._errors(f"read the webhook URL of Logic App {a.logic_app}"):
            try:
                url = self._client("logic").workflow_triggers.list_callback_url(
                    a.resource_group, a.logic_app, lw.TRIGGER_NAME
                )
            except HttpResponseError as exc:
                if is_not_found(exc):
                    return None
                raise
        return str(url.value) if url is not None and url.value else None

    # --- run history ------------------------------------------------------------------

    def runs(self, limit: int = 10) -> list[WorkflowRun]:
        """The Logic App's latest runs (one per webhook call), newest first; for a failed
        run, the first failed action's error code and message (what went wrong)."""
        a = self._a
        from azure.core.exceptions import HttpResponseError

        out: list[WorkflowRun] = []
        with self._errors(f"read the run history of Logic App {a.logic_app}", "history"):
            logic = self._client("logic")
            try:
                pages = logic.workflow_runs.list(a.resource_group, a.logic_app, top=limit)
                what = f"the runs of Logic App {a.logic_app}"
                for run in arm_guard.bounded_pages(pages, what):
                    out.append(self._run_of(logic, run))
                    if len(out) >= limit:
                        break
            except HttpResponseError as exc:
                if is_not_found(exc):
                    return []
                raise
        return out

    def _run_of(self, logic: Any, run: Any) -> WorkflowRun:
        status = RUN_STATUS.get(_text(run.status).lower(), "failed")
        item = WorkflowRun(
            name=run.name or "",
            started=run.start_time,
            ended=run.end_time,
            status=status,
        )
        if status != "failed":
            return item
        try:
            actions = list(
                arm_guard.bounded_pages(
                    logic.workflow_run_actions.list(
                        self._a.resource_group, self._a.logic_app, item.name
                    ),
                    f"the actions of run {item.name}",
                )
            )
        except Exception as exc:  # one run's details: the others are still worth showing
            if isinstance(exc, arm_guard.ForeignHost | Cancelled):
                raise
            said = translate(exc, f"read the actions of run {item.name}", endpoint=self.endpoint)
            item.unreadable = said.message
            return item
        for action in _specific_failures_first(actions):
            if _text(action.status).lower() not in ("failed", "timedout", "aborted", "cancelled"):
                continue
            error = action.error if isinstance(action.error, dict) else {}
            item.failed_action = action.name or ""
            item.code = str(error.get("code") or _text(action.code))
            item.message = redact.redact(str(error.get("message") or ""))
            return item
        error = run.error if isinstance(run.error, dict) else {}
        item.code = str(error.get("code") or _text(run.code))
        item.message = redact.redact(str(error.get("message") or ""))
        return item

    def _role_assignment_age(self) -> float | None:
        """Seconds since the Logic App's role assignment was made (None: none found)."""
        wf = self._observe_workflow()
        if wf is None or not wf.principal_id:
            return None
        ra = self._observe_role_assignment(wf.principal_id)
        if ra is None:
            return None
        found = self._get_or_none(
            "read the Logic App's role assignment",
            lambda: self._client("authorization").role_assignments.get_by_id(ra.id),
        )
        created = getattr(found, "created_on", None)
        if created is None:
            return None
        return float((datetime.now(UTC) - created).total_seconds())

    def await_trigger_run(
        self,
        since: datetime,
        retrigger: Callable[[], None],
        *,
        step: str = "trigger",
        window: float = ROLE_WAIT_SECONDS,
        retry_every: float = 30.0,
        poll: float = 2.0,
        timeout: float = 120.0,
    ) -> WorkflowRun | None:
        """Follow the Logic App run of a webhook call made at ``since`` until it ends.

        Managed identity right after deploy: Azure takes minutes to put a new role
        assignment into effect, and meanwhile the run fails with AuthorizationFailed. When
        that is the failure and the assignment is new, say so and call ``retrigger()``
        (Numerai calls the webhook again) after a countdown, for up to ``window`` seconds.
        Returns the last run seen (None: no run started within ``timeout``); raises
        WizardError when the identity is still refused at the end of the window.
        """
        started = triggered = time.monotonic()
        seen: set[str] = set()
        last: WorkflowRun | None = None
        explained = False
        while True:
            check_cancel(self.cancel)
            newer = [r for r in self.runs(5) if r.started is None or r.started >= since]
            fresh = [r for r in newer if r.name not in seen]
            current = fresh[0] if fresh else None
            if current is None and time.monotonic() - triggered > timeout:
                return last
            if current is not None and current.status != "running":
                seen.add(current.name)
                last = current
                if not _identity_not_ready(current):
                    return current
                age = self._role_assignment_age()
                if age is None or age > ROLE_NEW_SECONDS:
                    return current  # an old grant that fails: not a matter of waiting
                left = window - (time.monotonic() - started)
                if left <= 0:
                    raise WizardError(
                        "the Logic App's managed identity is still not allowed to start the "
                        f"container group after {int(window)} s: {current.message}",
                        "Azure can take up to 10 minutes to apply a new role assignment; run "
                        "trigger again in a few minutes",
                        code=ErrorCode.AZURE_FORBIDDEN,
                        upstream="RoleAssignmentNotEffective",
                    )
                if not explained:
                    explained = True
                    self.emit(
                        LogLine(
                            step,
                            "The Logic App's new role assignment is not in effect yet (Azure "
                            "takes a few minutes after deploy): trying again until it is.",
                            "warning",
                        )
                    )
                wait = min(retry_every, left)
                end = time.monotonic() + wait
                while (remaining := end - time.monotonic()) > 0:
                    self.emit(
                        Progress(
                            step,
                            int(time.monotonic() - started),
                            int(window),
                            "s",
                            f"trying again in {int(remaining + 0.999)} s",
                        )
                    )
                    self._sleep(min(1.0, remaining))
                retrigger()
                triggered = time.monotonic()
                continue
            self._sleep(poll)

    def _sleep(self, seconds: float) -> None:
        """Wait, or end the wait at once with Cancelled when the run is cancelled meanwhile."""
        if self.cancel is not None:
            if self.cancel.wait(seconds):
                raise Cancelled()
        else:
            time.sleep(seconds)

    # --- status, logs ----------------------------------------------------------

    def status(self) -> GroupStatus:
        g = self._read_group()
        if g is None:
            return GroupStatus(exists=False)
        group = _group_view(g, self._a.container_group)
        first = (g.containers or [None])[0]
        view = first.instance_view if first is not None else None
        current = view.current_state if view is not None else None
        previous = view.previous_state if view is not None else None
        run = (
            current
            if current is not None and (current.start_time or current.exit_code is not None)
            else previous
        )
        state = group.state or (current.state if current is not None and current.state else "")
        return GroupStatus(
            exists=True,
            state=state or group.provisioning_state,
            image=group.image,
            cpu=group.cpu,
            memory_gb=group.memory_gb,
            started=run.start_time if run is not None else None,
            finished=run.finish_time if run is not None else None,
            exit_code=run.exit_code if run is not None else None,
        )

    def logs(self, tail: int | None = None) -> str:
        a = self._a
        from azure.core.exceptions import HttpResponseError

        with self._errors(f"read the logs of {a.container_group}", "logs"):
            try:
                result = self._client("aci").containers.list_logs(
                    a.resource_group, a.container_group, a.container_group, tail=tail
                )
            except HttpResponseError as exc:
                if is_not_found(exc):
                    raise WizardError(
                        f"container group {a.container_group} does not exist in {a.resource_group}",
                        "run deploy first",
                        code=ErrorCode.AZURE_NOT_FOUND,
                        upstream="ResourceNotFound",
                    ) from exc
                raise
        return redact.redact(result.content or "")

    def follow_logs(self, on_text: Callable[[str], None], *, poll: float = 2.0) -> GroupStatus:
        """Hand new log text to ``on_text`` until the run ends (or cancel); returns the end state."""
        seen = ""
        while True:
            status = self.status()
            text = self.logs() if status.exists else ""
            new = _new_text(seen, text)
            if new:
                on_text(new)
            seen = text
            if not status.running:
                return status
            if self.cancel is not None:
                if self.cancel.wait(poll):
                    return status
            else:
                time.sleep(poll)


def _specific_failures_first(actions: Any) -> list[Any]:
    """A loop that failed says only "ActionFailed": the action inside it says why."""
    listed = list(actions)

    def generic(action: Any) -> bool:
        error = action.error if isinstance(action.error, dict) else {}
        return str(error.get("code") or _text(action.code)) == "ActionFailed"

    return [a for a in listed if not generic(a)] + [a for a in listed if generic(a)]


def _identity_not_ready(run: WorkflowRun) -> bool:
    """A managed-identity start refused by ARM (403 AuthorizationFailed)."""
    return run.status == "failed" and (
        run.code in ("AuthorizationFailed", "Forbidden") or "AuthorizationFailed" in run.message
    )


def _new_text(seen: str, text: str) -> str:
    """The part of ``text`` not yet shown. ACI keeps only the log's tail, so the old text
    may have scrolled off the front: find the longest overlap of old end and new start."""
    if not seen:
        return text
    if text.startswith(seen):
        return text[len(seen) :]
    for size in range(min(len(seen), len(text)), 0, -1):
        if seen.endswith(text[:size]):
            return text[size:]
    return text
