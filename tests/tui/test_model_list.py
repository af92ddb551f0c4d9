"""The model list says which models are ticked without colour, shows every saved model on a
re-run before the keys are checked, and highlights a row when it has the cursor (issue 21,
item 9)."""

from __future__ import annotations

from textual.widgets import SelectionList

from tests.support.engines import MODEL_ID, OTHER_MODEL_ID
from tests.tui.conftest import KEYS_ENV, SIZE, answered, check_keys, settle, text


def _rows(app) -> list[str]:
    listed = app.screen.query_one("#model-list", SelectionList)
    return [listed.render_line(y).text for y in range(listed.option_count)]


async def test_ticked_and_unticked_models_look_different_without_colour(make_app) -> None:
    app = make_app(answered(), env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        ticked, unticked = _rows(app)
        assert "ada_model" in ticked and "✓" in ticked
        assert "ada_second" in unticked and "✓" not in unticked


async def test_a_rerun_lists_every_saved_model_before_the_keys_are_checked(make_app) -> None:
    app = make_app(answered(numerai__model_ids=[MODEL_ID, OTHER_MODEL_ID]), env={})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        rows = _rows(app)
        assert len(rows) == 2 and all("✓" in row for row in rows)
        assert "ada_model" in rows[0] and OTHER_MODEL_ID in rows[1]
        await pilot.press("ctrl+n")  # the keys are missing: it stays, but nothing is dropped
        await pilot.pause()
        assert app.settings.numerai.model_ids == [MODEL_ID, OTHER_MODEL_ID]
        app.goto("review")
        await settle(pilot)
        assert f"Models ada_model, {OTHER_MODEL_ID}" in text(app, "#summary")


async def test_the_list_highlights_a_row_and_is_on_screen_when_it_gets_the_cursor(
    make_app,
) -> None:
    app = make_app(answered(numerai__model_ids=[]), env=KEYS_ENV)
    async with app.run_test(size=(80, 24)) as pilot:
        await check_keys(app, pilot)
        await settle(pilot)
        listed = app.screen.query_one("#model-list", SelectionList)
        assert app.focused is listed  # nothing ticked: the next question is which models
        assert listed.highlighted == 0
        body = app.screen.query_one("#body")
        top = listed.region.y
        assert body.region.y <= top < body.region.bottom  # visible, not below the fold
