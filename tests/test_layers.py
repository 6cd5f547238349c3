"""The layer direction of the design doc, checked by parsing every import."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "pyagent_providers": ROOT / "providers" / "pyagent_providers",
    "pyagent_guardrails": ROOT / "guardrails" / "pyagent_guardrails",
    "pyagent_router": ROOT / "router" / "pyagent_router",
    "pyagent_patterns": ROOT / "patterns" / "pyagent_patterns",
    "pyagent_server": ROOT / "server" / "pyagent_server",
}
# providers ← router ← patterns ← server, guardrails ← patterns (the CLI may import all).
ALLOWED = {
    "pyagent_providers": set(),
    "pyagent_guardrails": set(),
    "pyagent_router": {"pyagent_providers"},
    "pyagent_patterns": {"pyagent_providers", "pyagent_router", "pyagent_guardrails"},
    "pyagent_server": {
        "pyagent_providers",
        "pyagent_router",
        "pyagent_guardrails",
        "pyagent_patterns",
    },
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_imports_only_lower_layers(package: str) -> None:
    ours = set(PACKAGES) | {"pyagent_cli", "cookbook", "bench", "tests"}
    violations = []
    for path in sorted(PACKAGES[package].rglob("*.py")):
        for name in imported_top_levels(path) & ours:
            if name != package and name not in ALLOWED[package]:
                violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom pyagent_patterns.base import Agent\nimport pyagent_router.x\n")
    assert imported_top_levels(bad) == {"os", "pyagent_patterns", "pyagent_router"}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_are_typed(package: str) -> None:
    assert (PACKAGES[package] / "py.typed").exists()
