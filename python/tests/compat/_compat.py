"""Helpers of the drop-in tests: which package is under test, and the markers for where ours
deliberately differs (see conftest.py)."""

import os

import pytest

OLD = os.environ.get("DGEN_COMPAT_OLD") == "1"

#: A test of a behaviour where ours deliberately differs (better) from dgen-py 0.3.0.
ours_only = pytest.mark.skipif(OLD, reason="dgen_py only: dgen-py 0.3.0 differs here (README)")


def old_bug(reason: str):
    """A documented shape dgen-py 0.3.0 gets wrong: expected to fail there only."""
    return pytest.mark.xfail(OLD, reason=f"dgen-py 0.3.0: {reason}", strict=True)
