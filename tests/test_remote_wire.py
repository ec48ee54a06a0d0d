"""The remote engine's wire format and settings, without a server: bodies, streamed chunks, errors, flags."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mcp_open.engines.openai import wire
from mcp_open.engines.openai.remote import context_of
from mcp_open.engines.protocol import Constraint, Prompt, Sampling, Turn
from mcp_open.settings import Settings

SAMPLING = Sampling(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0, repeat_penalty=1.0, seed=3)


def body(prompt: Prompt) -> dict[str, object]:
    return wire.completion_body("m", prompt, max_tokens=9, sampling=SAMPLING, stop=["END"], constraint=None)


@pytest.mark.parametrize("thinking", [True, False])
def test_chat_body_streams_with_usage_and_switches_thinking(thinking: bool) -> None:
    sent = body(Prompt.chat([Turn("user", "Hi")], thinking=thinking))
    assert sent["messages"] == [{"role": "user", "content": "Hi"}]
    assert sent["chat_template_kwargs"] == {"enable_thinking": thinking}
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["seed"] == 3 and sent["stop"] == ["END"] and sent["max_tokens"] == 9
    assert sent["repeat_penalty"] == sent["repetition_penalty"] == 1.0  # servers' defaults differ


def test_raw_text_goes_to_completions_without_chat_fields() -> None:
    sent = body(Prompt.raw("English: cat\nFrench:"))
    assert sent["prompt"] == "English: cat\nFrench:" and "messages" not in sent
    assert "chat_template_kwargs" not in sent


def test_constraints_map_to_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert wire.response_format(Constraint(json_schema=schema)) == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    choice = wire.response_format(Constraint(choices=("yes", "no")))
    assert choice["json_schema"]["schema"] == {"type": "string", "enum": ["yes", "no"]}
    assert wire.choice_text('"yes"', Constraint(choices=("yes", "no"))) == "yes"
    assert wire.choice_text('{"a": 1}', Constraint(json_schema=schema)) == '{"a": 1}'


def sse(payload: object) -> str:
    return "data: " + json.dumps(payload)


def test_reasoning_content_is_kept_apart_from_the_answer() -> None:
    thought = wire.read_chunk({"choices": [{"delta": {"reasoning_content": "hmm"}}]})
    newer = wire.read_chunk({"choices": [{"delta": {"reasoning": "so"}}]})
    answer = wire.read_chunk({"choices": [{"delta": {"content": "42"}, "finish_reason": "stop", "stop_reason": "X"}]})
    assert (thought.reasoning, thought.text) == ("hmm", "")
    assert newer.reasoning == "so"
    assert (answer.text, answer.finish_reason, answer.stop_reason) == ("42", "stop", "X")


def test_sse_lines_and_usage_chunks() -> None:
    assert wire.parse_sse_line("data: [DONE]") is None
    assert wire.parse_sse_line(": ping - 2026-11-29") is None
    assert wire.parse_sse_line("") is None
    usage = wire.read_chunk(wire.parse_sse_line(sse({"choices": [], "usage": {"completion_tokens": 5}})) or {})
    assert usage.usage == {"completion_tokens": 5} and usage.text == ""
    text = wire.read_chunk({"choices": [{"text": " le", "finish_reason": None}]})
    assert text.text == " le"


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b'{"error": {"message": "model not found", "type": "NotFoundError"}}', "model not found"),
        (b'{"detail": "Invalid API key"}', "Invalid API key"),
        (b'{"detail": [{"msg": "field required"}, {"msg": "bad"}]}', '{"msg": "field required"}; {"msg": "bad"}'),
        (b"upstream connect error", "upstream connect error"),
        (b"", "HTTP 502"),
    ],
)
def test_error_text_reads_every_servers_shape(raw: bytes, said: str) -> None:
    assert wire.error_text(502, raw) == said


def test_context_comes_from_the_servers_model_list() -> None:
    assert context_of({"id": "q", "max_model_len": 32768}) == 32768  # vLLM
    assert context_of({"id": "q", "meta": {"n_ctx_train": 40960}}) == 40960  # llama-server
    assert context_of({"id": "q"}) is None  # llama-cpp-python


def test_backend_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_OPEN_BACKEND_API_KEY", "sk-secret")
    settings = Settings(backend="http://gpu:8000/v1/", embed_backend="https://emb:9000")
    assert settings.backend == "http://gpu:8000" and settings.embed_backend == "https://emb:9000"
    assert settings.translation_backend == "http://gpu:8000"
    assert settings.backend_api_key == "sk-secret" and "sk-secret" not in repr(settings)
    with pytest.raises(ValidationError, match="must start with http"):
        Settings(backend="gpu:8000")
