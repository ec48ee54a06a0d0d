"""Benchmark inputs, and the exact prompt tokens the server builds for them."""

from __future__ import annotations

import itertools

from llama_cpp import Llama

from mcp_open.engines.templates import render_chat
from mcp_open.features.generate.chat import build_messages, render_plain, to_turns

STORY = (
    "The lighthouse keeper had lived alone on the island for eleven years. Every evening he climbed the hundred "
    "and twelve steps to the lamp room, wound the clockwork, trimmed the wick and watched the ships pass far out "
    "on the grey water. He kept a log of every vessel he saw: its name if he could read it, its flag, its heading "
    "and the hour. Nobody had ever asked to see the log. One autumn morning a small boat with a red sail came "
    "straight towards the island, and the keeper put down his tea and went to the window."
)
DOCUMENT_PARAGRAPH = (
    "Section {n}. The harbour authority keeps records of every ship that enters or leaves the port. Each record "
    "lists the vessel's name, its flag state, its gross tonnage, the berth it used and the hours of arrival and "
    "departure. Pilots must board inbound ships of more than five thousand tonnes at the outer buoy, and tugs are "
    "required for any vessel longer than one hundred and fifty metres."
)
QUESTIONS = (
    "Question: Which ships need a pilot? Answer:",
    "Question: When are tugs required? Answer:",
    "Question: What does each record list? Answer:",
    "Question: Who keeps the records? Answer:",
)
SUBJECTS = ("The cat", "A student", "My neighbour", "The old train", "A small robot", "The river", "Our team", "A bird")
ACTIONS = (
    "sleeps on the warm sofa",
    "reads a book about the stars",
    "waits near the station",
    "crosses the bridge at dawn",
    "sings quietly in the garden",
    "counts the boats in the harbour",
    "paints the fence blue",
    "finds a key under the mat",
)


def story(repeat: int) -> str:
    """The generation prompt; the chapter number keeps each repeat from reusing the last one's KV cache."""
    return f"Chapter {repeat + 1}.\n\n{STORY}"


def sentences(count: int) -> list[str]:
    """count distinct short sentences."""
    pairs = itertools.cycle(itertools.product(SUBJECTS, ACTIONS))
    return [f"{subject} {action} ({i + 1})." for i, (subject, action) in zip(range(count), pairs, strict=False)]


def document(llama: Llama, tokens: int, repeat: int) -> str:
    """A system text of about `tokens` tokens whose first words differ per repeat (so the first call is cold)."""
    parts = [f"Harbour regulations, edition {repeat + 1}."]
    while len(llama.tokenize(" ".join(parts).encode(), add_bos=True)) < tokens:
        parts.append(DOCUMENT_PARAGRAPH.format(n=len(parts)))
    return " ".join(parts)


def server_prompt_tokens(llama: Llama, prompt: str, system: str | None = None) -> list[int]:
    """The tokens mcp-open's generate feeds the model for this prompt (chat template, or plain for base models)."""
    messages = build_messages(prompt, None, system)
    template = llama.metadata.get("tokenizer.chat_template")
    if template:
        bos, eos = _token_text(llama, llama.token_bos()), _token_text(llama, llama.token_eos())
        text = render_chat(template, to_turns(messages), bos=bos, eos=eos, enable_thinking=False)
        return list(llama.tokenize(text.encode(), add_bos=False, special=True))
    return list(llama.tokenize(render_plain(messages).encode(), add_bos=True))


def _token_text(llama: Llama, token: int) -> str:
    """The text of a special token, empty when the vocabulary has none."""
    return llama._model.token_get_text(token) if token >= 0 else ""
