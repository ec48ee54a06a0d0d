"""Prompt-lookup drafting: what it proposes from the context, and when it stops proposing."""

from __future__ import annotations

import random

import pytest

from mcp_open.engines.drafting import PAUSES, Drafter, NgramIndex


def test_proposes_what_followed_the_latest_earlier_occurrence() -> None:
    index = NgramIndex([1, 2, 3, 4, 5, 9, 9, 1, 2, 3, 7, 8, 0, 2, 3])
    # the suffix (2, 3) last occurred before 7, 8
    assert index.propose(3) == [7, 8, 0]


def test_longer_suffix_wins_over_a_more_recent_short_one() -> None:
    index = NgramIndex([5, 1, 2, 3, 40, 41, 0, 2, 3, 50, 51, 6, 5, 1, 2, 3])
    # (1, 2, 3) and (5, 1, 2, 3) point at 40; the latest (2, 3) alone would point at 50
    assert index.propose(2) == [40, 41]


def test_the_suffix_never_finds_itself() -> None:
    assert NgramIndex([1, 2, 3, 4]).propose(4) == []
    assert NgramIndex([7, 7]).propose(3) == []


def test_no_match_below_the_shortest_ngram() -> None:
    index = NgramIndex([1, 2, 3, 9, 1], min_ngram=2)
    assert index.propose(3) == []
    assert NgramIndex([1, 2, 3, 9, 1], min_ngram=1).propose(2) == [2, 3]


def test_follows_a_copied_run_past_an_ambiguous_spot() -> None:
    # the prompt holds "a b c X" and later "a b c Y"; the output copies the first run
    prompt = [10, 11, 12, 100, 13, 14, 10, 11, 12, 200, 15]
    index = NgramIndex([*prompt, 99, 10, 11, 12])
    assert index.propose(1) == [200]  # the latest occurrence
    index = NgramIndex([*prompt, 99, 10])
    index.extend([11])
    assert index.propose(3) == [12, 200, 15]
    index.extend([12, 100])  # the model took the other branch: lookup starts afresh
    assert index.propose(2) == [13, 14]
    index.extend([13])  # and now the run it follows continues
    assert index.propose(2) == [14, 10]


def test_output_joins_the_context() -> None:
    index = NgramIndex([1, 2])
    index.extend([3, 4, 1, 2])
    assert index.propose(2) == [3, 4]


def test_limit_and_end_of_context() -> None:
    index = NgramIndex([1, 2, 3, 1, 2])
    assert index.propose(0) == []
    assert index.propose(10) == [3, 1, 2]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="min_ngram"):
        NgramIndex([], min_ngram=3, max_ngram=2)


def test_draft_grows_while_accepted_and_shrinks_on_a_miss() -> None:
    context = list(range(100)) + list(range(5))
    drafter = Drafter(context, max_draft=8)
    first = drafter.draft(room=100)
    assert first == [5, 6, 7, 8]
    drafter.accepted([5, 6, 7, 8, 9], drafted=4, kept=4)
    assert drafter.draft(room=100) == list(range(10, 18))
    assert drafter.draft(room=3) == [10, 11, 12]  # never past the room left
    drafter.accepted([10, 11, 55], drafted=8, kept=2)
    assert drafter.counts.drafted == 12 and drafter.counts.accepted == 6
    assert len(drafter.draft(room=100)) <= 3


def test_low_acceptance_pauses_drafting_for_longer_each_time() -> None:
    rng = random.Random(1)
    context = [rng.randrange(50) for _ in range(2000)]  # every bigram occurs somewhere: always a guess
    drafter = Drafter(context, max_draft=8)
    pauses = []
    for _ in range(400):
        draft = drafter.draft(room=1000)
        miss = (draft[0] + 1) % 50 if draft else rng.randrange(50)
        drafter.accepted([miss], drafted=len(draft), kept=0)
        if drafter.paused and (not pauses or pauses[-1][1] != drafter.counts.drafted):
            pauses.append((drafter._pause, drafter.counts.drafted))
    lengths = [p for p, _ in pauses]
    assert lengths[: len(PAUSES)] == list(PAUSES)
    # free writing: of 400 tokens, only a few rounds were spent guessing
    assert drafter.counts.accepted == 0
    rounds = sum(1 for _ in pauses) * 2
    assert drafter.counts.drafted <= 8 * rounds


def test_a_pause_ends_and_a_good_run_resets_the_backoff() -> None:
    rng = random.Random(2)
    context = [rng.randrange(10) for _ in range(300)] + list(range(20, 40))
    drafter = Drafter(context, max_draft=4)
    for _ in range(20):
        draft = drafter.draft(room=10)
        drafter.accepted([(draft[0] + 1) % 10 if draft else 0], drafted=len(draft), kept=0)
        if drafter.paused:
            break
    assert drafter.paused
    drafter.accepted([0] * PAUSES[0], drafted=0, kept=0)
    assert not drafter.paused
    drafter.accepted([20, 21], drafted=0, kept=0)
    draft = drafter.draft(room=10)
    assert draft == [22, 23, 24, 25]
    drafter.accepted([*draft, 26], drafted=4, kept=4)
    assert drafter._lows == 0


def test_off_when_max_draft_is_zero() -> None:
    drafter = Drafter([1, 2, 3, 1, 2], max_draft=0)
    assert drafter.draft(room=10) == []
