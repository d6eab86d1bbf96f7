"""Finding order codes in bank-transfer descriptions.

Vietnamese banks rewrite what the customer typed: upper-case it, glue their own prefixes and
suffixes on (`MBVCB.3278841.DH1234.CT tu 0123 ...`, `IBFT DH1234 thanh toan`), strip or keep
diacritics, and customers type separators inside the code (`DH-1234`, `DH 1234`, `dh.1234`)
or leading zeros. So a description is folded (diacritics off, `Đ` -> `D`) and searched
case-insensitively with the configured pattern, and every code found is reduced to one
canonical form: upper case, no separators, no leading zeros in its digit runs
(`dh.001234` -> `DH1234`). Orders are keyed by that canonical form too.

Digits are ASCII digits, and only those. Patterns are compiled with `re.ASCII` (a digit
class means 0-9; word and space classes are ASCII too); folding leaves every other
digit-like character as it is (NFKD would turn a full-width three, U+FF13, or a '²' into
'3' or '2'); and a code whose digits run straight into one of those characters (`DH12٣`)
is no code: its number can't be read, and its ASCII part (`DH12`) may be another order's.
A code with a digit run longer than MAX_CODE_DIGITS (leading zeros included) is no code
either: nobody types one, and reading it would only cost time. Neither fails: the
description just names no order.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Prefix DH, then up to two separators, then digits. Case is ignored.
DEFAULT_PATTERN = r"DH[\s._\-:#/]{0,2}\d+"
# The longest digit run a code may have, leading zeros included: far more than any
# order numbering needs, far less than what makes reading one slow.
MAX_CODE_DIGITS = 30
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_DIGIT_RUN = re.compile(r"[0-9]+")


class PatternError(ValueError):
    """The configured order-code pattern is not usable."""


def _is_digit_like(char: str) -> bool:
    """A digit or number that isn't ASCII ('٣', '²', '①', full-width U+FF13), or a
    character that folds to one."""
    if char.isnumeric():
        return True
    return any(c.isnumeric() for c in unicodedata.normalize("NFKD", char))


def _fold_run(match: re.Match[str]) -> str:
    folded: list[str] = []
    for char in match.group():
        if _is_digit_like(char):
            folded.append(char)  # kept as it is: never read as an ASCII digit
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        folded.extend(c for c in decomposed if not unicodedata.combining(c))
    return "".join(folded)


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: 'Đơn hàng' -> 'Don hang'. Digits that aren't ASCII
    are left as they are (module docstring)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return _NON_ASCII.sub(_fold_run, text)


def _has_digit_like(text: str) -> bool:
    return any(not c.isascii() and _is_digit_like(c) for c in text)


def canonical_code(code: str) -> str:
    """'dh-001234' -> 'DH1234'. Raises ValueError for text with no letters or digits, with
    digits that aren't ASCII, or with a digit run longer than MAX_CODE_DIGITS."""
    folded = fold(code).upper()
    if _has_digit_like(folded):
        raise ValueError(f"order code {code!r} has digits that aren't ASCII (0-9)")
    compact = re.sub(r"[^0-9A-Z]", "", folded)
    if any(len(run) > MAX_CODE_DIGITS for run in _DIGIT_RUN.findall(compact)):
        raise ValueError(f"order code {code!r} has a run of more than {MAX_CODE_DIGITS} digits")
    canonical = _DIGIT_RUN.sub(lambda m: m.group().lstrip("0") or "0", compact)
    if not canonical:
        raise ValueError(f"order code {code!r} has no letters or digits")
    return canonical


@lru_cache(maxsize=8)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.IGNORECASE | re.ASCII)
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

    With a group in the pattern, the group is the code; otherwise the whole match is. A
    match that holds, or whose digits run into, a digit that isn't ASCII, or whose digit
    run is longer than MAX_CODE_DIGITS, is not a code (module docstring).
    """
    compiled = compile_pattern(pattern)
    folded = fold(description)
    codes: list[str] = []
    for match in compiled.finditer(folded):
        group = 1 if compiled.groups else 0
        text = match.group(group)
        if not text:
            continue
        start, end = match.span(group)
        before = folded[start - 1 : start] if text[0].isdigit() else ""
        after = folded[end : end + 1] if text[-1].isdigit() else ""
        if _has_digit_like(before + after):
            continue  # a number we can't read, not this code
        try:
            code = canonical_code(text)
        except ValueError:
            continue  # non-ASCII digits, or a digit run too long to be a code
        if code not in codes:
            codes.append(code)
    return codes
