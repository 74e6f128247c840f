"""Shared test configuration: Hypothesis profiles.

``default`` keeps the suite quick (every test sets its own ``max_examples``; the profile
only fixes the deadline policy and the database); ``ci`` is derandomized so that CI runs
are reproducible; ``thorough`` multiplies the examples for a long local hunt::

    HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/net
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,  # first calls compile closures and warm caches; timing is not the property
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("thorough", parent=settings.get_profile("default"),
                          max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
