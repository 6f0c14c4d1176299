"""Hypothesis settings for the property tests of every parser of outside input.

Examples are bounded (``fuzz`` profile, the default) so the whole directory stays well under a
minute; ``HYPOTHESIS_PROFILE=long`` runs ten times more, at random, for a local hunt. The
example database stays off, so nothing is written to the working tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile(
    "fuzz",
    max_examples=200,
    # The same examples on every run: CI is reproducible, and a new finding comes from a
    # change of code, not from luck. The long profile explores at random.
    derandomize=True,
    deadline=None,  # the in-process app's first request pays for start-up
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile(
    "long", parent=hypothesis_settings.get_profile("fuzz"), max_examples=2000, derandomize=False
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz"))

# The bot app in-process with its store, as tests/flows drives it (workers off).
from tests.flows.conftest import app, client, settings  # noqa: E402, F401
