"""Every call of a hook, in one place, with its answer checked.

The core never calls ``pm.hook.mt_access_...`` itself: it goes through :class:`Hooks`, which

* holds the plugin manager of the run (:func:`plugin_manager`: the one given, else the policy's,
  else a fresh one; the only copy of that fallback),
* calls each decision hook the way pluggy does (``firstresult``: the first implementation that
  answers something other than ``None`` decides), remembering *which plugin* answered,
* checks the answer's type and length (one answer per request, of the hook's documented type),
* raises :class:`~mt_access.errors.PluginError` naming the hook and the plugin when an answer is
  wrong or an implementation fails with anything but an mt-access error.

When a hook has wrappers (``hookimpl(wrapper=True)`` or ``hookwrapper=True``), it is called
through pluggy unchanged, and an error names every plugin implementing it (the wrappers may have
changed the answer).

The engine asks the scope, classification and order hooks through their column forms
(:meth:`Hooks.scope_columns`, :meth:`Hooks.classify_columns`, :meth:`Hooks.order_columns`):
the implementations of the hook are asked in pluggy's order as always, each plugin that also
implements the hook's column form (``mt_access_classify_columns``...) in that form, the others
with the list of requests; the first answer other than ``None`` decides, and either form is
checked and given back as columns. With wrappers on the hook, it is called through pluggy with
the list of requests (the wrappers see the list answers they expect).

While a decision hook runs, the manager that called it is *active*: an implementation that
needs another hook (the built-in order keys ask for pseudonyms) finds it with
:func:`plugin_manager` and so uses the manager given to :func:`mt_access.match`, not only the
policy's.

The collection hooks (criterion kinds, routers, commune references, policy directories) are
checked here too (:func:`collected`): each item of the expected type, each answer a list, and
the plugin named when one is not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pluggy

from mt_access.columns import Coded, RequestTable
from mt_access.errors import MtAccessError, PluginError
from mt_access.hook_base import (
    ACTIVE,
    active,
    collected,
    describe_plugin,
    failed,
    is_wrapper,
    named,
)
from mt_access.plugins import get_plugin_manager
from mt_access.result import Classification, ReasonCode, ScopeDecision

if TYPE_CHECKING:
    from mt_access.model import Request
    from mt_access.policy import Policy

__all__ = [
    "Hooks",
    "checked_call",
    "collected",
    "describe_plugin",
    "owner_of",
    "plugin_manager",
]

T = TypeVar("T")


def plugin_manager(
    policy: Policy | None = None, given: pluggy.PluginManager | None = None
) -> pluggy.PluginManager:
    """The plugin manager for the hooks: ``given``, else the one whose decision hook is running
    (see the module's docstring), else the policy's, else a fresh one with the installed
    plugins (:func:`mt_access.get_plugin_manager`)."""
    if given is not None:
        return given
    active = ACTIVE.get()
    if active is not None:
        return active
    if policy is not None and policy.plugin_manager is not None:
        return policy.plugin_manager
    return get_plugin_manager()


class Hooks:
    """The decision hooks of one plugin manager, called and checked.

    Attributes:
        pm: the plugin manager.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    @classmethod
    def of(cls, policy: Policy | None = None, given: pluggy.PluginManager | None = None) -> Hooks:
        """The hooks of :func:`plugin_manager` ``(policy, given)``."""
        return cls(plugin_manager(policy, given))

    # -- calling

    def _first(self, hook: str, kwargs: dict[str, Any]) -> tuple[Any, _Who]:
        """The first answer of ``hook`` other than ``None``, and who gave it."""
        with active(self.pm):
            return self._caller(hook)(kwargs)

    def _caller(self, hook: str) -> Callable[[dict[str, Any]], tuple[Any, _Who]]:
        """A function calling ``hook`` as pluggy does (``firstresult``), its implementations
        looked up once (for hooks called once per request)."""
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()
        pm = self.pm
        if any(is_wrapper(i) for i in impls):
            every = _Who(pm, [i.plugin for i in reversed(impls)])

            def through_pluggy(kwargs: dict[str, Any]) -> tuple[Any, _Who]:
                try:
                    answer = caller(**kwargs)
                except MtAccessError:
                    raise
                except Exception as exc:
                    raise PluginError(failed(hook, every, exc)) from exc
                if answer is None:
                    raise PluginError(_no_answer(hook))
                return answer, every

            return through_pluggy
        ordered = [(i.function, i.argnames, i.plugin) for i in reversed(impls)]

        def first(kwargs: dict[str, Any]) -> tuple[Any, _Who]:
            for function, argnames, plugin in ordered:  # pluggy's order: tryfirst ... trylast
                try:
                    answer = function(*[kwargs[a] for a in argnames])
                except MtAccessError:
                    raise
                except Exception as exc:
                    raise PluginError(failed(hook, _Who(pm, [plugin]), exc)) from exc
                if answer is not None:
                    return answer, _Who(pm, [plugin])
            raise PluginError(_no_answer(hook))

        return first

    def _list(self, hook: str, kwargs: dict[str, Any], expected: int) -> tuple[list[Any], _Who]:
        answer, who = self._first(hook, kwargs)
        return _one_per_request(hook, who, answer, expected), who

    # -- decision hooks

    def check_scope(
        self, requests: Sequence[Request], policy: Policy, on: dt.date
    ) -> list[ScopeDecision]:
        """``mt_access_check_scope``: one checked :class:`ScopeDecision` per request."""
        return self._per_request("mt_access_check_scope", requests, policy, on, _scope_problem)

    def classify(
        self, requests: Sequence[Request], policy: Policy, on: dt.date
    ) -> list[Classification]:
        """``mt_access_classify``: one checked :class:`Classification` per request."""
        return self._per_request(
            "mt_access_classify", requests, policy, on, _classification_problem
        )

    def _per_request(
        self,
        hook: str,
        requests: Sequence[Request],
        policy: Policy,
        on: dt.date,
        problem_of: Callable[[object], str],
    ) -> list[Any]:
        """A decision hook answering one item per request, each item checked by
        ``problem_of`` (what is wrong with it, empty when nothing is)."""
        answer, who = self._list(
            hook, {"requests": requests, "policy": policy, "on": on}, len(requests)
        )
        # answers share objects: each distinct one is checked once, in order of first position
        distinct = dict(zip(map(id, answer), answer, strict=True))
        for item in distinct.values():
            problem = problem_of(item)
            if problem:
                k = next(k for k, other in enumerate(answer) if other is item)
                raise PluginError(f"{hook} : {who} a renvoyé, en position {k}, {problem}")
        return answer

    def order_keys(
        self,
        requests: Sequence[Request],
        classifications: Sequence[Classification],
        policy: Policy,
        on: dt.date,
    ) -> list[tuple[Any, ...]]:
        """``mt_access_order_keys``: one tuple per request."""
        return self._order_keys(requests, classifications, policy, on)[0]

    def _order_keys(
        self,
        requests: Sequence[Request],
        classifications: Sequence[Classification],
        policy: Policy,
        on: dt.date,
    ) -> tuple[list[tuple[Any, ...]], _Who]:
        hook = "mt_access_order_keys"
        kwargs = {
            "requests": requests,
            "classifications": classifications,
            "policy": policy,
            "on": on,
        }
        answer, who = self._first(hook, kwargs)
        return self._checked_keys(answer, who, len(requests)), who

    def order(
        self,
        requests: Sequence[Request],
        classifications: Sequence[Classification],
        policy: Policy,
        on: dt.date,
    ) -> tuple[list[tuple[Any, ...]], list[int]]:
        """The order keys (:meth:`order_keys`) and the indexes of ``requests`` in priority
        order: level, then key, then id. Keys that cannot be compared with each other are the
        order-keys plugin's error."""
        keys, who = self._order_keys(requests, classifications, policy, on)
        ids = list(map(_id, requests))
        ranks = list(map(_rank, classifications))
        return keys, self._sorted(keys, who, ranks, ids)

    def _sorted(
        self,
        keys: Sequence[tuple[Any, ...]],
        who: object,
        ranks: Sequence[int],
        ids: Sequence[str],
    ) -> list[int]:
        """The indexes of the requests by (rank, key, id)."""
        fast = _whole_array_order(ranks, keys, ids)
        if fast is not None:
            return fast
        decorated = list(zip(ranks, keys, ids, strict=True))
        try:
            return sorted(range(len(decorated)), key=decorated.__getitem__)
        except TypeError as exc:
            raise PluginError(
                f"mt_access_order_keys : {who} a renvoyé des clés qui ne se comparent pas "
                f"entre elles ({exc})"
            ) from exc

    # -- decision hooks in column form (the engine's)

    def _decide(
        self, hook: str, kwargs: Callable[[], dict[str, Any]], columns: dict[str, Any]
    ) -> tuple[Any, _Who, bool]:
        """The first answer of the decision hook ``hook`` other than ``None``, who gave it and
        whether it is in column form: each implementation asked in pluggy's order, in the
        hook's column form (``hook + "_columns"``, arguments ``columns``) when its plugin
        implements it, else with ``kwargs()`` (made once, when first needed)."""
        pm = self.pm
        column_hook = hook + "_columns"
        impls = getattr(pm.hook, hook).get_hookimpls()
        column_impls = getattr(pm.hook, column_hook).get_hookimpls()
        wrapping = [i.plugin for i in column_impls if is_wrapper(i)]
        if wrapping:
            raise PluginError(
                f"{column_hook} : {_Who(pm, wrapping)} enveloppe la forme en colonnes d'un hook "
                f"de décision, ce qui n'est pas pris en charge (envelopper {hook})"
            )
        made: list[dict[str, Any]] = []

        def request_kwargs() -> dict[str, Any]:
            if not made:
                made.append(kwargs())
            return made[0]

        with active(pm):
            if any(is_wrapper(i) for i in impls):
                answer, who = self._caller(hook)(request_kwargs())
                return answer, who, False
            plugins = {id(i.plugin) for i in impls}
            alone = [i.plugin for i in column_impls if id(i.plugin) not in plugins]
            if alone:
                raise PluginError(
                    f"{column_hook} : {_Who(pm, alone)} implémente la forme en colonnes sans "
                    f"implémenter {hook}"
                )
            in_columns = {id(i.plugin): i for i in column_impls}
            for impl in reversed(impls):  # pluggy's order: tryfirst ... trylast
                column = in_columns.get(id(impl.plugin))
                who = _Who(pm, [impl.plugin])
                try:
                    if column is None:
                        args = request_kwargs()
                        answer = impl.function(*[args[a] for a in impl.argnames])
                    else:
                        answer = column.function(*[columns[a] for a in column.argnames])
                except MtAccessError:
                    raise
                except Exception as exc:
                    name = hook if column is None else column_hook
                    raise PluginError(failed(name, who, exc)) from exc
                if answer is not None:
                    return answer, who, column is not None
        raise PluginError(_no_answer(hook))

    def _coded(
        self,
        hook: str,
        table: RequestTable,
        policy: Policy,
        on: dt.date,
        problem_of: Callable[[object], str],
    ) -> Coded[Any]:
        """A per-request decision hook (scope, classification) asked through :meth:`_decide`,
        its answer checked and given as a :class:`Coded` answer."""
        n = len(table)
        answer, who, column = self._decide(
            hook,
            lambda: {"requests": table.requests, "policy": policy, "on": on},
            {"table": table, "policy": policy, "on": on},
        )
        if not column:
            answer = Coded.of(_one_per_request(hook, who, answer, n))
        hook = hook + "_columns" if column else hook
        if not isinstance(answer, Coded):
            raise PluginError(
                f"{hook} : {who} a renvoyé {type(answer).__name__} au lieu d'un Coded"
            )
        codes = np.asarray(answer.codes)
        if codes.dtype.kind not in "iu" or codes.shape != (n,):
            raise PluginError(
                f"{hook} : {who} a renvoyé des codes {codes.dtype} de forme {codes.shape} au "
                f"lieu de {n} entier(s) (un par demande)"
            )
        if n and (int(codes.min()) < 0 or int(codes.max()) >= len(answer.values)):
            raise PluginError(f"{hook} : {who} a renvoyé un code hors de ses valeurs")
        for k, value in enumerate(answer.values):
            problem = problem_of(value)
            if problem:
                rows = np.flatnonzero(codes == k)
                if rows.size:
                    raise PluginError(
                        f"{hook} : {who} a renvoyé, en position {int(rows[0])}, {problem}"
                    )
        return Coded(codes.astype(np.int64, copy=False), answer.values)

    def scope_columns(
        self, table: RequestTable, policy: Policy, on: dt.date
    ) -> Coded[ScopeDecision]:
        """``mt_access_check_scope`` (or its column form) for the requests of ``table``: a
        checked :class:`ScopeDecision` per request, as a :class:`Coded` answer."""
        return self._coded("mt_access_check_scope", table, policy, on, _scope_problem)

    def classify_columns(
        self, table: RequestTable, policy: Policy, on: dt.date
    ) -> Coded[Classification]:
        """``mt_access_classify`` (or its column form) for the requests of ``table``: a
        checked :class:`Classification` per request, as a :class:`Coded` answer."""
        return self._coded("mt_access_classify", table, policy, on, _classification_problem)

    def order_columns(
        self,
        table: RequestTable,
        classifications: Coded[Classification],
        policy: Policy,
        on: dt.date,
    ) -> tuple[npt.NDArray[np.int64], Callable[[], list[tuple[Any, ...]]]]:
        """``mt_access_order_keys`` (or its column form) for the requests of ``table``: the
        indexes of the requests in priority order (level rank, then key, then id), and a
        function giving each request's key as a tuple (a column form's keys: its columns'
        values, then the request id).

        Raises:
            PluginError: keys of the wrong type, length or kind, or that do not compare.
        """
        hook = "mt_access_order_keys"
        n = len(table)
        answer, who, column = self._decide(
            hook,
            lambda: {
                "requests": table.requests,
                "classifications": classifications.tolist(),
                "policy": policy,
                "on": on,
            },
            {"table": table, "classifications": classifications, "policy": policy, "on": on},
        )
        rank_of = np.array([c.rank for c in classifications.values], dtype=np.int64)
        ranks = rank_of[classifications.codes] if n else np.empty(0, dtype=np.int64)
        ids = table.ids
        if not column:
            given = self._checked_keys(answer, who, n)
            listed = self._sorted(given, who, ranks.tolist(), ids)
            return np.asarray(listed, dtype=np.int64), lambda: given
        columns = _key_columns(answer, who, n)
        if n == 0:
            return np.empty(0, dtype=np.int64), list
        order = np.lexsort((_id_rank(ids), *columns[::-1], ranks)).astype(np.int64, copy=False)

        def keys() -> list[tuple[Any, ...]]:
            return list(zip(*[c.tolist() for c in columns], ids, strict=True))

        return order, keys

    def _checked_keys(self, answer: object, who: _Who, n: int) -> list[tuple[Any, ...]]:
        """A per-request answer of ``mt_access_order_keys``: a list of ``n`` tuples."""
        hook = "mt_access_order_keys"
        answer = _one_per_request(hook, who, answer, n)
        if not all(map(isinstance, answer, itertools.repeat(tuple))):  # in C: no loop per key
            k = next(k for k, key in enumerate(answer) if not isinstance(key, tuple))
            raise PluginError(
                f"{hook} : {who} a renvoyé, en position {k}, {type(answer[k]).__name__} "
                "au lieu d'un tuple"
            )
        return answer

    def pseudonym(self, request_id: str, policy: Policy) -> str:
        """``mt_access_pseudonym``: the request's pseudonym (a non-empty string)."""
        return self.pseudonyms([request_id], policy)[0]

    def pseudonyms(self, request_ids: Sequence[str], policy: Policy) -> list[str]:
        """:meth:`pseudonym` of each request (the implementations looked up once)."""
        hook = "mt_access_pseudonym"
        out: list[str] = []
        with active(self.pm):
            call = self._caller(hook)
            for request_id in request_ids:
                answer, who = call({"request_id": request_id, "policy": policy})
                if not isinstance(answer, str) or not answer:
                    raise PluginError(
                        f"{hook} : {who} a renvoyé {type(answer).__name__} au lieu d'un texte "
                        "non vide"
                    )
                out.append(answer)
        return out

    # -- what plugins registered

    def check_criterion(self, kind: str, result: object, n: int | None = None) -> Any:
        """A criterion's answer (a bool, or ``n`` bools for a vectorised test), checked.

        Raises:
            PluginError: naming the criterion kind and the plugin that registered it.
        """
        if n is None:
            if isinstance(result, bool | np.bool_):
                return bool(result)
            problem = f"{type(result).__name__} au lieu d'un booléen"
        else:
            array = np.asarray(result)
            if array.dtype == np.bool_ and array.shape == (n,):
                return array
            problem = f"un tableau {array.dtype} de forme {array.shape} au lieu de {n} booléen(s)"
        who = owner_of(self.pm, "mt_access_criterion_kinds", kind)
        raise PluginError(f"le critère {kind!r} ({who}) a renvoyé {problem}")

    def router_owner(self, router: str) -> str:
        """Who registered the router named ``router``, for a message."""
        return owner_of(self.pm, "mt_access_routers", router)


_id = operator.attrgetter("id")
_rank = operator.attrgetter("rank")

WHOLE_ARRAY_ORDER_MIN = 1_000
"""From this many requests, :meth:`Hooks.order` sorts with whole-array steps when the order
keys allow it (:func:`_whole_array_order`)."""


def _whole_array_order(
    ranks: Sequence[int], keys: Sequence[tuple[Any, ...]], ids: Sequence[str]
) -> list[int] | None:
    """The indexes of the requests sorted by ``(rank, key, id)`` as :func:`sorted` sorts
    these tuples (stable), with one :func:`numpy.lexsort` instead of comparing tuples:
    a département's month (250,000 requests) in tens of milliseconds instead of half a
    second. Only when every key is a tuple of the same length and each position holds ints
    (or bools) only, floats without NaN only, or texts without a NUL character only (numpy
    compares those exactly as Python does); ``None`` otherwise (and below
    :data:`WHOLE_ARRAY_ORDER_MIN` requests): the caller sorts the tuples."""
    n = len(keys)
    if n < WHOLE_ARRAY_ORDER_MIN or len(set(map(len, keys))) != 1:
        return None
    width = len(keys[0])  # zip(*keys) would unpack 250,000 arguments: far slower
    # one column at a time, each list let go once it is an array (6 million requests: 48 MB
    # a list)
    columns: Iterator[Sequence[Any]] = itertools.chain(
        [ranks], (list(map(operator.itemgetter(k), keys)) for k in range(width)), [ids]
    )
    try:  # ids sorted and unique (as in match): their rank is their position
        ids_rank = (
            np.arange(n, dtype=np.int64)
            if all(map(operator.lt, ids, itertools.islice(ids, 1, None)))
            else None
        )
    except TypeError:
        return None
    sortable = []
    for column in columns:
        if ids_rank is not None and (column is ids or all(map(operator.is_, column, ids))):
            sortable.append(ids_rank)  # the ids themselves (the built-in keys end with them)
            continue
        array = _sortable(column)
        if array is None:
            return None
        sortable.append(array)
    order: npt.NDArray[np.intp] = np.lexsort(sortable[::-1])  # the last key sorts first
    del sortable
    return order.tolist()  # type: ignore[no-any-return]


def _id_rank(ids: Sequence[str]) -> npt.NDArray[np.int64]:
    """Each id's rank among ``ids`` (unique) in Python's order of texts: their positions when
    they are sorted already (as in a match run)."""
    n = len(ids)
    if all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
        return np.arange(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=ids.__getitem__)] = np.arange(n, dtype=np.int64)
    return rank


