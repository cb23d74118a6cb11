"""The wheel ships every file billing needs: each non-Python file is matched by a package-data glob."""

import re
import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def files_under(*roots: str) -> list[PurePosixPath]:
    return [
        PurePosixPath(path.relative_to(ROOT).as_posix())
        for root in roots
        for path in (ROOT / root).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]


def shipped(path: PurePosixPath, globs: list[str]) -> bool:
    """Whether some package's glob (relative to that package's directory) matches ``path``."""
    for depth in range(1, len(path.parts)):
        relative = PurePosixPath(*path.parts[depth:])
        for glob in globs:
            if _match(relative, glob):
                return True
    return False


def _match(relative: PurePosixPath, glob: str) -> bool:
    """setuptools' globs as used here: "dir/**/*" is anything under dir/, "dir/*.py" one level down."""
    head, _, tail = glob.partition("/")
    if not tail:
        return relative.match(glob) and len(relative.parts) == 1
    if relative.parts[0] != head:
        return False
    rest = PurePosixPath(*relative.parts[1:]) if len(relative.parts) > 1 else None
    if rest is None:
        return False
    return True if tail == "**/*" else _match(rest, tail)


def test_every_data_file_of_billing_is_shipped():
    globs = pyproject()["tool"]["setuptools"]["package-data"]["*"]
    data = [path for path in files_under("billing", "subscriptions") if path.suffix != ".py"]
    assert [str(path) for path in data if not shipped(path, globs)] == []


def test_templates_static_translations_and_migrations_are_shipped_by_glob():
    globs = pyproject()["tool"]["setuptools"]["package-data"]["*"]
    for path in [
        "billing/templates/billing/base.html",
        "billing/templates/admin/billing/billingkey/change_form.html",
        "billing/static/billing/billing.css",
        "billing/locale/ko/LC_MESSAGES/django.mo",
        "subscriptions/templates/subscriptions/plan_list.html",
    ]:
        assert shipped(PurePosixPath(path), globs), path
    assert not shipped(PurePosixPath("billing/notes.txt"), globs)


def test_the_package_is_billing_and_subscriptions_not_the_demo_site():
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["billing*", "subscriptions*"]
    assert {"merchant_site*", "tests*", "benchmarks*"} <= set(find["exclude"])


def test_runtime_dependencies_are_ranges_not_pins():
    dependencies = pyproject()["project"]["dependencies"]
    assert dependencies
    assert not [dependency for dependency in dependencies if "==" in dependency]


def test_the_changelog_describes_the_version_being_built():
    import billing

    versions = re.findall(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert versions[0] == billing.__version__
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "billing.__version__"}
