"""Write the sample PDFs in data/pdf/ from plain text, with nothing but the standard library.

Run from the repo root: python data/make_pdfs.py. Each page is Helvetica text; pypdf
extracts it back, which is what semsearch's PDF extraction needs for the demo.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

HERE = Path(__file__).parent
LINES_PER_PAGE = 46


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, title: str, text: str) -> None:
    lines: list[str] = []
    for paragraph in text.strip().split("\n"):
        lines += textwrap.wrap(paragraph, 90) or [""]
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    info_id = font_id + 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for number, page_lines in enumerate(pages):
        stream = "BT /F1 10 Tf 14 TL 56 790 Td " + " ".join(f"({_escape(x)}) Tj T*" for x in page_lines) + " ET"
        content_id = page_ids[number] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        data = stream.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Title ({_escape(title)}) /Producer (semsearch data/make_pdfs.py) >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        info_id,
        xref,
    )
    path.write_bytes(bytes(out))


if __name__ == "__main__":
    for source in sorted((HERE / "pdf-sources").glob("*.txt")):
        title, _, body = source.read_text().partition("\n")
        write_pdf(HERE / "pdf" / (source.stem + ".pdf"), title.strip(), body)
        print("wrote", source.stem + ".pdf")
