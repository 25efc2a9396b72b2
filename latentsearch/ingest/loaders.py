"""Loaders: one source file in, documents out. A file that cannot be read raises `LoadError`.

* text (``.txt .md .rst``): UTF-8 (a BOM selects UTF-16/32); binary or undecodable files fail;
* HTML: main text and title by trafilatura (its whole-page text when it finds no main text);
* PDF: text of every page by pypdf; encrypted, corrupt or text-less PDFs fail;
* images: decoded by Pillow to check them, embedded by a CLIP collection's encoder;
* records (``.jsonl .json .csv``): see `latentsearch.ingest.record_files`.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from latentsearch.encoders.images import MAX_IMAGE_BYTES, decode
from latentsearch.errors import ImageError
from latentsearch.ingest.documents import Document, LoadError, Progress
from latentsearch.ingest.record_files import FieldMap, load_records
from latentsearch.ingest.sources import KINDS, SourceFile

log = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_RST_TITLE = re.compile(r"^(?:[=\-~^\"'`#*+]{3,}\n)?(\S.*?)\n[=\-~^\"'`#*+]{3,}\s*$", re.MULTILINE)


def load(sf: SourceFile, fields: FieldMap, progress: Progress | None = None) -> Iterator[Document]:
    """The documents of one file (a record file streams; other files yield one document)."""
    if sf.kind == "records":
        yield from load_records(sf, fields, progress)
        return
    loader = {"text": load_text, "html": load_html, "pdf": load_pdf, "image": load_image}[sf.kind]
    doc = loader(sf)
    if progress is not None:
        progress(sf.size)
    doc.metadata.setdefault("path", sf.doc_id)
    doc.metadata.setdefault("type", sf.path.suffix.lower().lstrip("."))
    doc.uri = doc.uri or sf.path.as_uri()
    doc.title = doc.title or sf.path.name
    yield doc


def read_bytes(sf: SourceFile) -> bytes:
    try:
        return sf.path.read_bytes()
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from exc


def decode_text(data: bytes) -> str:
    """Decode text bytes, or raise `LoadError` saying why they are not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise LoadError(
                    f"undecodable text: invalid {encoding} at byte {exc.start}"
                ) from exc
    if b"\0" in data[:8192]:
        raise LoadError("binary file: it holds NUL bytes, so it is not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"undecodable text: not valid UTF-8 at byte {exc.start}; convert the file to UTF-8"
        ) from exc


def _nonempty(text: str, what: str) -> str:
    if not text.strip():
        raise LoadError(f"empty: no text in this {what}")
    return text


def load_text(sf: SourceFile) -> Document:
    text = _nonempty(decode_text(read_bytes(sf)), "file")
    title = None
    if sf.kind == "text" and sf.path.suffix.lower() in (".md", ".markdown"):
        m = _MD_HEADING.search(text)
        title = m.group(1) if m else None
    elif sf.path.suffix.lower() == ".rst":
        m = _RST_TITLE.search(text)
        title = m.group(1).strip() if m else None
    return Document(id=sf.doc_id, text=text, title=title)


def load_html(sf: SourceFile) -> Document:
    import trafilatura

    data = read_bytes(sf)
    if b"\0" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError("binary file: it holds NUL bytes, so it is not HTML")
    html = decode_text(data)
    try:
        doc: Any = trafilatura.bare_extraction(
            html, with_metadata=True, favor_recall=True, include_comments=False, include_tables=True
        )
        text = (doc.text if doc is not None else "") or trafilatura.html2txt(html)
    except Exception as exc:  # lxml and trafilatura raise many types on broken markup
        raise LoadError(f"unreadable HTML: {exc}") from exc
    title = getattr(doc, "title", None) if doc is not None else None
    return Document(id=sf.doc_id, text=_nonempty(text, "page"), title=title or None)


def load_pdf(sf: SourceFile) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    data = read_bytes(sf)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError("encrypted PDF: decrypt it first") from exc
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoadError(f"corrupt PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise LoadError("empty: the PDF has no extractable text (a scan? run OCR first)")
    return Document(
        id=sf.doc_id, text=text, title=str(title) if title else None, metadata={"pages": len(pages)}
    )


def load_image(sf: SourceFile) -> Document:
    if sf.size > MAX_IMAGE_BYTES:
        raise LoadError(f"too large: {sf.size} bytes (images may have at most {MAX_IMAGE_BYTES})")
    try:
        raw = sf.path.read_bytes()  # a regular file: the scan checked
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except OSError as exc:
        raise LoadError(f"unreadable: {exc}") from exc
    try:
        img, fmt = decode(raw, "image")  # the limits every image path and upload has
        size = img.size
    except ImageError as exc:
        raise LoadError(f"corrupt image: {exc}") from exc
    return Document(
        id=sf.doc_id,
        image=sf.path,
        metadata={"width": size[0], "height": size[1], "format": (fmt or "").lower()},
    )


# What `load_bytes` reads: the document kinds whose loaders take one file's bytes.
BYTE_KINDS = ("text", "html", "pdf")


def load_bytes(data: bytes, filename: str) -> Document:
    """The document in ``data`` by the loader ``filename``'s suffix selects (text, HTML or PDF);
    `LoadError` for any other type. For bytes that come from elsewhere than a folder (a
    connector's record, a mail attachment): the loaders read paths, so the bytes go through a
    private temporary file."""
    suffix = PurePath(filename).suffix.lower()
    kind = KINDS.get(suffix)
    if kind not in BYTE_KINDS:
        raise LoadError(
            f"unsupported type {suffix or '(no suffix)'}: only text, HTML and PDF are read"
        )
    loader = {"text": load_text, "html": load_html, "pdf": load_pdf}[kind]
    with tempfile.TemporaryDirectory(prefix="latentsearch-bytes-") as tmp:
        path = Path(tmp) / f"content{suffix}"
        path.write_bytes(data)
        return loader(SourceFile(path, PurePath(filename).name, kind, len(data), 0))
