"""The rewrite suite's inputs and arithmetic, and the GPU run's shaped models (the runs themselves are on demand)."""

from __future__ import annotations

import numpy as np

from bench.gpu.shapes import BLOCK_BYTES, N_VOCAB, Q8_SCALE, padded_vocab, q8_0
from bench.rewrite import summary
from bench.rewrite_tasks import jobs, misspell, prose


def test_jobs_are_the_issues_five_rewrites_and_free_writing() -> None:
    names = [job.name for job in jobs()]
    assert names == ["typos", "json-reformat", "markdown-translate", "jsonl-add-field", "quote-summary", "free-writing"]
    assert [job.rewrite for job in jobs()] == [True] * 5 + [False]
    assert [job.prompt for job in jobs()] == [job.prompt for job in jobs()]  # the same text every run
    assert "```python" in jobs()[2].prompt and '"status": "cleared"' in jobs()[3].prompt


def test_typos_are_real_and_repeatable() -> None:
    text = prose(200)
    bad = misspell(text, 0.2)
    changed = [a for a, b in zip(text.split(" "), bad.split(" "), strict=True) if a != b]
    assert len(changed) >= 10 and bad == misspell(text, 0.2)
    assert all(abs(len(a) - len(b)) <= 1 for a, b in zip(text.split(" "), bad.split(" "), strict=True))


def _job(rewrite: bool, speedup: float, drafted: int, accepted: int, same: bool = True) -> dict[str, object]:
    median = {"median": speedup, "q1": speedup, "q3": speedup, "min": speedup, "max": speedup, "n": 1}
    return {
        "rewrite": rewrite,
        "speedup": median,
        "drafted": drafted,
        "accepted": accepted,
        "completion_tokens": 100,
        "identical_to_plain": same,
    }


def test_summary_takes_the_median_rewrite_and_free_writing_apart() -> None:
    jobs_out = {
        "a": _job(True, 3.0, 80, 60),
        "b": _job(True, 1.5, 40, 10),
        "c": _job(True, 2.5, 80, 70, same=False),
        "free": _job(False, 0.99, 10, 1),
    }
    out = summary(jobs_out)
    assert out["rewrite_speedup"]["median"] == 2.5
    assert out["rewrite_acceptance"] == round(140 / 200, 3)
    assert out["rewrite_accepted_share"] == round(140 / 300, 3)
    assert out["free_writing_ratio"]["median"] == 0.99 and out["free_writing_acceptance"] == 0.1
    assert out["identical"] == {"a": True, "b": True, "c": False, "free": True}


def test_q8_0_blocks_hold_one_scale_and_random_values() -> None:
    data = q8_0(np.random.default_rng(0), 4, 64)
    assert data.shape == (4, 2 * BLOCK_BYTES)
    blocks = data.reshape(-1, BLOCK_BYTES)
    assert (blocks[:, :2].copy().view(np.float16) == np.float16(Q8_SCALE)).all()
    values = blocks[:, 2:].view(np.int8)
    assert values.min() >= -127 and values.std() > 50


def test_the_padded_vocabulary_is_qwens_size_with_its_special_tokens() -> None:
    vocab = padded_vocab(N_VOCAB)
    assert len(vocab.tokens) == len(set(vocab.tokens)) == len(vocab.types) == N_VOCAB
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>"} <= set(vocab.tokens)
    assert all(t.isascii() for t in vocab.tokens[-1000:])  # fillers decode as plain bytes
