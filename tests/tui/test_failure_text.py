"""Every step shows a failure one way: the Deploy step's (present.failure_lines, styled)."""

from __future__ import annotations

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.present import failure_lines
from numerai_aci_wizard.tui.messages import failure_text
from numerai_aci_wizard.tui.style import styled


def test_a_steps_failure_is_the_deploy_steps_layout_escaped_and_masked() -> None:
    error = WizardError(
        "Azure said \x1b]52;c;cHduZWQ=\x07 at https://x/invoke?sig=SECRET-SIG",
        "check the endpoint",
    )
    shown = failure_text(error)
    assert shown.plain == (
        "✗ Azure said \\x1b]52;c;cHduZWQ=\\x07 at https://x/invoke?sig=***\n"
        "What to do: check the endpoint"
    )
    deploy = styled(failure_lines(error.message, error.hint))
    assert (shown.plain, shown.spans) == (deploy.plain, deploy.spans)
    assert shown.spans[0].style == "bold red"  # the mark, in the failed tone


def test_a_failure_without_a_hint_is_one_line() -> None:
    assert failure_text(WizardError("the plan failed")).plain == "✗ the plan failed"
