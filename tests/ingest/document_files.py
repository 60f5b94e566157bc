"""Small real documents for the tests, written with the libraries people make them with."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Garden handbook"
    document.add_heading("Garden handbook", level=1)
    document.add_paragraph("A handbook for the allotment committee.")
    document.add_heading("Watering", level=2)
    document.add_paragraph(
        "Tomatoes need deep watering twice a week in summer; water the soil at the base of the plant, "
        "never the leaves, early in the morning."
    )
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Plant", "Litres per week"
    table.cell(1, 0).text, table.cell(1, 1).text = "Tomato", "20"
    document.add_heading("Compost", level=2)
    document.add_paragraph("Turn the compost heap every month so that it rots evenly.")
    document.save(path)
    return path


def write_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "Quarterly review"
    slide.placeholders[1].text = "Sales team, third quarter"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Hiring plan"
    slide.placeholders[1].text = "Two engineers in Lisbon\nOne designer in Berlin"
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Budget"
    box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1))
    box.text_frame.text = "Travel costs are cut by a third; the conference budget moves to online events."
    slide.notes_slide.notes_text_frame.text = "Mention that the offsite in Porto is cancelled."
    deck.save(path)
    return path


def write_odt(path: Path) -> Path:
    from odfdo import Document, Header, Paragraph

    document = Document("text")
    body = document.body
    body.clear()
    body.append(Header(1, "Bicycle maintenance"))
    body.append(Paragraph("Keep the chain clean."))
    body.append(Header(2, "Brakes"))
    body.append(Paragraph("Replace the brake pads when the grooves are worn away; check them every month."))
    document.save(path)
    return path


def write_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("test-book")
    book.set_title("The lighthouse keeper")
    book.set_language("en")
    one = epub.EpubHtml(title="Arrival", file_name="one.xhtml", lang="en")
    one.content = (
        "<html><body><h1>Chapter 1: Arrival</h1><p>The keeper arrived on the island in a storm.</p>"
        "<h2>The lamp</h2><p>Every night he polished the great brass lamp and trimmed its wick so the "
        "ships could see the rocks.</p></body></html>"
    )
    two = epub.EpubHtml(title="Winter", file_name="two.xhtml", lang="en")
    two.content = "<html><body><p>In winter the supply boat came only once a month.</p></body></html>"
    book.add_item(one)
    book.add_item(two)
    book.toc = (epub.Link("one.xhtml", "Arrival", "one"), epub.Link("two.xhtml", "Winter", "two"))
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two]
    epub.write_epub(str(path), book)
    return path


def png_base64(size: int = 64) -> str:
    """A real PNG (a grey square), base64: what matplotlib leaves in an executed notebook."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(range(size)) * 3 for _ in range(size))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def write_notebook(path: Path) -> Path:
    """An executed notebook: markdown, code with a definition, a printed output and an image output."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    notebook = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    notebook.cells = [
        new_markdown_cell("# Rainfall analysis\n\nWe load the weather station readings."),
        new_code_cell(
            "def monthly_rainfall(readings):\n    return readings.groupby('month').sum()\n",
            execution_count=1,
        ),
        new_markdown_cell("## Results"),
        new_code_cell(
            "print(summary)",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text="wettest month: november with 143 millimetres\n")],
        ),
        new_code_cell(
            "plot(monthly)",
            execution_count=3,
            outputs=[
                new_output(
                    "display_data",
                    data={"image/png": png_base64(), "text/plain": "<Figure size 640x480 with 1 Axes>"},
                )
            ],
        ),
    ]
    nbformat.write(notebook, path)
    return path
