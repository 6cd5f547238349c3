"""`pyagent --recipe`: a module path or an entry point names the system the commands run."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, EntryPoints
from pathlib import Path

import pytest

from pyagent_cli import recipes
from pyagent_cli.main import main
from pyagent_cli.recipes import DEFAULT_RECIPE, ENTRY_POINT_GROUP, load_recipe

ROOT = Path(__file__).resolve().parents[2]

# A recipe of its own: no models, no triage; it answers `route` and `demo` in its own way.
ECHO_RECIPE = """
from typing import Literal

from pyagent_cookbook.customer_support import RoutingDecision

Classification = Literal["auto", "local"]


class SupportSystem:
    def __init__(self, *, classification: str = "auto", **options: object) -> None:
        self.classification = classification

    async def route(self, text: str, **options: object) -> RoutingDecision:
        return RoutingDecision(
            category="general", priority="low", assigned_team="support", sentiment="neutral",
            difficulty=1, route="fast", bot="echo", model="echo:1", online_model="echo:1",
            redacted_text=text, pii_found=False, pii_findings=(), escalation_reason=None,
            escalation_reasons=(), confidence={}, decided_by={},
            classification=self.classification, backend="echo", input_tokens=0, cost_usd="0",
            cost_estimated=False,
        )


async def demo() -> None:
    print("echo recipe demo")
"""


@pytest.fixture
def echo_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module ``echo_recipe_<n>`` (a fresh name, so no test sees another's)."""
    name = f"echo_recipe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(ECHO_RECIPE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _entry_points(**names: str) -> EntryPoints:
    return EntryPoints(
        EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in names.items()
    )


def _fake_registry(monkeypatch: pytest.MonkeyPatch, **names: str) -> None:
    def entry_points(*, group: str, name: str | None = None) -> EntryPoints:
        found = _entry_points(**names) if group == ENTRY_POINT_GROUP else EntryPoints(())
        return found.select(name=name) if name is not None else found

    monkeypatch.setattr(recipes, "entry_points", entry_points)


def test_a_module_path_names_the_recipe_the_command_runs(
    echo_recipe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--recipe", echo_recipe, "route", "--json", "hello there"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["bot"], decision["backend"], decision["classification"]) == (
        "echo", "echo", "auto",
    )  # fmt: skip
    assert main(["--recipe", echo_recipe, "demo"]) == 0
    assert capsys.readouterr().out == "echo recipe demo\n"


def test_an_entry_point_name_names_the_recipe(
    echo_recipe: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_registry(monkeypatch, echo=echo_recipe)
    assert main(["--recipe", "echo", "demo"]) == 0
    assert capsys.readouterr().out == "echo recipe demo\n"


def test_the_cookbook_registers_the_default_recipe_as_customer_support() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    registered = pyproject["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert registered == {
        "customer-support": DEFAULT_RECIPE,
        "kb-autoreply": "pyagent_cookbook.recipes.kb_autoreply",
        "branch-agents": "pyagent_cookbook.recipes.branch_agents",
        "ticket-automation": "pyagent_cookbook.recipes.ticket_automation",
    }
    # installed (pip install -e . reads pyproject.toml): the name and the path are one recipe
    by_name = load_recipe("customer-support", "chat")
    by_path = load_recipe(DEFAULT_RECIPE, "chat")
    assert by_name.source is by_path.source is importlib.import_module(DEFAULT_RECIPE)
    assert by_name.classifications == ("auto", "local", "cascade", "llm")
    for command in recipes.NEEDS:
        load_recipe(DEFAULT_RECIPE, command)  # the default serves every command


@pytest.mark.parametrize(
    ("recipe", "command", "says"),
    [
        ("no_such_recipe.anywhere", ["route", "hi"], "unknown recipe 'no_such_recipe.anywhere'"),
        ("not a module!", ["demo"], "unknown recipe 'not a module!'"),
        ("", ["demo"], "unknown recipe ''"),
        ("pyagent_cookbook.data", ["chat"], "does not provide chat_handler, Classification"),
        ("dangling", ["demo"], "its entry point names 'no_such_module_x', which is not installed"),
    ],
)
def test_a_bad_recipe_exits_2_with_one_line(
    recipe: str,
    command: list[str],
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fake_registry(monkeypatch, dangling="no_such_module_x")
    assert main(["--recipe", recipe, *command]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert err.startswith(f"pyagent {command[0]}: ")


def test_a_recipe_without_the_classification_asked_for_exits_2(
    echo_recipe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--recipe", echo_recipe, "route", "hi", "--classification", "llm"]) == 2
    assert "has no classification 'llm' (it has: auto, local)" in capsys.readouterr().err


def test_help_lists_recipe_and_neither_help_nor_a_bad_argument_imports_one() -> None:
    probe = (
        "import sys\n"
        "from pyagent_cli.main import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print(code, 'pyagent_cookbook.customer_support' in sys.modules)\n"
    )
    outputs = {}
    for args, code in ((["--help"], 0), (["--recipe", DEFAULT_RECIPE, "route"], 2)):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert done.stdout.strip().splitlines()[-1] == f"{code} False", done.stderr
        outputs[args[0]] = done.stdout
    assert "--recipe NAME" in outputs["--help"] and ENTRY_POINT_GROUP in outputs["--help"]
