"""Finding order codes in bank-transfer descriptions.

Vietnamese banks rewrite what the customer typed: upper-case it, glue their own prefixes and
suffixes on (`MBVCB.3278841.DH1234.CT tu 0123 ...`, `IBFT DH1234 thanh toan`), strip or keep
diacritics, and customers type separators inside the code (`DH-1234`, `DH 1234`, `dh.1234`)
or leading zeros. So a description is folded (diacritics off, `Đ` -> `D`) and searched
case-insensitively with the configured pattern, and every code found is reduced to one
canonical form: upper case, no separators, no leading zeros in its digit runs
(`dh.001234` -> `DH1234`). Orders are keyed by that canonical form too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Prefix DH, then up to two separators, then digits. Case is ignored.
DEFAULT_PATTERN = r"DH[\s._\-:#/]{0,2}\d+"


class PatternError(ValueError):
    """The configured order-code pattern is not usable."""


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: 'Đơn hàng' -> 'Don hang'."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def canonical_code(code: str) -> str:
    """'dh-001234' -> 'DH1234'. Raises ValueError for text with no letters or digits."""
    compact = re.sub(r"[^0-9A-Z]", "", fold(code).upper())
    canonical = re.sub(r"\d+", lambda m: str(int(m.group())), compact)
    if not canonical:
        raise ValueError(f"order code {code!r} has no letters or digits")
    return canonical


@lru_cache(maxsize=8)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise PatternError(
            f"order-code pattern {pattern!r} is not a valid regex: {error}"
        ) from None
    if compiled.groups > 1:
        raise PatternError(f"order-code pattern {pattern!r} may have at most one group (the code)")
    if compiled.search(""):
        raise PatternError(f"order-code pattern {pattern!r} matches empty text")
    return compiled


def find_codes(description: str, pattern: str = DEFAULT_PATTERN) -> list[str]:
    """Canonical order codes in `description`, first seen first, each once.

    With a group in the pattern, the group is the code; otherwise the whole match is.
    """
    compiled = compile_pattern(pattern)
    codes: list[str] = []
    for match in compiled.finditer(fold(description)):
        text = match.group(1) if compiled.groups else match.group()
        if not text:
            continue
        code = canonical_code(text)
        if code not in codes:
            codes.append(code)
    return codes
