"""The sandbox imports nothing of the billing app, so any V1 client can be pointed at it.

Every module under billing/iamport/sandbox is parsed (not imported) and each import, relative ones
resolved against the module's own package, must stay inside ``billing.iamport.sandbox``.
"""

import ast
from pathlib import Path

import pytest

import billing.iamport.sandbox

SANDBOX = "billing.iamport.sandbox"
SANDBOX_DIR = Path(billing.iamport.sandbox.__file__).parent
MODULES = sorted(SANDBOX_DIR.rglob("*.py"))


def _package_of(path: Path) -> list[str]:
    """The dotted package a sandbox file belongs to (its own name for an ``__init__``)."""
    parts = [*SANDBOX.split("."), *path.relative_to(SANDBOX_DIR).with_suffix("").parts]
    return parts[:-1]


def _imported_modules(source: str, package: list[str]) -> list[str]:
    """Every module the source imports, relative imports made absolute."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # ``from . import x`` may name a submodule: check each name as one.
            found.extend([module] if node.module else [f"{module}.{alias.name}" for alias in node.names])
    return found


def _billing_imports_outside_sandbox(source: str, package: list[str]) -> list[str]:
    return [
        name
        for name in _imported_modules(source, package)
        if (name == "billing" or name.startswith("billing."))
        and not (name == SANDBOX or name.startswith(SANDBOX + "."))
    ]


def test_every_sandbox_module_is_checked():
    names = {path.name for path in MODULES}
    assert {"__init__.py", "app.py", "http.py", "store.py", "cards.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(SANDBOX_DIR)))
def test_sandbox_module_imports_nothing_of_billing(path):
    assert _billing_imports_outside_sandbox(path.read_text(), _package_of(path)) == []


@pytest.mark.parametrize(
    "source",
    [
        "import billing.services",
        "from billing import services",
        "from billing.models import Payment",
        "from .. import client",  # from app.py: billing.iamport
        "from ...models import Payment",  # from app.py: billing.models
    ],
)
def test_the_check_catches_imports_of_billing(source):
    assert _billing_imports_outside_sandbox(source, _package_of(SANDBOX_DIR / "app.py")) != []


@pytest.mark.parametrize(
    "source",
    [
        "from .store import Store",
        "from . import cards",
        "from billing.iamport.sandbox.http import Refusal",
        "import json",
    ],
)
def test_the_check_allows_the_sandbox_and_the_standard_library(source):
    assert _billing_imports_outside_sandbox(source, _package_of(SANDBOX_DIR / "app.py")) == []
