"""An offline or unreachable Hub: noticed once, every call fails fast with one message that says what to do."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from mcp import Client, stdio_client

from mcp_open.edge.cli import main
from mcp_open.models.hub import reach
from tests.conftest import stdio_params

FAST_S = 1.0  # the bound for a call that cannot be served


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Online mode with an empty cache and HF_ENDPOINT on a closed local port; returns that environment."""
    env = {
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
        "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    reach.forget()
    return env


def assert_says_what_to_do(message: str, spec: str, cache: str, why: str, *, pulling: bool = False) -> None:
    assert f"the model {spec} is not downloaded" in message
    assert f"not in the Hugging Face cache at {cache}" in message and why in message
    if pulling:  # not the command the person just typed, again
        assert "Run this command again once the Hub can be reached" in message and "models pull" not in message
    else:
        assert f"When you are online, run `mcp-open models pull {spec}`" in message
    assert "--model starter" in message and ".." not in message
    assert "mcp-open[starter]" not in message and "pip install" not in message  # the starter is installed here


def test_pull_with_an_unreachable_hub_notices_once_and_fails_fast(
    unreachable: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    probes: list[str] = []
    real_probe = reach.probe
    monkeypatch.setattr(reach, "probe", lambda endpoint: probes.append(endpoint) or real_probe(endpoint))
    for _ in range(3):
        started = time.monotonic()
        assert main(["models", "pull", "qwen3-8b"]) == 2
        assert time.monotonic() - started < FAST_S
    err = capsys.readouterr().err
    assert probes == [unreachable["HF_ENDPOINT"]]  # asked once, remembered after
    assert err.count("cannot be downloaded now") == 1
    (last,) = err.strip().splitlines()[-1:]
    why = f"the Hugging Face Hub at {unreachable['HF_ENDPOINT']} cannot be reached"
    assert_says_what_to_do(last, "qwen3-8b", unreachable["HF_HUB_CACHE"], why, pulling=True)


def test_pull_in_offline_mode_says_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # HF_HUB_OFFLINE=1 comes from the autouse fixture
    assert main(["models", "pull", "qwen3-4b"]) == 2
    err = capsys.readouterr().err
    assert_says_what_to_do(err, "qwen3-4b", str(tmp_path), "HF_HUB_OFFLINE is set", pulling=True)


@pytest.mark.anyio
async def test_serve_with_an_unreachable_hub_fails_each_call_fast(unreachable: dict[str, str], tmp_path: Path) -> None:
    errlog = tmp_path / "stderr.txt"
    params = stdio_params("--model", "qwen3-4b", "--embed-model", "qwen3-embedding-0.6b", env=unreachable)
    seconds: list[float] = []
    messages: list[str] = []
    with errlog.open("w") as err:
        async with Client(stdio_client(params, errlog=err)) as client:
            for tool, args in [
                ("generate", {"prompt": "hi"}),
                ("generate", {"prompt": "hi"}),
                ("embed", {"texts": "x"}),
            ]:
                started = time.monotonic()
                result = await client.call_tool(tool, args)
                seconds.append(time.monotonic() - started)
                assert result.is_error
                messages.append(result.content[0].text)
    why = f"the Hugging Face Hub at {unreachable['HF_ENDPOINT']} cannot be reached"
    assert_says_what_to_do(messages[0], "qwen3-4b", unreachable["HF_HUB_CACHE"], why)
    assert messages[1] == messages[0]
    assert_says_what_to_do(messages[2], "qwen3-embedding-0.6b", unreachable["HF_HUB_CACHE"], why)
    assert max(seconds) < FAST_S, seconds
    assert errlog.read_text().count("cannot be downloaded now") == 1  # noticed once


def test_the_probe_goes_through_the_proxy_like_requests_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert reach.first_hop("https://huggingface.co") == ("huggingface.co", 443)
    monkeypatch.setenv("https_proxy", "http://proxy.corp:3128")
    assert reach.first_hop("https://huggingface.co") == ("proxy.corp", 3128)
    monkeypatch.setenv("no_proxy", "huggingface.co")
    assert reach.first_hop("https://huggingface.co") == ("huggingface.co", 443)


def test_the_probe_is_bounded_and_says_why(unreachable: dict[str, str]) -> None:
    started = time.monotonic()
    reason = reach.probe(unreachable["HF_ENDPOINT"])
    assert reason == "Connection refused"
    assert time.monotonic() - started < 5  # bounded by the probe's own timeout, not the hub client's 23 s of retries
