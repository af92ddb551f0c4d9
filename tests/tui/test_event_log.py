"""The log file tells a wizard deploy's story once: every pipeline event is one line."""

from __future__ import annotations

import logging
import re
from collections import Counter

from numerai_aci_wizard.logs import setup_logging
from numerai_aci_wizard.tui.screens.deploy import DeployScreen
from tests.tui.conftest import FULL_ENV, SIZE, answered, settle


async def test_each_deploy_event_is_logged_once(make_app) -> None:
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    path = setup_logging()
    assert path is not None
    try:
        app = make_app(answered(), env=FULL_ENV)
        async with app.run_test(size=SIZE) as pilot:
            app.goto("review")
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(app.screen, DeployScreen)
        for handler in root.handlers:
            handler.flush()
        lines = path.read_text().splitlines()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], level = kept
        root.setLevel(level)
    # "<date> <time> LEVEL logger: message": the message of every wizard event line
    events = [
        re.sub(r"^\S+ \S+ \S+ \S+: ", "", line)
        for line in lines
        if " numerai_aci_wizard." in line and " numerai_aci_wizard.wizard:" not in line
    ]
    # the Review's own plan is a run of its own: the deploy's story starts at its checks
    deploy = events[next(i for i, e in enumerate(events) if e.startswith("[checks] Checking")) :]
    assert any(e.startswith("[webhook]") for e in deploy), deploy  # the deploy reached its end
    assert sum(e.startswith("[plan] Comparing") for e in deploy) == 1
    repeated = {line: n for line, n in Counter(deploy).items() if n > 1}
    assert repeated == {}, deploy
    # and no second logger retells it in other words ("-> Checking ...", "ok checks: ...")
    titles = {e.split("] ", 1)[1] for e in deploy if e.startswith("[") and "] " in e}
    assert "Checking Docker, Azure and Numerai" in titles
    retold = {t: n for t in titles if len(t) > 12 and (n := sum(t in e for e in deploy)) > 1}
    assert retold == {}, deploy