def _one_per_request(hook: str, who: object, answer: object, n: int) -> list[Any]:
    """The per-request answer ``answer`` of ``hook`` by ``who``, checked: a list of ``n``
    items (one per request, in the order given).

    Raises:
        PluginError: not a list, or a list of another length.
    """
    if not isinstance(answer, list):
        raise PluginError(
            f"{hook} : {who} a renvoyé {type(answer).__name__} au lieu d'une liste "
            f"de {n} élément(s)"
        )
    if len(answer) != n:
        raise PluginError(
            f"{hook} : {who} a renvoyé {len(answer)} élément(s) au lieu de {n} "
            "(un par demande, dans l'ordre reçu)"
        )
    return answer


def _key_columns(answer: object, who: object, n: int) -> list[npt.NDArray[Any]]:
    """A column-form answer of ``mt_access_order_keys``: a list of arrays of ``n`` values
    that numpy sorts as Python sorts them (integers, booleans, floats without NaN, texts)."""
    hook = "mt_access_order_keys_columns"
    if not isinstance(answer, list | tuple):
        raise PluginError(
            f"{hook} : {who} a renvoyé {type(answer).__name__} au lieu d'une liste de colonnes"
        )
    columns = []
    for k, column in enumerate(answer):
        array = np.asarray(column)
        if array.shape != (n,) or array.dtype.kind not in "biufU":
            raise PluginError(
                f"{hook} : {who} a renvoyé, en colonne {k}, un tableau {array.dtype} de forme "
                f"{array.shape} au lieu de {n} valeur(s) (entiers, booléens, réels ou textes)"
            )
        if array.dtype.kind == "f" and bool(np.isnan(array).any()):
            raise PluginError(f"{hook} : {who} a renvoyé, en colonne {k}, des NaN")
        columns.append(array)
    return columns


