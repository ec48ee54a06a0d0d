"""README.md and docs/ stay true: every setting documented, the CI runs the test command, CLI lines parse, and
README stays a front door."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mcp_open.edge.cli import build_parser
from mcp_open.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
DOCS = "\n".join(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))
FRONT_DOOR_LINES = 260


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_configuration_table(name: str) -> None:
    flag, env = "--" + name.replace("_", "-"), f"MCP_OPEN_{name.upper()}"
    assert re.search(rf"\| `[^`]*{re.escape(flag)}[^`]*` \| `{env}` \|", CONFIGURATION), name


def test_ci_runs_the_readme_test_command() -> None:
    assert "python -m pytest -q" in README
    assert "python -m pytest -q" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("text", [README, DOCS], ids=["README", "docs"])
def test_documented_mcp_open_commands_parse(text: str) -> None:
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL))
    commands = re.findall(r"^(?:\S+=\S+ )?mcp-open ([^#|\n]+)", shell, flags=re.MULTILINE)
    assert len(commands) >= 8
    for command in commands:
        build_parser().parse_args(shlex.split(command))


def test_readme_is_a_front_door_whose_links_resolve() -> None:
    assert len(README.splitlines()) <= FRONT_DOOR_LINES
    for target in re.findall(r"\]\(((?:docs|examples|bench)/[^)#]+)", README):
        assert (ROOT / target).exists(), target
