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

:func:`suggest_names` finds the names closest to one that matches nothing, for the
« vouliez-vous dire … ? » of error messages, with rapidfuzz's edit-distance ratio: on the
32,722 distinct names of the bundled reference it answers 4 to 10 times faster than difflib
(8-24 ms a query against 77-91 ms), with the right name among the first three as often (see
``benchmarks/bench_suggest.py`` and docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["did_you_mean", "normalize_name", "suggest_names"]

SUGGESTIONS = 3
"""How many names :func:`suggest_names` offers at most."""

_SUGGESTION_CUTOFF = 70.0  # rapidfuzz ratio (0-100): below, a name is not offered

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


def suggest_names(name: str, keys: Sequence[str], *, limit: int = SUGGESTIONS) -> tuple[str, ...]:
    """The normalised names of ``keys`` closest to ``name`` (at most ``limit``, closest
    first): those whose similarity to ``normalize_name(name)`` (rapidfuzz's ratio, 100 for
    equal texts) is at least 70, ties in ``keys`` order.

    Args:
        name: a name that matched nothing, as written.
        keys: normalised names (:func:`normalize_name`), e.g. a reference's index keys.
        limit: how many names at most.
    """
    query = normalize_name(name)
    if not query or limit < 1 or not keys:
        return ()
    rapidfuzz: Any = importlib.import_module("rapidfuzz")
    found = rapidfuzz.process.extract(
        query,
        keys,
        scorer=rapidfuzz.fuzz.ratio,
        limit=limit,
        score_cutoff=_SUGGESTION_CUTOFF,
    )
    return tuple(str(match[0]) for match in found)


def did_you_mean(names: Iterable[str]) -> str:
    """`` ; vouliez-vous dire « A », « B » ou « C » ?`` for an error message, ``""`` for no
    name."""
    quoted = [f"« {name} »" for name in names]
    if not quoted:
        return ""
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} ou {quoted[-1]}"
    return f" ; vouliez-vous dire {listed} ?"
