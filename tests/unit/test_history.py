"""The history join (pure): runs + the container's last run + submissions -> rows people read."""

from __future__ import annotations

import datetime as dt
import json

from numerai_aci_wizard.engines import GroupStatus, Submission, WorkflowRun
from numerai_aci_wizard.history import build_history, explain_failure, iso
from numerai_aci_wizard.present import history_lines, texts

MODEL = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
SECOND = "9a0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=dt.UTC)


def sub(round_: int, when: dt.datetime) -> Submission:
    return Submission(id=f"s{round_}", round=round_, trigger_id=None, inserted_at=when)


def test_a_week_of_rounds_reads_as_one_row_per_call_newest_first() -> None:
    runs = [
        WorkflowRun("r1", at(24, 13), "succeeded", ended=at(24, 13, 0, 2)),
        WorkflowRun("r3", at(26, 13, 0, 4), "succeeded", ended=at(26, 13, 0, 6)),
        WorkflowRun(
            "r2",
            at(25, 13),
            "failed",
            failed_action="Start_container_group",
            code="Unauthorized",
            message="The API connection 'aci' is not authorized",
        ),
    ]
    subs = {MODEL: [sub(1101, at(26, 13, 4, 51)), sub(1099, at(24, 13, 5))]}
    group = GroupStatus(exists=True, state="Succeeded", exit_code=0)
    history = build_history(runs, subs, group=group, model_names={MODEL: "ada"})

    newest, failed, oldest = history.runs
    assert [r.run for r in history.runs] == ["r3", "r2", "r1"]
    assert newest.detail == "round 1101: called 13:00:04, started, exit 0, submitted 13:04:51 (ada)"
    assert newest.round == 1101 and not newest.no_submission
    assert failed.status == "failed" and "not authorized yet" in failed.detail
    assert "portal" in failed.hint and failed.round is None and not failed.container_started
    # the group remembers one run: the older started call shows no exit code
    assert oldest.exit_code is None and oldest.round == 1099
    assert [(s.model, s.round) for s in history.submissions] == [("ada", 1101), ("ada", 1099)]


def test_a_started_run_without_a_submission_is_flagged_with_the_exit_code() -> None:
    runs = [WorkflowRun("r1", at(26, 13), "succeeded")]
    group = GroupStatus(exists=True, state="Failed", exit_code=1)
    history = build_history(runs, {MODEL: [sub(1099, at(20, 13))]}, group=group)
    [row] = history.runs
    assert row.no_submission and "NO SUBMISSION" in row.detail and "exit 1" in row.detail
    assert "exited with 1" in row.hint and "logs" in row.hint


def test_a_run_still_going_is_not_flagged_and_unknown_submissions_flag_nothing() -> None:
    runs = [WorkflowRun("r1", at(26, 13), "succeeded")]
    running = build_history(runs, {MODEL: []}, group=GroupStatus(exists=True, state="Running"))
    assert not running.runs[0].no_submission and "running" in running.runs[0].detail
    starting = [WorkflowRun("r2", at(27, 13), "running"), *runs]
    rows = build_history(starting, {MODEL: []}, group=GroupStatus(exists=True, state="Running"))
    assert rows.runs[0].status == "running" and rows.runs[1].container_state == ""
    unknown = build_history(runs, None, group=GroupStatus(exists=True, state="Succeeded"))
    assert not unknown.runs[0].no_submission and "NUMERAI_SECRET_KEY" in unknown.note
    problem = build_history(runs, None, numerai_problem="cannot reach Numerai")
    assert "cannot reach Numerai" in problem.note


def test_submissions_of_several_models_go_under_the_call_before_them() -> None:
    runs = [
        WorkflowRun("new", at(26, 13), "succeeded"),
        WorkflowRun("old", at(25, 13), "succeeded"),
    ]
    subs = {
        MODEL: [sub(1101, at(26, 13, 5)), sub(1100, at(25, 13, 5))],
        SECOND: [sub(1101, at(26, 13, 6))],
    }
    history = build_history(runs, subs)
    new, old = history.runs
    assert sorted(s.model for s in new.submitted) == sorted([MODEL, SECOND])
    assert [s.round for s in old.submitted] == [1100]


