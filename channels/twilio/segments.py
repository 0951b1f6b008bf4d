"""How many SMS segments a text costs (3GPP TS 23.038).

A text made only of GSM-7 characters fits 160 per segment (153 each once concatenated); the
extension characters (``{}[]~|^€\\``) cost two. Any other character (``ê``, ``ç``, ``’``…)
switches the whole text to UCS-2: 70 per segment, 67 each once concatenated. French accents
``é è à ù`` are GSM-7; ``ê â î ô û ç ë ï`` are not.
"""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
SINGLE = {"gsm7": 160, "ucs2": 70}
MULTI = {"gsm7": 153, "ucs2": 67}


def encoding(text: str) -> str:
    """``"gsm7"`` when every character is in the GSM 03.38 tables, else ``"ucs2"``."""
    ok = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    return "gsm7" if ok else "ucs2"


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    if encoding(text) == "gsm7":
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """The number of SMS segments ``text`` is billed as (0 for an empty text)."""
    size = units(text)
    kind = encoding(text)
    if size == 0:
        return 0
    if size <= SINGLE[kind]:
        return 1
    return -(-size // MULTI[kind])


def fits_one(text: str) -> bool:
    return segments(text) <= 1
