"""Protected pieces found exactly, and grammars that make decoding produce them (llguidance on a byte vocabulary)."""

from __future__ import annotations

import pytest

from mcp_open.engines.constraints import Guides, Vocabulary
from mcp_open.engines.protocol import Constraint
from mcp_open.features.translate import grammar
from mcp_open.features.translate.glossaries import Glossary, applied, parse_table
from mcp_open.features.translate.placeholders import problems, protected

BYTES = Vocabulary(
    pieces=[bytes([i]) for i in range(256)] + [b"<eos>"],
    special=frozenset({256}),
    end_tokens=[256],
    tokenize=lambda data: list(data),
)


@pytest.fixture(scope="module")
def guides() -> Guides:
    return Guides(BYTES)


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Hello {name}, {{count}} new", ["{name}", "{{count}}"]),
        ("Saved %1$d of %s (100%%)", ["%1$d", "%s", "100", "%%"]),
        ("Hi %(user)s, %{who} and ${x}", ["%(user)s", "%{who}", "${x}"]),
        ("See <b>docs</b> at https://ex.com/a?b=1.", ["<b>", "</b>", "https://ex.com/a?b=1"]),
        ("Run `pip install x` or <code>make all</code>", ["`pip install x`", "<code>make all</code>"]),
        ("Don\\'t, a\\nb &amp; me@x.org", ["\\'", "\\n", "&amp;", "me@x.org"]),
        (
            "{n, plural, =0 {none} one {# file in {dir}} other {# files}}",
            ["{n, plural,", "=0 {", "}", "one {", "#", "{dir}", "}", "other {", "#", "}", "}"],
        ),
        ("{gender, select, male {He} other {They}} left", ["{gender, select,", "male {", "}", "other {", "}", "}"]),
        ("Plain words only", []),
    ],
)
def test_protected_pieces(text: str, pieces: list[str]) -> None:
    assert protected(text) == pieces


def test_problems_name_what_was_lost_or_added() -> None:
    assert problems("Hi {name}, 3 files", "Hallo {name}, 3 Dateien") == []
    assert problems("Hi {name}, 3 files", "Hallo {nom}, 3 Dateien") == ["lost '{name}'", "added '{nom}'"]
    assert problems("<b>x</b>", "x") == ["lost '</b>'", "lost '<b>'"]


def _decode_avoiding(guides: Guides, lark: str, filler: bytes, limit: int = 400) -> bytes:
    """A 'model' that always wants to write filler, then end: the grammar decides what it may write instead."""
    guide = guides.compile(Constraint(lark=lark))
    out = b""
    for step in range(limit):
        want = filler[step % len(filler)]
        token = want if guide.allows(want) else next(t for t in range(257) if guide.allows(t))
        if token == 256:
            break
        out += bytes([token]) + b"".join(bytes([t]) for t in guide.accept(token) if t != 256)
        if guide.finished:
            break
    return out


def test_a_term_the_model_avoids_is_forced_by_the_gap_bound(guides: Guides) -> None:
    source = "The server is down"
    hit = Glossary({"server": "Server"}).hits(source)[0]
    lark = grammar.single(source, [hit.required()], multiline=False, end="\n")
    out = _decode_avoiding(guides, lark, b"la machine ")
    assert b"Server" in out or b"server" in out
    assert out.endswith(b"\n") and out.count(b"\n") == 1


def test_placeholders_the_model_drops_are_forced_in_order(guides: Guides) -> None:
    source = "Hello {name}, you have %d new <b>messages</b>"
    lark = grammar.single(source, grammar.kept_pieces(source), multiline=False)
    out = _decode_avoiding(guides, lark, b"bonjour ").decode()
    assert problems(source, out) == [], out


def test_numbered_batches_keep_their_numbers(guides: Guides) -> None:
    lark = grammar.numbered([("one {x}", grammar.kept_pieces("one {x}")), ("two", [])], lead="1. ")
    out = _decode_avoiding(guides, lark, b"zz").decode()
    assert out.startswith("1. ") and "{x}" in out and "\n2. " in out


def test_glossary_matching_tolerates_endings_and_case() -> None:
    glossary = Glossary({"server": "Server", "pull request": "Pull-Request"})
    hits = glossary.hits("Two Servers got a pull requests list")
    assert [(h.source, h.target) for h in hits] == [("server", "Server"), ("pull request", "Pull-Request")]
    assert applied(hits[0], "Zwei Servern") and applied(hits[0], "zwei servern")
    assert not applied(hits[1], "eine Anfrage")


def test_glossary_tables() -> None:
    assert parse_table('a,b\n# comment\n\n"c, d",e\n', "t.csv") == {"a": "b", "c, d": "e"}
    assert parse_table("a\tb\n", "t.tsv") == {"a": "b"}
    with pytest.raises(Exception, match="row 1"):
        parse_table("only one column\n", "t.csv")
