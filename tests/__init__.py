"""The suite certifies the installed package, the one `pip install .` gives a user, never
the checkout it sits in.

`python -m pytest` puts the working directory first on `sys.path`, and pytest puts the
checkout there to import `tests`; either would let `import portal` find `./portal`, where
a data file that the wheel lacks is still present. So, before any test module imports
them, the checkout leaves `sys.path`, the three packages are imported from
site-packages, and child processes (`python -m portal …`) get `PYTHONSAFEPATH`, which
keeps their working directory off their path too.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGES = ("portal", "schemas", "harvesters")
# Testing the checkout itself (an editable install) is a deliberate choice, never a default.
SOURCE_TREE_ALLOWED = os.environ.get("PORTAL_TEST_SOURCE_TREE") == "1"


def _is_checkout(entry: str) -> bool:
    try:
        return Path(entry or ".").resolve() == CHECKOUT
    except OSError:
        return False


def _import_installed() -> None:
    sys.path[:] = [entry for entry in sys.path if not _is_checkout(entry)]
    os.environ["PYTHONSAFEPATH"] = "1"
    for name in PACKAGES:
        module = importlib.import_module(name)
        location = Path(module.__file__ or "").resolve()
        if location.is_relative_to(CHECKOUT) and not SOURCE_TREE_ALLOWED:
            raise ImportError(
                f"`{name}` comes from the checkout ({location}), not from an installed package. "
                'The tests certify what users install: run `pip install ".[test]"` (not -e), '
                "or set PORTAL_TEST_SOURCE_TREE=1 to test the checkout on purpose."
            )


_import_installed()
