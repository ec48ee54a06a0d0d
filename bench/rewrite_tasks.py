"""The rewrite suite's jobs: work agents delegate whose answer repeats long runs of its input, and free writing.

Every job is one user prompt, built deterministically (same text every run), so both sides decode the same tokens.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from bench.prompts import DOCUMENT_PARAGRAPH, STORY

TYPO_RATE = 0.08  # share of longer words misspelled in the typo job
TYPO_WORDS = 780  # about 1,000 tokens of English


@dataclass(frozen=True)
class Job:
    """One benchmark prompt and whether its answer is expected to copy from it."""

    name: str
    prompt: str
    rewrite: bool


def jobs() -> list[Job]:
    """The five rewrite jobs of the issue, then free writing."""
    return [
        Job("typos", _typos(), True),
        Job("json-reformat", _json_reformat(), True),
        Job("markdown-translate", _markdown_translate(), True),
        Job("jsonl-add-field", _jsonl_add_field(), True),
        Job("quote-summary", _quote_summary(), True),
        Job("free-writing", _free_writing(), False),
    ]


def prose(words: int) -> str:
    """Plain English of about `words` words, built from the suite's two paragraphs."""
    parts, count, n = [], 0, 1
    while count < words:
        paragraph = STORY if n % 3 == 0 else DOCUMENT_PARAGRAPH.format(n=n)
        parts.append(paragraph)
        count += len(paragraph.split())
        n += 1
    return "\n\n".join(parts)


def misspell(text: str, rate: float, seed: int = 7) -> str:
    """text with a share of its longer words misspelled (two letters swapped or one doubled)."""
    rng = random.Random(seed)
    out = []
    for word in text.split(" "):
        if len(word) > 4 and word.isalpha() and rng.random() < rate:
            i = rng.randrange(1, len(word) - 2)
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            word = swapped if rng.random() < 0.5 else word[:i] + word[i] + word[i:]
        out.append(word)
    return " ".join(out)


def _typos() -> str:
    text = misspell(prose(TYPO_WORDS), TYPO_RATE)
    return f"Fix the spelling mistakes in this text. Change nothing else.\n\nText:\n{text}\n\nCorrected text:\n"


def records(count: int) -> list[dict[str, object]]:
    """Shipping-log records for the JSON jobs."""
    flags = ("NO", "PA", "MT", "LR", "DE", "FR")
    return [
        {
            "id": 1000 + i,
            "vessel": f"Northern Star {i}",
            "flag": flags[i % len(flags)],
            "tonnage": 4200 + 37 * i,
            "berth": f"B{i % 9 + 1}",
            "arrived": f"2026-11-{i % 28 + 1:02d}T{i % 24:02d}:15:00Z",
        }
        for i in range(count)
    ]


def _json_reformat() -> str:
    compact = json.dumps(records(12), separators=(",", ":"))
    return f"Reformat this JSON with an indent of two spaces. Keep every value.\n\nJSON:\n{compact}\n\nIndented JSON:\n"


def _jsonl_add_field() -> str:
    lines = "\n".join(json.dumps(r) for r in records(16))
    return (
        'Add the field "status": "cleared" at the end of every record. Keep everything else as it is.\n\n'
        f"Records:\n{lines}\n\nRecords with status:\n"
    )


MARKDOWN = """# Harbour log tools

Use `harbour-log` to read the port's records.

```python
from harbour_log import Records

records = Records.open("port.db")
for record in records.arrivals(since="2026-11-01"):
    print(record.vessel, record.flag, record.tonnage)
```

## Options

- `--since DATE`: only records after DATE.
- `--flag CODE`: only vessels under this flag.

```bash
harbour-log arrivals --since 2026-11-01 --flag NO > arrivals.csv
harbour-log departures --berth B3 | sort | uniq -c
```

Pilots must board ships of more than five thousand tonnes at the outer buoy.
"""


def _markdown_translate() -> str:
    return (
        "Translate this Markdown document into German. Keep the code blocks, commands and names unchanged.\n\n"
        f"Document:\n{MARKDOWN}\nGerman document:\n"
    )


def _quote_summary() -> str:
    text = prose(300)
    return (
        "Summarise this text in five points. Each point quotes the sentence it is based on word for word, "
        f'in double quotes.\n\nText:\n{text}\n\nSummary with quotes:\n1. "'
    )


def _free_writing() -> str:
    return "Write a new short story about a lighthouse keeper who finds a message in a bottle.\n\nStory:\n"