def test_failure_reasons_in_the_users_words() -> None:
    def why(code: str, message: str = "", trigger: str = "api-connection") -> str:
        return explain_failure(
            WorkflowRun("r", at(1, 1), "failed", code=code, message=message), trigger
        )[0]

    assert "not authorized yet" in why("Unauthorized")
    # a signed-in connection whose account lacks rights is not "not authorized yet"
    refused = why(
        "Forbidden",
        "The client 'ada@example.com' with object id 'x' does not have authorization to perform "
        "action 'Microsoft.ContainerInstance/containerGroups/start/action'",
    )
    assert "not authorized yet" not in refused
    assert "account the API connection 'aci' was authorized with may not start" in refused
    assert "not authorized yet" not in why("AuthorizationFailed", "does not have authorization")
    role = why("AuthorizationFailed", "does not have authorization", "managed-identity")
    assert role.startswith("AuthorizationFailed") and "role assignment" in role
    assert "cannot be pulled" in why("InaccessibleImage", "The image 'x' is not accessible")
    assert "quota" in why("ContainerGroupQuotaReached")
    assert "could not start" in why("SomethingElse", "odd")


def test_json_shape_has_iso_utc_times_and_the_documented_fields() -> None:
    runs = [WorkflowRun("r1", at(26, 13), "succeeded")]
    history = build_history(runs, {MODEL: [sub(1101, at(26, 13, 4, 51))]})
    data = json.loads(json.dumps(history.to_dict()))
    assert set(data) == {"runs", "submissions", "submissions_known", "note"}
    [row] = data["runs"]
    assert row["started"] == "2026-11-26T13:00:00Z" and row["status"] == "succeeded"
    assert data["submissions"] == [
        {"model": MODEL, "round": 1101, "submitted": "2026-11-26T13:04:51Z"}
    ]
    assert iso(dt.datetime(2026, 1, 1, 12)) == "2026-01-01T12:00:00Z"
    offset = dt.datetime(2026, 1, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert iso(offset) == "2026-01-01T12:00:00Z"


def test_render_shows_failures_with_what_to_do_and_an_empty_history_says_so() -> None:
    runs = [WorkflowRun("r", at(25, 13), "failed", code="Unauthorized")]
    lines = texts(history_lines(build_history(runs, {MODEL: []})))
    assert lines[0].startswith("✗ 2026-11-25 called 13:00:00, not started")
    assert lines[1].startswith("    what to do: authorize")
    assert "No webhook calls yet" in texts(history_lines(build_history([], {})))[0]


def test_the_rehearsal_names_the_first_error_the_container_printed() -> None:
    from numerai_aci_wizard.rehearse import error_line, local_env
    from numerai_aci_wizard.settings import Secrets, Settings

    tail = [
        "[   1.0s] round 1101, data v5.0",
        "[   7.2s] error: model ada: NotFittedError: This LinearRegression instance is not fitted",
        "[   7.3s] error: 1 of 1 submission(s) did not land (ada)",
    ]
    assert error_line(tail).startswith("error: model ada: NotFittedError")
    assert error_line(["just output"]) == "just output"
    s = Settings()
    s.numerai.model_ids = [MODEL, SECOND]
    env = local_env(s, Secrets("P" * 32, "S" * 64, ""), {"NUMERAI_API_URL": "http://127.0.0.1:1"})
    assert env["NUMERAI_MODEL_IDS"] == f"{MODEL},{SECOND}" and env["NUMERAI_MODEL_ID"] == MODEL
    assert env["NUMERAI_API_URL"] == "http://127.0.0.1:1" and env["NUMERAI_SECRET_KEY"] == "S" * 64
    assert "NUMERAI_API_URL" not in local_env(s, Secrets("P" * 32, "S" * 64, ""), {})
