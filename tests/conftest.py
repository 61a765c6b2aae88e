"""Shared test settings: a deterministic hypothesis profile."""

from hypothesis import settings

settings.register_profile("klcourse", max_examples=100, deadline=None, derandomize=True)
settings.load_profile("klcourse")
