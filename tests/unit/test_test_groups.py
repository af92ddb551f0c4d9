"""The suite's own plumbing: under ``-n auto --dist loadgroup`` (the README's command) every
real-engine test is in the one ``docker`` group, so one worker starts one dockerd and builds
the prediction image once (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.mark.docker
def test_a_docker_test_is_in_the_docker_group_when_the_suite_runs_grouped(
    request: pytest.FixtureRequest,
) -> None:
    grouped = bool(getattr(request.config.option, "loadgroup", False))
    worker = hasattr(request.config, "workerinput")
    if grouped and worker:
        # xdist names a test's group in its node id: what its scheduler sends to one worker
        assert request.node.nodeid.endswith("@docker"), request.node.nodeid
    else:
        assert "@" not in request.node.nodeid
