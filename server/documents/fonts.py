"""The CJK font of the printed documents, registered with reportlab once per process.

reportlab embeds TrueType (glyf) fonts only: the CFF-based Noto Sans/Serif CJK (``fonts-noto-cjk``)
cannot be used. Search order:

1. ``PDF_CJK_FONT`` (app config) or ``SPOTCHECK_PDF_CJK_FONT`` (environment): ``path[,subfont index]``;
2. known Debian paths: ``fonts-wqy-zenhei`` (recommended), ``fonts-wqy-microhei``,
   ``fonts-arphic-uming``/``ukai``, ``fonts-droid-fallback``;
3. reportlab's built-in CID font ``STSong-Light`` — not embedded (readers substitute a local font),
   with a warning in the log.

The embedded font is subset by reportlab and carries a ToUnicode map: the text of the PDF can be
extracted (and searched) as Chinese.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from flask import current_app, has_app_context
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

FONT_NAME = "SpotcheckCJK"
FALLBACK_CID = "STSong-Light"

#: (path, subfont index of a .ttc) in order of preference; the Debian package is in the comment
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),  # fonts-arphic-ukai
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # fonts-droid-fallback
)


@dataclass(frozen=True)
class FontInfo:
    name: str  # the reportlab font name to use
    embedded: bool
    source: str  # the file (or the CID font's name)


_LOCK = threading.Lock()
_FONT: FontInfo | None = None


def _configured() -> tuple[str, int] | None:
    value = None
    if has_app_context():
        value = current_app.config.get("PDF_CJK_FONT")
    value = value or os.environ.get("SPOTCHECK_PDF_CJK_FONT")
    if not value:
        return None
    path, _sep, index = str(value).partition(",")
    try:
        return path.strip(), int(index.strip() or 0)
    except ValueError:
        log.warning("PDF_CJK_FONT %r: the subfont index is not a number; using 0", value)
        return path.strip(), 0


def _try(path: str, index: int) -> FontInfo | None:
    if not os.path.isfile(path):
        return None
    try:
        font = TTFont(FONT_NAME, path, subfontIndex=index)
    except Exception as exc:  # noqa: BLE001 - a CFF/PostScript font or a broken file: try the next
        log.warning("PDF font %s (subfont %s) is not usable by reportlab: %s", path, index, exc)
        return None
    pdfmetrics.registerFont(font)
    # one face serves for bold and italic as well (<b> in a paragraph must not fail)
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT_NAME, bold, italic, FONT_NAME)
    return FontInfo(FONT_NAME, True, f"{path},{index}")


def cjk_font() -> FontInfo:
    """Return the registered CJK font (registering it on the first call of the process)."""
    global _FONT
    if _FONT is not None:
        return _FONT
    with _LOCK:
        if _FONT is not None:
            return _FONT
        candidates = list(KNOWN_FONTS)
        configured = _configured()
        if configured:
            candidates.insert(0, configured)
        for path, index in candidates:
            info = _try(path, index)
            if info:
                _FONT = info
                return info
        log.warning("No embeddable CJK TrueType font found (install the Debian package fonts-wqy-zenhei or set "
                    "PDF_CJK_FONT=path[,index]); PDFs use the non-embedded CID font %s", FALLBACK_CID)
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID))
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FALLBACK_CID, bold, italic, FALLBACK_CID)
        _FONT = FontInfo(FALLBACK_CID, False, FALLBACK_CID)
        return _FONT
