"""An argparse parser that speaks French: messages, help, usage errors and suggestions.

:mod:`argparse` writes its messages in English through ``argparse._`` and
``argparse.ngettext`` (gettext). :class:`FrenchParser` swaps those two names for a small
French catalogue while it builds itself, parses, or formats its help (:func:`french`), so
every message it prints is French on every supported Python (3.11 to 3.13). The subparsers
made by ``add_subparsers().add_parser`` are of the same class (argparse uses the parent's
class), so every command and subcommand gets the French parser with no further work.

On a usage error the parser prints its usage, one ``erreur :`` line and where to find the
help, then exits with code 2. A mistyped command, choice or option gets a « vouliez-vous
dire … ? » suggestion (:func:`suggest`).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

__all__ = ["CATALOGUE", "FrenchHelpFormatter", "FrenchParser", "french", "suggest"]

CATALOGUE: dict[str, str] = {
    # help and usage
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "optional arguments": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "subcommands": "sous-commandes",
    # errors
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "%(prog)s: warning: %(message)s\n": "%(prog)s : attention : %(message)s\n",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "commande inconnue : %(parser_name)r (possibles : %(choices)s)"
    ),
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "unexpected option string: %s": "option inattendue : %s",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (possibles : %(choices)s)"
    ),
    "invalid choice: %(value)r, maybe you meant %(closest)r?": (
        "choix invalide : %(value)r ; vouliez-vous dire %(closest)r ?"
    ),
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "option %(option)s is deprecated": "l'option %(option)s est obsolète",
    "argument %(argument_name)s is deprecated": "l'argument %(argument_name)s est obsolète",
    "command %(parser_name)r is deprecated": "la commande %(parser_name)r est obsolète",
    "%(option)s must not be empty": "%(option)s ne doit pas être vide",
    "argument '%(argument_name)s' is deprecated": "l'argument %(argument_name)s est obsolète",
    "unrecognized arguments: %(args)s": "arguments non reconnus : %(args)s",
}
"""French for each message argparse passes to gettext (Python 3.11 to 3.13)."""

_PLURALS: dict[str, tuple[str, str]] = {
    "expected %s argument": ("%s valeur attendue", "%s valeurs attendues"),
    "conflicting option string: %s": ("option en double : %s", "options en double : %s"),
}

_TYPE_NAMES = {"int": "nombre entier", "float": "nombre"}


def _gettext(message: str) -> str:
    return CATALOGUE.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    if singular in _PLURALS:
        one, many = _PLURALS[singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


@contextmanager
def french() -> Iterator[None]:
    """Within the block, argparse's messages are French (re-entrant; not thread-safe: the
    command line runs on one thread)."""
    saved = (getattr(argparse, "_", None), getattr(argparse, "ngettext", None))
    setattr(argparse, "_", _gettext)  # noqa: B010 (argparse's private gettext name)
    setattr(argparse, "ngettext", _ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was probably meant to be (accents and case ignored first,
    then :func:`difflib.get_close_matches`), or ``None``."""
    names = sorted(set(candidates))
    plain = _plain(word)
    for name in names:
        if _plain(name) == plain:
            return name
    close = difflib.get_close_matches(plain, [_plain(n) for n in names], n=1, cutoff=0.6)
    if not close:
        return None
    return next(n for n in names if _plain(n) == close[0])


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` ; vouliez-vous dire « x » ?`` or an empty string."""
    found = suggest(word, candidates)
    return f" ; vouliez-vous dire « {found} » ?" if found else ""


class FrenchHelpFormatter(argparse.HelpFormatter):
    """argparse's help layout with French section titles (« options : »)."""

    def start_section(self, heading: str | None) -> None:
        # argparse appends ":" to the title; French puts a space before it.
        super().start_section(f"{heading} " if heading else heading)


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _choice_names(action: argparse.Action) -> list[str]:
    """The names shown for a choice list: commands without their aliases."""
    if isinstance(action, argparse._SubParsersAction):
        return [str(a.dest) for a in action._choices_actions]
    return [str(c) for c in action.choices or ()]


class FrenchParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` with French messages, help and suggestions.

    Usage errors go to standard error as the usage, an ``erreur :`` line and a pointer to
    ``--help``; the exit code is 2 (``SystemExit(2)``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        with french():
            super().__init__(*args, **kwargs)

    # -- everything argparse prints is built inside french()

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction[Any]:
        with french():
            return super().add_subparsers(**kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with french():
            return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            target = self._chosen(parsed)
            target.error(target._unrecognized(extras))
        return parsed

    def format_usage(self) -> str:
        with french():
            return super().format_usage()

    def format_help(self) -> str:
        with french():
            return super().format_help()

    # -- errors and suggestions

    def _chosen(self, parsed: argparse.Namespace) -> FrenchParser:
        """The deepest subcommand parser the arguments selected."""
        parser: FrenchParser = self
        while (action := _subcommands(parser)) is not None:
            name = getattr(parsed, str(action.dest), None)
            chosen = action._name_parser_map.get(str(name)) if name is not None else None
            if not isinstance(chosen, FrenchParser):
                break
            parser = chosen
        return parser

    def _unrecognized(self, extras: list[str]) -> str:
        first = extras[0]
        if first.startswith("-") and len(first) > 1 and not first[1:].replace(".", "").isdigit():
            option = first.split("=", 1)[0]
            hint = did_you_mean(option, self._option_string_actions)
            return f"option inconnue : {option}{hint}"
        return f"argument en trop : {' '.join(extras)}"

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            type_func: Callable[..., Any] | None = action.type  # type: ignore[assignment]
            name = getattr(type_func, "__name__", "")
            if name in _TYPE_NAMES:
                raise argparse.ArgumentError(
                    action, f"{_TYPE_NAMES[name]} attendu, reçu {arg_string!r}"
                ) from None
            raise

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is None or value in action.choices:
            return
        names = _choice_names(action)
        candidates = list(action.choices) if isinstance(action.choices, dict) else names
        hint = did_you_mean(str(value), (str(c) for c in candidates))
        what = "commande inconnue" if isinstance(action, argparse._SubParsersAction) else "choix"
        if what == "choix":
            what = "valeur invalide"
        listed = ", ".join(names)
        raise argparse.ArgumentError(action, f"{what} : « {value} »{hint} (possibles : {listed})")

    def error(self, message: str) -> NoReturn:
        """Print the usage, the French error and where the help is; exit with code 2."""
        stream = sys.stderr
        stream.write(self.format_usage())
        stream.write(f"erreur : {message}\n")
        stream.write(f"aide : {self.prog} --help\n")
        raise SystemExit(2)
