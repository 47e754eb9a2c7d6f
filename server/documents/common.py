"""What both printed documents share: styles with the CJK font, safe paragraphs, Beijing times,
signature images decoded under guard, and a canvas that prints "第 N 页 共 M 页"."""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle
from reportlab.platypus import Image as RLImage

from ..workdays.services import BEIJING
from .fonts import cjk_font

PAGE = A4
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN

#: a signature image is decoded only when it is small (the schema caps the data URL at 700,000
#: characters; this is checked again here: never trust the size)
SIGNATURE_MAX_BYTES = 700_000
SIGNATURE_MAX_PIXELS = 4_000_000
_DATA_URL = re.compile(r"^data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/=\s]+)$")
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def styles() -> dict[str, ParagraphStyle]:
    font = cjk_font().name
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK",
                          splitLongWords=1)
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontSize=17, leading=22, alignment=TA_CENTER, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=10.5, leading=14, alignment=TA_CENTER, spaceAfter=8),
        "h2": ParagraphStyle("h2", base, fontSize=12.5, leading=17, spaceBefore=10, spaceAfter=4,
                             textColor=colors.HexColor("#1f3a5f")),
        "h3": ParagraphStyle("h3", base, fontSize=10.5, leading=14, spaceBefore=6, spaceAfter=3),
        "label": ParagraphStyle("label", base, textColor=colors.HexColor("#333333")),
        "small": ParagraphStyle("small", base, fontSize=7.5, leading=9.5),
        "tiny": ParagraphStyle("tiny", base, fontSize=5.5, leading=7, textColor=colors.HexColor("#444444")),
        "muted": ParagraphStyle("muted", base, textColor=colors.HexColor("#666666")),
        "warn": ParagraphStyle("warn", base, textColor=colors.HexColor("#8a1f11")),
        "body": ParagraphStyle("body", base, fontSize=11, leading=18, firstLineIndent=22, spaceAfter=4),
        "plain": ParagraphStyle("plain", base, fontSize=11, leading=18, spaceAfter=2),
    }


def clean(value: Any) -> str:
    """Return ``value`` as text without control characters ('' for None)."""
    if value is None:
        return ""
    return _CTRL.sub("", str(value)).strip()


def para(value: Any, style: ParagraphStyle, *, dash: bool = True) -> Paragraph:
    """A paragraph of user text: escaped, line breaks kept, '—' when empty."""
    text = clean(value)
    if not text and dash:
        text = "—"
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def markup(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of trusted markup (labels written here, user parts escaped by the caller)."""
    return Paragraph(text, style)


def parse_moment(value: Any) -> datetime | None:
    """Parse an ISO 8601 time (as the phone writes it, 'Z' allowed) or take a datetime."""
    if isinstance(value, datetime):
        return value
    text = clean(value)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def beijing(value: Any, *, seconds: bool = False) -> str:
    """Format a time in Beijing time ('—' when empty; the raw text when it is not a time)."""
    moment = parse_moment(value)
    if moment is None:
        return clean(value) or "—"
    if moment.tzinfo is None:  # the database's UTC columns; a naive phone time stays as written
        if isinstance(value, datetime):
            moment = moment.replace(tzinfo=UTC)
        else:
            return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def cn_date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def hhmm(t: time | None) -> str:
    return t.strftime("%H:%M") if t else ""


def fit(width: float, height: float, max_w: float, max_h: float) -> tuple[float, float]:
    if width <= 0 or height <= 0:
        return max_w, max_h
    scale = min(max_w / width, max_h / height)
    return width * scale, height * scale


def data_url_image(url: Any, max_w: float, max_h: float, st: dict[str, ParagraphStyle]) -> Flowable:
    """The signature drawn on the phone (a data URL) as an image flowable, decoded with Pillow under
    the decompression-bomb guard and a pixel cap; a note instead when it is missing or unreadable."""
    if not isinstance(url, str) or not url:
        return para("未签字", st["warn"])
    if len(url) > SIGNATURE_MAX_BYTES * 2:
        return para("签名图像过大，未能显示", st["warn"])
    match = _DATA_URL.match(url)
    if not match:
        return para("签名图像格式无法识别", st["warn"])
    try:
        raw = base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return para("签名图像无法解码", st["warn"])
    if len(raw) > SIGNATURE_MAX_BYTES:
        return para("签名图像过大，未能显示", st["warn"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[_FORMATS[match.group(1)]]) as im:
                if im.width * im.height > SIGNATURE_MAX_PIXELS:
                    return para("签名图像像素过多，未能显示", st["warn"])
                im.load()
                if im.mode in ("RGBA", "LA", "P"):
                    rgba = im.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.split()[-1])
                else:
                    flat = im.convert("RGB")
                flat.thumbnail((900, 450))
                buf = io.BytesIO()
                flat.save(buf, "PNG")
                buf.seek(0)
                w, h = fit(flat.width, flat.height, max_w, max_h)
                return RLImage(buf, width=w, height=h)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, SyntaxError, ValueError,
            EOFError):
        return para("签名图像无法解码", st["warn"])


def kv_table(rows: list[tuple[str, Any]], st: dict[str, ParagraphStyle], *, label_w: float = 32 * mm,
             width: float = WIDTH) -> Table:
    """A two-column table of label → value (values: text, or a flowable)."""
    data = []
    for label, value in rows:
        cell = value if isinstance(value, (Flowable, list)) else para(value, st["base"])
        data.append([para(label, st["label"]), cell])
    table = Table(data, colWidths=[label_w, width - label_w], splitInRow=1)
    table.setStyle(grid_style(label_col=True))
    return table


def grid_style(*, label_col: bool = False, header: bool = False) -> TableStyle:
    cmds: list[tuple] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8a8a")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if label_col:
        cmds.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f2f5")))
    if header:
        cmds.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e8ef")))
    return TableStyle(cmds)


def numbered_canvas(draw_footer: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that holds the pages until the end, then draws each page's footer knowing the
    page count ("第 N 页 共 M 页")."""

    class _Numbered(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pending: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pending.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pending)
            for state in self._pending:
                self.__dict__.update(state)
                draw_footer(self, self._pageNumber, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return _Numbered


def ascii_fallback(name: str) -> str:
    """An ASCII file name for ``filename=`` (the UTF-8 one goes in ``filename*``)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")
    return out or "document.pdf"


#: a heading needs this much room below it, else it starts the next page (never alone at a page's foot)
HEADING_ROOM = 30 * mm


def keep_headings(story: list) -> list:
    """Put a conditional page break before every heading (styles h2, h3): a heading with too little
    room below it moves to the next page, while a long table after it still starts on this page
    and splits (``keepWithNext`` would move heading and table together and leave a page empty)."""
    from reportlab.platypus import CondPageBreak, Paragraph

    out: list = []
    for f in story:
        if isinstance(f, Paragraph) and getattr(f.style, "name", None) in ("h2", "h3"):
            out.append(CondPageBreak(HEADING_ROOM))
        out.append(f)
    return out
