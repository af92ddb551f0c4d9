"""A stand-in for Numerai: a synthetic live round of the real shape and a local GraphQL server.

Importable without pytest (benchmarks use it too). ``tests/fixtures/numerai_server.py`` wraps
it as the ``numerai_server`` fixture.
"""

from .round_data import SyntheticRound, synthetic_round
from .server import FakeNumerai, Submission, dead_url

__all__ = ["FakeNumerai", "Submission", "SyntheticRound", "dead_url", "synthetic_round"]
