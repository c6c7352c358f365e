"""Drop-in tests against dgen-py 0.3.0 (see conftest.py)."""
