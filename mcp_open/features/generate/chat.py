"""Chat turns from tool arguments and plain transcripts for base models."""

from __future__ import annotations

from mcp_open.engines.protocol import Turn
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.limits import has_content
from mcp_open.features.common.schemas import ChatMessage

PLAIN_ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_plain(messages: list[ChatMessage]) -> str:
    """A transcript a base model continues: a lone user prompt is sent as is."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    if len(messages) == 2 and messages[0].role == "system" and messages[1].role == "user":
        return f"{messages[0].content}\n\n{messages[1].content}"
    lines = [f"{PLAIN_ROLE_NAMES[m.role]}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def build_messages(prompt: str | None, messages: list[ChatMessage] | None, system: str | None) -> list[ChatMessage]:
    """One list of turns from prompt or messages, with the optional system prompt first."""
    if (prompt is None) == (messages is None):
        raise InvalidRequestError(
            "pass exactly one of 'prompt' (a string) or 'messages' (a list of {role, content} turns)"
        )
    if prompt is not None and not has_content(prompt):
        raise InvalidRequestError(
            "'prompt' is empty (only white space or invisible characters); pass the text the model should answer"
        )
    turns = [ChatMessage(role="user", content=prompt)] if prompt is not None else list(messages or [])
    if not turns:
        raise InvalidRequestError("'messages' is empty; pass at least one {role: 'user', content: ...} turn")
    if not any(has_content(t.content) for t in turns):
        raise InvalidRequestError("every message's content is empty; give at least one turn some text")
    if system:
        if turns[0].role == "system":
            raise InvalidRequestError("pass the system prompt either as 'system' or as the first message, not both")
        turns.insert(0, ChatMessage(role="system", content=system))
    return turns


def to_turns(messages: list[ChatMessage]) -> list[Turn]:
    """Engine turns from tool messages."""
    return [Turn(m.role, m.content) for m in messages]
