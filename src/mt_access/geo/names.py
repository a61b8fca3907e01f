"""Normalisation of French commune names for lookups.

Two spellings of the same commune name normalise to the same string::

    >>> normalize_name("Marquette-lez-Lille") == normalize_name("marquette les lille")
    True
    >>> normalize_name("St Étienne de Crossey")
    'saint etienne de crossey'

The rules, in order:

1. case-fold (``"É"`` → ``"é"``, ``"ß"`` → ``"ss"``);
2. ``œ`` → ``oe``, ``æ`` → ``ae``;
3. strip accents and other combining marks (Unicode NFKD decomposition, marks dropped);
4. hyphens and dashes, apostrophes, underscores, dots, commas, parentheses and any run of
   white space become one space; leading and trailing spaces are dropped;
5. the whole words ``st`` and ``ste`` (also written ``St.``/``Ste.``) become ``saint`` and
   ``sainte``;
6. ``lez`` between two words becomes ``les`` (so ``lès``, ``lez`` and ``les`` are the same
   token there). At the start or end of a name it is kept: ``Lez`` and ``Lez-Fontaine`` are
   communes of their own.

Results are memoised, so repeated lookups of the same text cost one dictionary access.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["normalize_name"]

# Characters that separate words, besides Unicode white space: hyphens and dashes,
# apostrophes and quotes, underscores, dots, commas, parentheses.
_SEPARATORS = "-_'.,()\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2018\u2019\u02bc\u00b4`"
_WORD_RE = re.compile(f"[^\\s{re.escape(_SEPARATORS)}]+")

# Blocks of combining marks (accents), deleted after NFKD decomposition.
_MARKS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")

_WORD_MAP = {"st": "saint", "ste": "sainte"}
_INNER_WORD_MAP = {**_WORD_MAP, "lez": "les"}
_MAPPED_WORDS = frozenset(_INNER_WORD_MAP)

_CACHE_SIZE = 1 << 17


def _normalize(text: str) -> str:
    folded = text.casefold()
    if not folded.isascii():
        # œ and æ are ligatures that NFKD does not decompose.
        folded = folded.replace("œ", "oe").replace("æ", "ae")
        # Compatibility decomposition can give back capitals (U+2130 SCRIPT CAPITAL E -> E):
        # fold again after it, so that the key is stable (normalising a key changes nothing).
        folded = _MARKS_RE.sub("", unicodedata.normalize("NFKD", folded)).casefold()
        folded = folded.replace("œ", "oe").replace("æ", "ae")
    words = _WORD_RE.findall(folded)
    if _MAPPED_WORDS.isdisjoint(words):
        return " ".join(words)
    last = len(words) - 1
    for i, word in enumerate(words):
        table = _INNER_WORD_MAP if 0 < i < last else _WORD_MAP
        replacement = table.get(word)
        if replacement is not None:
            words[i] = replacement
    return " ".join(words)


_normalize_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(_normalize)


def normalize_name(text: str) -> str:
    """Return the lookup key of a commune name (see the module docstring for the rules).

    Raises:
        TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"nom de commune attendu sous forme de texte, reçu {type(text).__name__}")
    return _normalize_cached(text)
