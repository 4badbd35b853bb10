"""The tree is the architecture: services/ sub-packages import only the layers below them, never
Dash, and Flask only in services/web (docs/ARCHITECTURE.md, "Who may import whom")."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
TOP_LEVEL = {"config", "background", "memory", "redis_keys", "timestamps"}
# package -> the packages it may import (besides itself and the top-level modules)
ALLOWED = {
    "scoring": set(),
    "analysis": {"scoring"},
    "finance": set(),
    "storage": {"analysis"},
    "security": {"storage"},
    "ingest": {"security"},
    "realtime": {"finance"},
    "tenants": {"storage", "security", "scoring"},
    "history": {"storage", "analysis", "scoring"},
    "pipeline": {"scoring", "storage", "ingest", "realtime", "history"},
    "simulation": {"analysis", "ingest", "realtime", "tenants"},
    "cluster": set(),
    "runtime": {"scoring", "analysis", "finance", "storage", "security", "ingest", "realtime", "tenants",
                "history", "pipeline", "simulation", "cluster"},
    "web": {"scoring", "analysis", "finance", "storage", "security", "ingest", "realtime", "tenants",
            "history", "pipeline", "simulation", "cluster", "runtime"},
}
WEB_FRAMEWORKS = ("flask", "flask_login", "flask_wtf", "flask_limiter", "flask_talisman", "werkzeug")


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "services" or len(parts) < 2:
        return None
    return parts[1] if (SERVICES / parts[1]).is_dir() else "(top)"


def modules():
    return sorted(p for p in SERVICES.rglob("*.py"))


def test_every_sub_package_is_in_the_map():
    packages = {p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)
    top = {p.stem for p in SERVICES.glob("*.py")} - {"__init__"}
    assert top == TOP_LEVEL


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path):
    rel = path.relative_to(SERVICES)
    own = rel.parts[0] if len(rel.parts) > 1 else "(top)"
    for module, names in imports(path):
        root = module.split(".")[0]
        assert root != "dash", f"{rel} imports Dash"
        if root in WEB_FRAMEWORKS:
            assert own == "web", f"{rel} imports {module}: Flask belongs in services/web"
        if own == "(top)":
            targets = [package_of(n) for n in [module, *names]]
            assert all(t in (None, "(top)") for t in targets), f"top-level {rel} imports a sub-package: {module}"
            continue
        target = package_of(module)
        if module == "services":          # `from services import x`: x is the package
            for name in names:
                target = package_of(name)
                assert target in (None, "(top)", own) or target in ALLOWED[own], f"{rel} imports {name}"
            continue
        assert target in (None, "(top)", own) or target in ALLOWED[own], \
            f"{rel} imports {module}: {own} may import {sorted(ALLOWED[own]) or 'no other package'}"
