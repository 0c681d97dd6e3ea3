"""What `pip install .` gives a user holds every file of the packages, as the checkout has it.

A data file left out of `[tool.setuptools.package-data]` is present in the checkout and
missing for every user (once it was the search synonyms: every search with words a 500).
"""

from __future__ import annotations

import base64
import glob
import hashlib
import tomllib
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

import portal
from tests import CHECKOUT, PACKAGES

DISTRIBUTION = "qingdao-data-portal"
# Files of the packages that nothing reads at run time: build inputs only.
BUILD_ONLY = {"portal/web/babel.cfg"}


def checkout_files() -> set[str]:
    """Every file of the three packages in the checkout, as a path relative to it."""
    found = set()
    for package in PACKAGES:
        for path in (CHECKOUT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.add(path.relative_to(CHECKOUT).as_posix())
    return found - BUILD_ONLY


def declared_files() -> set[str]:
    """What pyproject.toml tells setuptools to install: the modules of every package it
    finds, and the files its package-data patterns match. Read from the configuration,
    because a stale `build/` folder can still hand a wheel the file it no longer declares."""
    config = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    patterns = setuptools["packages"]["find"]["include"]
    found = set()
    for init in (init for top in PACKAGES for init in (CHECKOUT / top).glob("**/__init__.py")):
        package = init.parent.relative_to(CHECKOUT)
        if any(fnmatch(".".join(package.parts), pattern) for pattern in patterns):
            found.update(f"{package.as_posix()}/{py.name}" for py in init.parent.glob("*.py"))
    for package, globs in setuptools["package-data"].items():
        root = CHECKOUT / package.replace(".", "/")
        for pattern in globs:
            for name in glob.glob(pattern, root_dir=root, recursive=True):
                if (root / name).is_file():
                    found.add((root / name).relative_to(CHECKOUT).as_posix())
    return found


def installed_distribution() -> metadata.Distribution:
    """The distribution that installed the `portal` the tests import (looked up beside it:
    the checkout may hold an egg-info of its own)."""
    site_packages = str(Path(portal.__file__).resolve().parents[1])
    return next(metadata.distributions(name=DISTRIBUTION, path=[site_packages]))


def installed_files() -> dict[str, str]:
    """Path → RECORD hash of every file the installed distribution put in site-packages."""
    files = installed_distribution().files or []
    return {file.as_posix(): file.hash.value for file in files if file.hash is not None}


def record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_the_tests_import_the_installed_package() -> None:
    location = Path(portal.__file__).resolve()
    assert not location.is_relative_to(CHECKOUT), location
    installed = Path(str(installed_distribution().locate_file("portal")))
    assert location == (installed / "__init__.py").resolve()


def test_pyproject_declares_every_file_of_the_packages() -> None:
    wanted = checkout_files()
    assert "portal/web/templates/base.html" in wanted and "harvesters/data/labels.yaml" in wanted
    undeclared = sorted(wanted - declared_files())
    assert not undeclared, (
        "files of the packages that pyproject.toml does not install "
        f"(add them to [tool.setuptools.package-data]): {undeclared}"
    )


def test_every_file_of_the_packages_is_installed() -> None:
    wanted = checkout_files()
    assert "portal/search/synonyms.txt" in wanted and "schemas/vocab/grades.yaml" in wanted
    missing = sorted(wanted - installed_files().keys())
    assert not missing, (
        "files of the checkout that `pip install .` does not install "
        f"(add them to [tool.setuptools.package-data] in pyproject.toml): {missing}"
    )


def test_the_installed_files_are_the_checkouts() -> None:
    installed = installed_files()
    stale = sorted(
        name
        for name in checkout_files() & installed.keys()
        if record_hash(CHECKOUT / name) != installed[name]
    )
    assert not stale, (
        f'the installed package is not this checkout; run pip install ".[test]": {stale}'
    )
