"""How far a step has got, as the command line and the wizard both say it."""

from __future__ import annotations

import pytest

from numerai_aci_wizard.events import Progress


@pytest.mark.parametrize(
    ("done", "total", "unit", "said"),
    [
        (0, 512, "B", "0 B of 512 B"),
        (1536, 3 * 1024**2, "B", "1.5 KB of 3.0 MB"),
        (2 * 1024**3, 5 * 1024**3, "B", "2.0 GB of 5.0 GB"),
        (3, 7, "steps", "3 of 7 steps"),
        (1, 2, "", "1 of 2"),
    ],
)
def test_amount_in_the_unit_a_person_reads(done: float, total: float, unit: str, said: str) -> None:
    assert Progress("push", done, total, unit).amount() == said
