"""Test helpers for the file tools: a minimal PDF writer and a folder of sample files of every kind."""

from __future__ import annotations

from pathlib import Path


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (a real text layer pypdf can extract)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


SAMPLES: dict[str, bytes] = {
    "notes.md": b"# Notes\n\nThe cat sleeps on the sofa.\n\n- one\n- two\n",
    "latin1.txt": "Café crème à la française, déjà vu. Ça coûte très cher, naïve Noël.\n".encode("latin-1"),
    "utf16.txt": "Grüße aus Köln\n".encode("utf-16"),
    "code.py": b'def add(a, b):\n    """Add."""\n    return a + b\n',
    "table.csv": b"name,qty\napple,3\npear,5\n",
    "data.json": b'{"invoice": 42, "total": "9.99"}\n',
    "page.html": b"<html><head><style>p{}</style><script>var x=1;</script></head>"
    b"<body><h1>Title</h1><p>First &amp; second.</p><p>Third</p></body></html>",
}


def write_samples(folder: Path) -> Path:
    """Write one file of every kind (and a two-page PDF) into folder; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in SAMPLES.items():
        (folder / name).write_bytes(data)
    (folder / "report.pdf").write_bytes(make_pdf(["Page one says hello.", "Page two says goodbye."]))
    return folder
