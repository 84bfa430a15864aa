"""Convert a document's HTML to Word (.docx) — the same content as the PDF, in a layout an office files.

Headings, paragraphs, lists and tables become their Word counterparts; ``.screen-only`` parts,
styles and scripts are dropped. A4 page, 宋体 body text, the document's title in the page header,
"第 N 页 共 M 页" in the footer (Word fields, so they stay right after editing) and, for a published
meeting, the record's SHA-256 stamp in the footer and the document properties.
"""

from __future__ import annotations

import io
import re

import lxml.html
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

BODY_FONT = "SimSun"  # 宋体: what Chinese offices expect; Word substitutes where it is missing
SKIP_TAGS = {"style", "script", "head", "meta", "link", "title", "nav", "form", "button"}
BLOCK_TAGS = {"p", "div", "section", "article", "header", "footer", "main", "h1", "h2", "h3", "h4", "h5",
              "h6", "ul", "ol", "table", "li", "blockquote", "aside"}
BREAK = "\x00"  # a <br>: source line breaks are only white space
HEADING_LEVELS = {"h1": 0, "h2": 1, "h3": 2, "h4": 3, "h5": 3, "h6": 3}


def _text(el: lxml.html.HtmlElement) -> str:
    """An element's text with <br> as line breaks and runs of white space collapsed."""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if not isinstance(node.tag, str) or node.tag in SKIP_TAGS or _hidden(node):
            parts.append(node.tail or "")  # a comment, a <style> or a screen-only part: keep what follows
            return
        if node.tag == "br":
            parts.append(BREAK)
        else:
            parts.append(node.text or "")
            for child in node:
                walk(child)
        parts.append(node.tail or "")

    parts.append(el.text or "")
    for child in el:
        walk(child)
    lines = [re.sub(r"\s+", " ", line).strip() for line in "".join(parts).split(BREAK)]
    return "\n".join(line for line in lines if line)


def _hidden(el: lxml.html.HtmlElement) -> bool:
    classes = (el.get("class") or "").split()
    return "screen-only" in classes or el.get("hidden") is not None


def _starts_a_page(el: lxml.html.HtmlElement) -> bool:
    """The Word copy keeps the print layout's page breaks: an element of class ``page-break``, or a
    ``sheet`` that follows another ``sheet`` (one sheet per page, e.g. a 交办单 per department)."""
    classes = (el.get("class") or "").split()
    if "page-break" in classes:
        return True
    previous = el.getprevious()
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()
    return "sheet" in classes and previous is not None and "sheet" in (previous.get("class") or "").split()


def _has_blocks(el: lxml.html.HtmlElement) -> bool:
    return any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el)


def _field(paragraph: Paragraph, code: str) -> None:
    """Insert a Word field (PAGE, NUMPAGES) that Word computes when it lays the pages out."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, code), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
        else:
            el = OxmlElement("w:t")
            el.text = "1"
        run._r.append(el)


class _Writer:
    def __init__(self, title: str, footer_line: str) -> None:
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(25), Mm(22)
        section.left_margin = section.right_margin = Mm(25)
        for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "List Number"):
            style = self.doc.styles[style_name]
            style.font.name = BODY_FONT
            rpr = style.element.get_or_add_rPr()
            rpr.get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
        self.doc.styles["Normal"].font.size = Pt(11)
        header = section.header.paragraphs[0]
        header.text = title
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("第 ")
        _field(footer, "PAGE")
        footer.add_run(" 页 共 ")
        _field(footer, "NUMPAGES")
        footer.add_run(" 页")
        if footer_line:
            p = section.footer.add_paragraph(footer_line)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.runs[0].font.size = Pt(7)

    def block(self, el: lxml.html.HtmlElement) -> None:
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS or _hidden(el):
            return
        tag = el.tag
        if _starts_a_page(el):
            self.doc.add_page_break()
        if tag in HEADING_LEVELS:
            text = _text(el)
            if text:
                h = self.doc.add_heading(text, level=HEADING_LEVELS[tag])
                if tag == "h1":
                    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif tag == "table":
            self.table(el)
        elif tag in ("ul", "ol"):
            style = "List Number" if tag == "ol" else "List Bullet"
            for li in el:
                if isinstance(li.tag, str) and li.tag == "li" and (text := _text(li)):
                    self.doc.add_paragraph(text, style=style)
        elif "signatures" in (el.get("class") or "").split():
            table = self.doc.add_table(rows=1, cols=max(1, len(el)))
            for cell, child in zip(table.rows[0].cells, el, strict=False):
                cell.text = f"{_text(child)}：\n\n__________________"
        elif _has_blocks(el):
            if el.text and el.text.strip():
                self.paragraph(el.text.strip(), el)
            for child in el:
                self.block(child)
                if child.tail and child.tail.strip():
                    self.doc.add_paragraph(child.tail.strip())
        elif text := _text(el):
            self.paragraph(text, el)

    def paragraph(self, text: str, el: lxml.html.HtmlElement) -> None:
        p = self.doc.add_paragraph()
        classes = (el.get("class") or "").split()
        run = p.add_run(text)
        if "subtitle" in classes or "draft" in classes:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if "draft" in classes:
            run.bold = True
        if "record-hash" in classes or "footer-note" in classes:
            run.font.size = Pt(8)

    def table(self, el: lxml.html.HtmlElement) -> None:
        rows = [r for r in el.iter("tr") if not _hidden(r)]
        if not rows:
            return
        width = max(len([c for c in r if isinstance(c.tag, str) and c.tag in ("td", "th")]) for r in rows)
        table = self.doc.add_table(rows=len(rows), cols=max(width, 1))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for row, tr in zip(table.rows, rows, strict=True):
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            for cell, td in zip(row.cells, cells, strict=False):
                cell.text = _text(td)
                if td.tag == "th":
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
        self.doc.add_paragraph()


def html_to_docx(html: str, title: str, stamp: str = "", footer_line: str = "") -> bytes:
    """The HTML document as .docx bytes; ``stamp`` (machine-readable) goes in the properties,
    ``footer_line`` (the record's hash as people read it) in every page's footer."""
    root = lxml.html.document_fromstring(html)
    page_title = root.findtext(".//title") or title
    writer = _Writer(page_title.strip(), footer_line)
    props = writer.doc.core_properties
    props.title = page_title.strip()
    props.subject = title
    props.keywords = stamp
    props.author = "议事 Yishi"
    body = root.find("body")
    for child in (body if body is not None else root):
        writer.block(child)
        if isinstance(child.tag, str) and child.tail and child.tail.strip():
            writer.doc.add_paragraph(child.tail.strip())
    buf = io.BytesIO()
    writer.doc.save(buf)
    return buf.getvalue()


def docx_text(data: bytes) -> str:
    """All text of a .docx (body, tables, headers and footers) — for verification and tests."""
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    for section in doc.sections:
        parts.extend(p.text for p in section.header.paragraphs)
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def docx_keywords(data: bytes) -> str:
    return Document(io.BytesIO(data)).core_properties.keywords or ""
