"""Chat templates: render turns with the GGUF's own Jinja template, and mark which spans are the user's text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from jinja2 import Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mcp_open.engines.protocol import Turn
from mcp_open.errors import InvalidRequestError

# (text, is_markup): markup may contain control tokens; everything else is the caller's text and never does.
Span = tuple[str, bool]


def _raise(message: str) -> None:
    raise TemplateError(message)


@lru_cache(maxsize=8)
def _compile(template: str) -> Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals.update(raise_exception=_raise, strftime_now=lambda fmt: datetime.now().strftime(fmt))
    return env.from_string(template)


def supports_thinking_switch(template: str | None) -> bool:
    """Whether the template understands enable_thinking (Qwen3 does)."""
    return bool(template) and "enable_thinking" in str(template)


def render_chat(template: str, turns: Sequence[Turn], *, bos: str, eos: str, enable_thinking: bool) -> str:
    """Render turns with the model's template, ending where the assistant speaks next."""
    try:
        return _compile(template).render(
            messages=[{"role": t.role, "content": t.content} for t in turns],
            add_generation_prompt=True,
            enable_thinking=enable_thinking,
            bos_token=bos,
            eos_token=eos,
        )
    except TemplateError as exc:
        raise InvalidRequestError(
            f"the model's chat template rejected these messages ({exc}); check the roles and their order"
        ) from exc


def split_markup(rendered: str, turns: Sequence[Turn]) -> list[Span]:
    """Cut a rendered prompt into template markup and the turns' own text, found in order.

    A turn's text that the template changed (stripped, split) is looked up by its stripped form; text that still
    cannot be found is left inside the markup span, and the caller neutralises control tokens there instead.
    """
    spans: list[Span] = []
    pos = 0
    for turn in turns:
        for needle in (turn.content, turn.content.strip()):
            if not needle:
                break
            at = rendered.find(needle, pos)
            if at >= 0:
                spans.append((rendered[pos:at], True))
                spans.append((needle, False))
                pos = at + len(needle)
                break
    spans.append((rendered[pos:], True))
    return [s for s in spans if s[0]]


def unfound_texts(spans: Sequence[Span], turns: Sequence[Turn]) -> list[str]:
    """Turn texts that split_markup could not place (they stay inside markup)."""
    placed = {text for text, markup in spans if not markup}
    return [
        t.content for t in turns if t.content.strip() and t.content not in placed and t.content.strip() not in placed
    ]
