"""The floors of docs/architecture.md hold: no module imports from a floor above its own (domain
apps nothing from ops, core no app, the project package nothing of either), and no domain
migration depends on an ops migration. Tests of any app may import anything."""

import ast

import pytest
from django.db.migrations.loader import MigrationLoader

from tests.support.processes import ROOT

DOMAIN_APPS = ("cases", "skills", "discovery")
PROJECT_PACKAGES = ("legalplatform", "core", *DOMAIN_APPS, "ops")
# package -> the project's packages it must never import
FORBIDDEN = {
    "legalplatform": {"core", *DOMAIN_APPS, "ops"},
    "core": {*DOMAIN_APPS, "ops"},
    **{app: {"ops"} for app in DOMAIN_APPS},
    "ops": set(),
}


def imported_packages(path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the module, nested ones included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "tests" not in path.relative_to(ROOT).parts:
            yield path


def upward_imports(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in modules(package)
        for line, imported in sorted(imported_packages(path))
        if imported in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", PROJECT_PACKAGES)
def test_no_module_imports_from_a_floor_above_its_own(package):
    assert list(modules(package)), f"no modules found under {package}/"
    assert upward_imports(package) == []


def test_the_rule_sees_an_upward_import(tmp_path, monkeypatch):
    """The check is not vacuous: an import of ops inside a function of a domain app is found."""
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "reports.py").write_text(
        "import json\n\n\ndef report():\n    from ops.integrity import validate\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert upward_imports("skills") == ["skills/reports.py:5 imports ops"]


def test_no_domain_migration_depends_on_an_ops_migration():
    loader = MigrationLoader(None, load=False)
    loader.load_disk()
    upward = [
        f"{app}.{name} depends on {dependency}"
        for (app, name), migration in loader.disk_migrations.items()
        if app in (*DOMAIN_APPS, "core")
        for dependency in migration.dependencies
        if dependency[0] == "ops"
    ]
    assert loader.disk_migrations and upward == []
