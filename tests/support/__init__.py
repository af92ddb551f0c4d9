"""Small helpers shared by tests (not fixtures); the package where shared test doubles go."""

from __future__ import annotations

import os

import pytest

#: someone else's Logic App flow: an HTTP trigger that only answers (it starts no container)
ANSWER_ONLY_WORKFLOW = {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/"
    "schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"request": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
    "actions": {
        "reply": {
            "type": "Response",
            "kind": "Http",
            "inputs": {"statusCode": 202},
            "runAfter": {},
        }
    },
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when a real engine is missing on a developer machine; fail in CI, where it must exist."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)
