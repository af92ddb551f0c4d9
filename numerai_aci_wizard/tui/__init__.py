"""The Textual wizard: a thin view that collects answers and drives :mod:`numerai_aci_wizard.pipeline`.

Nothing outside this package imports Textual, so the headless CLI starts without it.
"""
