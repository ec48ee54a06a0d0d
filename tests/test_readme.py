"""README.md stays true: every setting documented, the CI runs its test command, its CLI lines parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mcp_open.edge.cli import build_parser
from mcp_open.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_configuration_table(name: str) -> None:
    flag, env = "--" + name.replace("_", "-"), f"MCP_OPEN_{name.upper()}"
    assert re.search(rf"\| `[^`]*{re.escape(flag)}` \| `{env}` \|", README), name


def test_ci_runs_the_readme_test_command() -> None:
    assert "python -m pytest -q" in README
    assert "python -m pytest -q" in (ROOT / ".ci" / "run").read_text()


def test_documented_mcp_open_commands_parse() -> None:
    commands = re.findall(r"^(?:\S+=\S+ )?mcp-open ([^#|\n]+)", README, flags=re.MULTILINE)
    assert len(commands) >= 8
    for command in commands:
        build_parser().parse_args(shlex.split(command))