def _sortable(column: Sequence[Any]) -> npt.NDArray[Any] | None:
    """``column`` as an array numpy sorts as Python sorts its values, or ``None``."""
    types = set(map(type, column))
    try:
        if types <= {int, bool}:
            return np.array(column, dtype=np.int64)
        if types == {float}:
            floats = np.array(column, dtype=np.float64)
            return None if bool(np.isnan(floats).any()) else floats
    except OverflowError:  # ints beyond 64 bits
        return None
    if types != {str} or "\0" in "".join(column):  # numpy drops trailing NULs
        return None
    return np.array(column, dtype=str)


class _Who:
    """The plugin(s) that answered a hook, named only when a message needs it."""

    __slots__ = ("plugins", "pm")

    def __init__(self, pm: pluggy.PluginManager, plugins: list[object]) -> None:
        self.pm = pm
        self.plugins = plugins

    def __str__(self) -> str:
        return named([describe_plugin(self.pm, p) for p in self.plugins])


def _no_answer(hook: str) -> str:
    return f"{hook} : aucun plugin n'a répondu (tous ont renvoyé None)"


def _scope_problem(d: object) -> str:
    if not isinstance(d, ScopeDecision):
        return f"{type(d).__name__} au lieu d'un ScopeDecision"
    if not isinstance(d.in_scope, bool):
        return "un ScopeDecision dont in_scope n'est pas un booléen"
    if not isinstance(d.detail, str):
        return "un ScopeDecision dont detail n'est pas un texte"
    if d.in_scope and d.reason is not None:
        return "un ScopeDecision accepté avec un motif de rejet"
    if not d.in_scope and not isinstance(d.reason, ReasonCode):
        return "un ScopeDecision rejeté sans motif (ReasonCode)"
    return ""


