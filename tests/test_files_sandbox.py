"""The sandbox and the readers, directly: every input kind, globs, limits and every escape attempt."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mcp_open.errors import FileAccessError
from mcp_open.features.files.readers import binary_head, html_text, read_document
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.files.writing import StagedWrites, write_atomic
from tests.filekit import make_pdf, write_samples

MB = 1_000_000


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed root with samples, and a secret folder beside it (outside)."""
    root = write_samples(tmp_path / "root")
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("alpha\n")
    (root / "docs" / "sub" / "b.md").write_text("beta\n")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_text("TOP SECRET\n")
    return root, outside


def sandbox(*roots: Path, max_mb: float = 1, max_matches: int = 100) -> Sandbox:
    return Sandbox(roots, max_file_bytes=int(max_mb * MB), max_matches=max_matches)


def refused(box: Sandbox, spec: str, *fragments: str, secret: str = "secret") -> str:
    """The error for spec, which must contain the fragments and never the outside folder's name or content."""
    with pytest.raises(FileAccessError) as caught:
        box.input_files([spec])
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert secret not in message.replace(spec, "") and "TOP SECRET" not in message, message
    return message


def test_every_kind_reads_as_text(world: tuple[Path, Path]) -> None:
    root, _ = world
    box = sandbox(root)
    docs = {p.name: read_document(p) for p in box.input_files(["*"])}
    assert docs["notes.md"].kind == "markdown" and "cat sleeps" in docs["notes.md"].text
    assert docs["latin1.txt"].text.startswith("Café crème à la française")
    assert docs["utf16.txt"].text == "Grüße aus Köln\n"
    assert docs["code.py"].kind == "code" and "return a + b" in docs["code.py"].text
    assert docs["table.csv"].kind == "csv" and "pear,5" in docs["table.csv"].text
    assert docs["data.json"].kind == "json" and '"invoice": 42' in docs["data.json"].text
    assert docs["page.html"].text == "Title\n\nFirst & second.\n\nThird\n"
    pdf = docs["report.pdf"]
    assert pdf.kind == "pdf" and pdf.pages is not None and len(pdf.pages) == 2
    assert pdf.text[pdf.pages[1] :].startswith("Page two says goodbye.")
    assert pdf.page_at(pdf.text.index("hello")) == 1 and pdf.page_at(pdf.text.index("goodbye")) == 2


def test_paths_uris_and_globs(world: tuple[Path, Path]) -> None:
    root, _ = world
    box = sandbox(root)
    a, b = root / "docs" / "a.md", root / "docs" / "sub" / "b.md"
    assert box.input_files(["docs/a.md", str(a), a.as_uri(), "docs/../docs/a.md"]) == [a]
    assert box.input_files(["docs/**/*.md"]) == [a, b]
    assert box.input_files([f"{root}/docs/**"]) == [a, b]
    assert [box.shown(p) for p in box.input_files(["docs/*/*.md", "notes.md"])] == ["docs/sub/b.md", "notes.md"]


def test_relative_paths_try_each_root_and_shown_stays_unambiguous(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "same.txt").write_text(folder.name)
    (two / "only.txt").write_text("two")
    box = sandbox(one, two)
    assert box.input_files(["only.txt"]) == [two / "only.txt"]
    assert box.shown(one / "same.txt") == "same.txt"
    assert box.shown(two / "same.txt") == str(two / "same.txt")  # 'same.txt' would name one's file


def test_escape_attempts_are_refused_without_revealing_outside(world: tuple[Path, Path], tmp_path: Path) -> None:
    root, outside = world
    (root / "link.txt").symlink_to(outside / "key.txt")
    (root / "linkdir").symlink_to(outside)
    box = sandbox(root)
    refused(box, "../secret/key.txt", "outside the allowed folders")
    refused(box, "link.txt", "'link.txt' is outside")
    refused(box, "linkdir/key.txt", "outside")
    refused(box, str(outside / "key.txt"), "outside")
    refused(box, (outside / "key.txt").as_uri(), "outside")
    refused(box, "~/.bashrc", "'~/.bashrc' is outside")
    refused(box, "docs/a.md\x00.txt", "NUL byte")
    refused(box, "../secret/*.txt", "outside")
    refused(box, "docs/**/../../../secret/*", "may not climb out")
    refused(box, str(outside) + "/*", "outside")
    refused(box, "file://evil.example/etc/passwd", "another host")
    # A missing file outside the roots gets the same answer as an existing one: no existence oracle.
    assert refused(box, "../secret/nothing.txt") == refused(box, "../secret/key.txt").replace("key", "nothing")
    refused(box, "linkdir/*.txt", "'linkdir/*.txt' is outside")
    refused(box, "linkdir*", "matches no readable file")
    # a glob skips a link out of the roots instead of following it
    assert box.input_files(["*.txt"]) == sorted((root / n) for n in ("latin1.txt", "utf16.txt"))


