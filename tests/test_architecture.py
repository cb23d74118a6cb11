"""The direction of imports (docs/architecture.md), checked on the source with ``ast``.

pages / API / admin / webhooks -> billing.services -> billing.iamport (client) and billing.models.
Only the services (and management commands) know that i'mport exists; the i'mport package knows
nothing of billing; the sandbox knows nothing but itself.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "billing"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            # ``from billing import iamport`` imports a module too.
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def touches(modules: set[str], target: str) -> set[str]:
    return {name for name in modules if name == target or name.startswith(target + ".")}


def python_files(*patterns: str) -> list[Path]:
    files = sorted({path for pattern in patterns for path in BILLING.glob(pattern)})
    assert files, f"nothing matched {patterns}: the guard would check nothing"
    return files


ABOVE_THE_SERVICES = python_files(
    "views.py", "webhooks.py", "forms.py", "api/*.py", "admin.py", "admin/**/*.py"
)


@pytest.mark.parametrize("path", ABOVE_THE_SERVICES, ids=lambda path: str(path.relative_to(ROOT)))
def test_pages_api_admin_and_webhooks_never_import_iamport(path):
    assert not touches(imports_of(path), "billing.iamport")


@pytest.mark.parametrize("path", python_files("services/*.py", "cooldown.py"), ids=lambda path: path.name)
def test_the_services_import_no_drf(path):
    assert not touches(imports_of(path), "rest_framework")


@pytest.mark.parametrize(
    "path",
    [path for path in python_files("iamport/**/*.py") if "sandbox" not in path.parts],
    ids=lambda path: str(path.relative_to(BILLING)),
)
def test_the_iamport_client_knows_nothing_of_billing(path):
    outside = {
        name
        for name in touches(imports_of(path), "billing")
        # billing.conf (billing's settings, which imports nothing of billing) is where get_client reads
        if not name.startswith(("billing.iamport", "billing.conf"))
    }
    assert not outside


@pytest.mark.parametrize("path", python_files("iamport/sandbox/**/*.py"), ids=lambda path: path.name)
def test_the_sandbox_imports_nothing_of_billing_but_itself(path):
    outside = {
        name
        for name in touches(imports_of(path), "billing")
        if not name.startswith("billing.iamport.sandbox")
    }
    assert not outside


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from .iamport.errors import IamportRefused", "billing.views", "billing.iamport.errors"),
        ("from billing import iamport", "billing.api.errors", "billing.iamport"),
        ("from ..iamport import types", "billing.api.serializers", "billing.iamport.types"),
        ("import billing.iamport.client", "billing.webhooks", "billing.iamport.client"),
        ("from ...models import BillingKey", "billing.iamport.sandbox.app", "billing.models"),
    ],
)
def test_the_guard_sees_each_way_of_importing(source, module, expected):
    assert expected in imported_modules(source, module)


@pytest.mark.parametrize("path", python_files("**/*.py"), ids=lambda p: str(p.relative_to(BILLING)))
def test_billing_never_imports_the_apps_built_on_it(path):
    # subscriptions depends on billing, never the other way: billing installs and runs alone.
    assert touches(imports_of(path), "subscriptions") == set()


def test_the_guard_sees_an_import_of_subscriptions():
    assert touches(imported_modules("from subscriptions.models import Renewal", "billing.x"), "subscriptions")