def _classification_problem(c: object) -> str:
    if not isinstance(c, Classification):
        return f"{type(c).__name__} au lieu d'une Classification"
    if not isinstance(c.level, str) or not c.level:
        return "une Classification sans nom de niveau"
    if isinstance(c.rank, bool) or not isinstance(c.rank, int) or c.rank < 1:
        return "une Classification dont le rang n'est pas un entier ≥ 1"
    if not isinstance(c.priority, bool):
        return "une Classification dont priority n'est pas un booléen"
    if not isinstance(c.criteria, tuple) or not all(isinstance(x, str) for x in c.criteria):
        return "une Classification dont criteria n'est pas un tuple de textes"
    return ""


# --------------------------------------------------------------------------------------------
# Collection hooks


def owner_of(pm: pluggy.PluginManager, hook: str, name: str) -> str:
    """Who registered the kind (criterion kind, router) called ``name`` through ``hook``, for a
    message (« le plugin 'x' »); only computed when an error is reported."""
    found: list[str] = []
    with contextlib.suppress(Exception):
        for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
            for item in impl.function() or ():
                if getattr(item, "name", None) == name:
                    found.append(describe_plugin(pm, impl.plugin))
    return named(found) if found else "plugin inconnu"


def checked_call(who: Callable[[], str], call: Callable[[], T]) -> T:
    """``call()``, an exception other than an mt-access error turned into a
    :class:`PluginError` naming ``who()`` (« le routeur 'x' (le plugin 'y') »)."""
    try:
        return call()
    except MtAccessError:
        raise
    except Exception as exc:
        raise PluginError(f"{who()} a échoué ({type(exc).__name__})") from exc