def test_bad_files_are_refused_with_the_reason(world: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = world
    (root / "big.txt").write_bytes(b"x" * (MB + 1))
    (root / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (root / "fake.pdf").write_bytes(b"not a pdf at all\x00\x01")
    os.mkfifo(root / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock"))
    box = sandbox(root)
    refused(box, "big.txt", "over this server's limit of 1 MB", "--max-file-mb")
    refused(box, "blob.bin", "binary")
    refused(box, "fake.pdf", "binary")
    refused(box, "pipe", "not a regular file")
    refused(box, "sock", "not a regular file")
    refused(box, "/dev/null", "outside")
    refused(box, "docs", "is a folder", "docs/**/*.md")
    refused(box, "missing.md", "does not exist")
    refused(box, "*.nothing", "matches no readable file")
    server.close()
    # globs skip what they cannot use, silently
    assert all(p.name not in {"big.txt", "blob.bin", "pipe"} for p in box.input_files(["*"]))


def test_limits_and_no_roots(world: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = world
    with pytest.raises(FileAccessError, match=r"more than 3 files.*--max-files"):
        sandbox(root, max_matches=3).input_files(["*"])
    for box in (sandbox(), sandbox(tmp_path / "missing")):
        with pytest.raises(FileAccessError, match="--allow-dir"):
            box.input_files(["notes.md"])
    with pytest.raises(FileAccessError, match=r"not folders, so ignored: .*missing"):
        sandbox(tmp_path / "missing").input_files(["notes.md"])


def test_input_tree_walks_folders(world: tuple[Path, Path]) -> None:
    root, _ = world
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.md").write_text("hidden\n")
    (root / "docs" / ".dot.md").write_text("dot\n")
    (root / "docs" / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    box = sandbox(root)
    assert [box.shown(p) for p in box.input_tree(["docs"])] == ["docs/a.md", "docs/sub/b.md"]
    assert len(box.input_tree(["."])) == 10


def test_output_paths(world: tuple[Path, Path]) -> None:
    root, outside = world
    box = sandbox(root)
    assert box.output_path("out/new.md", overwrite=False) == root / "out" / "new.md"
    assert box.output_path("docs", overwrite=False) == root / "docs"
    with pytest.raises(FileAccessError, match="already exists; pass overwrite=true"):
        box.output_path("notes.md", overwrite=False)
    assert box.output_path("notes.md", overwrite=True) == root / "notes.md"
    with pytest.raises(FileAccessError, match="outside"):
        box.output_path(str(outside / "x.md"), overwrite=True)
    with pytest.raises(FileAccessError, match="outside"):
        box.output_path("../secret/x.md", overwrite=True)


def test_binary_sniffing_and_html() -> None:
    assert html_text("<p>a<br>b</p><script>no</script>") == "a\nb\n"
    assert make_pdf(["x"]).startswith(b"%PDF-1.4")


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([""]))
    assert not binary_head(path.read_bytes(), "pdf") and binary_head(b"PK\x03\x04\x00", "pdf")
    with pytest.raises(FileAccessError, match="no text layer"):
        read_document(path, "scan.pdf")


def test_staged_writes_are_all_or_nothing(tmp_path: Path) -> None:
    box = sandbox(tmp_path)
    with StagedWrites(box) as staged:
        staged.stage(tmp_path / "a.md", "A", overwrite=False)
        staged.stage(tmp_path / "sub" / "b.md", "B", overwrite=False)
        assert len(list(tmp_path.rglob("*.part"))) == 2
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []  # left without commit: nothing stays
    (tmp_path / "b.md").write_text("old")
    staged = StagedWrites(box)
    staged.stage(tmp_path / "a.md", "A", overwrite=False)
    staged.stage(tmp_path / "b.md", "B", overwrite=False)
    with pytest.raises(FileAccessError, match=r"'b\.md' appeared while the call ran"):
        staged.commit()
    assert (tmp_path / "b.md").read_text() == "old" and not list(tmp_path.rglob("*.part"))
    assert write_atomic(box, tmp_path / "b.md", "new", overwrite=True) == 3 and (tmp_path / "b.md").read_text() == "new"


def test_a_name_with_glob_characters_is_taken_literally_when_it_exists(tmp_path: Path) -> None:
    (tmp_path / "report [final].md").write_text("final\n")
    (tmp_path / "a.md").write_text("a\n")
    box = sandbox(tmp_path)
    assert box.input_files(["report [final].md"]) == [tmp_path / "report [final].md"]
    assert box.input_files(["[a].md"]) == [tmp_path / "a.md"]  # no such file: a glob
