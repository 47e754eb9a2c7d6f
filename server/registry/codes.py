"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from the alphabet 0-9 A-H J-N P-R T-U W-Y (no I, O, S, V, Z). The 18th is a check
character: with the value of each of the first 17 characters weighted by 3^i mod 31,
``C18 = 31 - (Σ value·weight mod 31)`` (31 counts as 0).

Objects without a code get a generated one that starts with ``S``: S is not in the alphabet, so a
generated code can never equal a real one.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
FORBIDDEN = frozenset("IOSVZ")
GENERATED_PREFIX = "S"


class CodeError(ValueError):
    """A code that is not a valid unified social credit code; ``reason`` is a stable key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Strip spaces and upper-case a code as typed or imported."""
    return (code or "").strip().replace(" ", "").upper()


def validate(code: str) -> str:
    """Return the normalised code, or raise :class:`CodeError` with reason ``length``,
    ``forbidden_char`` (I/O/S/V/Z), ``bad_char`` or ``check_char``."""
    code = normalise(code)
    if len(code) != 18:
        raise CodeError("length", f"{len(code)} characters, 18 required")
    bad = sorted({c for c in code if c in FORBIDDEN})
    if bad:
        raise CodeError("forbidden_char", "".join(bad))
    other = sorted({c for c in code if c not in VALUES})
    if other:
        raise CodeError("bad_char", "".join(other))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CodeError("check_char", f"check character {code[17]}, expected {expected}")
    return code


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except CodeError:
        return False
    return True


def is_generated(code: str) -> bool:
    return normalise(code).startswith(GENERATED_PREFIX)


def generate_placeholder() -> str:
    """Return a new code for an object that has none (``S`` + 17 random alphabet characters)."""
    return GENERATED_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(17))


def make_valid(first17: str) -> str:
    """Return ``first17`` completed with its check character (demo data and tests)."""
    return first17 + check_character(first17)
