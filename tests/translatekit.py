"""A fixture set for document translation (one file per format), and a scripted translator that keeps pieces."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from mcp_open.features.translate import placeholders
from mcp_open.features.translate.formats import reader_for

CHATML_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)
NUMBERED = re.compile(r"^(\d+)\. (.*)$")

JSON_DOC = {
    "app": {"title": "Photo library", "greeting": "Hello {name}, welcome back!"},
    "inbox": {
        "count_one": "You have {{count}} new message",
        "count_other": "You have {{count}} new messages",
        "files": "{count, plural, =0 {No files} one {# file in {folder}} other {# files in {folder}}}",
    },
    "errors": ["Could not save %s", "Saved %1$d of %2$d files", "See https://example.com/help for help"],
    "version": 3,
    "enabled": True,
}
YAML_DOC = """\
# Settings screen
settings:
  title: "Account settings"   # shown in the header
  save: Save changes
  hint: 'Press <b>Save</b> to keep ${count} changes'
numbers: [1, 2]
"""
PO_DOC = """\
# Translations for the app.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: en\\n"

#: app.py:10
#, python-format
msgid "Welcome, %(user)s!"
msgstr ""

#: app.py:20
msgid "One file deleted"
msgid_plural "%d files deleted"
msgstr[0] ""
msgstr[1] ""
"""
ANDROID_DOC = """\
<?xml version="1.0" encoding="utf-8"?>
<resources>
    <!-- Main screen -->
    <string name="app_name" translatable="false">Photon</string>
    <string name="welcome">Welcome to <b>Photon</b>, %1$s!</string>
    <string name="quit">Don\\'t quit now</string>
    <string-array name="planets">
        <item>Mercury is hot</item>
        <item>Venus is bright</item>
    </string-array>
    <plurals name="songs">
        <item quantity="one">%d song found</item>
        <item quantity="other">%d songs found</item>
    </plurals>
</resources>
"""
XLIFF_DOC = """\
<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
  <file source-language="en" datatype="plaintext" original="app">
    <body>
      <trans-unit id="greet">
        <source>Good morning, <g id="1">dear</g> friend</source>
      </trans-unit>
      <trans-unit id="bye">
        <source>See you on {day}</source>
        <target>old</target>
      </trans-unit>
    </body>
  </file>
</xliff>
"""
HTML_DOC = """\
<!DOCTYPE html>
<html><head><title>Release notes</title><script>var x = "do not translate";</script></head>
<body>
<h1>What is new</h1>
<p>The editor is <b>much faster</b> now. Read <a href="https://example.com/docs">the guide</a>.</p>
<ul><li>Fixed 12 crashes</li><li>New <code>--quiet</code> flag</li></ul>
<img src="a.png" alt="A happy cat">
</body></html>
"""
SRT_DOC = """\
1
00:00:01,000 --> 00:00:03,500
Where is the library?
It is late.

2
00:00:04,000 --> 00:00:06,250
I am very happy today.

"""
VTT_DOC = """\
WEBVTT

NOTE written by hand

intro
00:00:01.000 --> 00:00:03.000 align:start
Good evening, <i>everyone</i>.

00:00:03.500 --> 00:00:05.000
The show starts
in 5 minutes.
"""


def build(folder: Path) -> dict[str, Path]:
    """Write one file per format into folder; returns them by format name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "json": ("en.json", json.dumps(JSON_DOC, indent=2) + "\n"),
        "yaml": ("en.yaml", YAML_DOC),
        "po": ("app.po", PO_DOC),
        "android": ("strings.xml", ANDROID_DOC),
        "xliff": ("messages.xlf", XLIFF_DOC),
        "html": ("notes.html", HTML_DOC),
        "srt": ("talk.srt", SRT_DOC),
        "vtt": ("talk.vtt", VTT_DOC),
    }
    paths = {}
    for kind, (name, text) in files.items():
        paths[kind] = folder / name
        paths[kind].write_text(text, encoding="utf-8")
    paths["docx"] = _docx(folder / "report.docx")
    paths["pptx"] = _pptx(folder / "deck.pptx")
    paths["xlsx"] = _xlsx(folder / "book.xlsx")
    return paths


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    paragraph = document.add_paragraph("Sales grew by 12% and the ")
    paragraph.add_run("new store").bold = True
    paragraph.add_run(" opened in May.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Revenue"
    table.rows[0].cells[1].text = "4,200"
    document.save(str(path))
    return path


def _pptx(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Our roadmap"
    body = slide.placeholders[1].text_frame
    body.text = "Ship the "
    run = body.paragraphs[0].add_run()
    run.text = "mobile app"
    run.font.bold = True
    deck.save(str(path))
    return path


def _xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Budget"
    sheet["A1"] = "Item"
    sheet["B1"] = "Cost"
    sheet["A2"] = "Office rent"
    sheet["B2"] = 1200
    sheet["A3"] = "Total"
    sheet["B3"] = "=SUM(B2:B2)"
    book.save(str(path))
    return path


def units_of(path: Path) -> list[str]:
    """The translatable texts of a file, as the server's reader sees them."""
    data = path.read_bytes()
    reader = reader_for(path, data)
    assert reader is not None, path
    return reader(data).units


def shout(text: str) -> str:
    """A stand-in translation: language upper-cased, every protected piece left exactly as it was."""
    out, last = [], 0
    for span in placeholders.spans(text):
        out.append(text[last : span.start].upper())
        out.append(span.text)
        last = span.end
    out.append(text[last:].upper())
    return "".join(out)


def shouting_reply(rendered: str) -> list[str]:
    """A scripted chat model that 'translates' by shouting: numbered lists line by line, else the whole text."""
    found = CHATML_USER.findall(rendered)
    user = found[-1] if found else ""
    rows = [NUMBERED.match(row) for row in user.split("\n")]
    if len(rows) > 1 and all(rows):
        return ["\n".join(f"{m.group(1)}. {shout(m.group(2))}" for m in rows if m)]
    return [shout(user)]


def docx_runs(path: Path) -> list[tuple[str, bool]]:
    """(text, bold) of every run of every body paragraph."""
    import docx

    document = docx.Document(io.BytesIO(path.read_bytes()))
    return [(run.text, bool(run.bold)) for p in document.paragraphs for run in p.runs]


def xlsx_cells(path: Path) -> list[tuple[str, object]]:
    """(coordinate, value) of every cell, formulas as written."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    return [(c.coordinate, c.value) for s in book.worksheets for row in s.iter_rows() for c in row]


def translated_units(path: Path) -> list[str]:
    """The texts a translated file carries: its units, or for .po and XLIFF what was written into the targets."""
    if path.suffix == ".po":
        import polib

        found: list[str] = []
        for entry in polib.pofile(str(path)):
            found += [entry.msgstr_plural[0], entry.msgstr_plural[1]] if entry.msgid_plural else [entry.msgstr]
        return found
    if path.suffix == ".xlf":
        from lxml import etree

        from mcp_open.features.translate.formats.markup import inner

        root = etree.fromstring(path.read_bytes())
        return [inner(t) for t in root.iter("{urn:oasis:names:tc:xliff:document:1.2}target")]
    return units_of(path)
