"""HTML files read as their visible text (lxml's parser): blocks become lines, hidden parts and oddities go."""

from __future__ import annotations

import pytest

from mcp_open.features.files.readers import html_text


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>a<br>b</p><script>no</script>", "a\nb\n"),
        ("<html><head><title>T</title></head><body><h1>H</h1><p>x &amp; y</p></body></html>", "H\n\nx & y\n"),
        ("<ul><li>one</li><li>two</li></ul>after", "one\n\ntwo\n\nafter\n"),
        ("<p>a<!-- hidden -->b</p><noscript>n</noscript><template>t</template>", "ab\n"),
        ('<?xml version="1.0" encoding="utf-8"?><html><body><p>declared</p></body></html>', "declared\n"),
        ("<p>  spaced \t out  </p>\n\n\n\n<p>next</p>", "spaced out\n\nnext\n"),
        ("no tags at all", "no tags at all\n"),
        ("", "\n"),
        ("<!-- only a comment -->", "\n"),
        ("<!DOCTYPE html>", "\n"),
    ],
)
def test_visible_text_of_html(markup: str, text: str) -> None:
    assert html_text(markup) == text
