"""The drop-in tests run against our dgen_py by default, or against the old PyPI package
dgen-py 0.3.0 when DGEN_COMPAT_OLD=1 (installed in its own virtual environment: see
README.md, "dgen_py as a drop-in for dgen-py 0.3.0").

``OLD`` tells the tests which one they are checking. Assertions under ``ours_only`` are where we
deliberately do better than dgen-py 0.3.0 (README lists them); ``old_bug`` marks a documented
shape the old package does not meet, expected to fail there and to pass here.
"""

import dgen_py
import pytest
from ._compat import OLD

if OLD and getattr(dgen_py, "__version__", None) != "0.3.0":
    pytest.exit(
        f"DGEN_COMPAT_OLD=1 but dgen_py {getattr(dgen_py, '__version__', '?')} from "
        f"{dgen_py.__file__} is not dgen-py 0.3.0",
        returncode=4,
    )
if not OLD and getattr(dgen_py, "__version__", None) == "0.3.0":
    pytest.exit("this is dgen-py 0.3.0: set DGEN_COMPAT_OLD=1 to test it", returncode=4)
