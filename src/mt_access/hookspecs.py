"""Every hook of mt-access, in one module (as pytest's ``hookspec.py``).

Two kinds of hooks:

* **Collection hooks** return lists of things to register. Every plugin's answer is kept.
* **Decision hooks** are ``firstresult=True``: the first plugin that returns something other
  than ``None`` decides. The built-in answer is an ordinary hook implementation marked
  ``trylast=True`` (in :mod:`mt_access.policies.decisions`), so a third-party plugin takes over
  by implementing the hook, without patching anything.

Decision hooks work on whole batches of requests (one call per match run, not per request) so
that a department-sized run does not pay a plugin call per request. The scope, classification
and order hooks also have an optional *column form* (``..._columns``): the same decision read
from a :class:`~mt_access.columns.RequestTable` and answered with arrays
(:class:`~mt_access.columns.Coded` answers, key columns), so that a run builds no object per
request for its decisions. A plugin implementing a column form must implement the hook itself
too, with the same answers: :class:`mt_access.hooks.Hooks` asks each plugin in the hook's
order, in its column form when it has one.

Implement hooks with :data:`mt_access.hookimpl`; see ``docs/plugins.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from mt_access.columns import Coded, RequestTable
    from mt_access.geo.communes import CommuneReference
    from mt_access.model import Request
    from mt_access.policy import Policy
    from mt_access.policy_kinds import CriterionKind, PolicySection, RouterKind
    from mt_access.result import Classification, ScopeDecision

__all__ = ["PROJECT_NAME", "hookspec"]

PROJECT_NAME = "mt_access"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# --------------------------------------------------------------------------------------------
# Collection hooks


@hookspec
def mt_access_criterion_kinds() -> list[CriterionKind]:
    """Register criterion kinds usable in policy files (``kind:`` of a criterion).

    Called once per :func:`mt_access.load_policy`. Return a list of
    :class:`mt_access.policy.CriterionKind`. Two plugins registering the same name is an
    error (:class:`mt_access.PluginError`).
    """
    raise NotImplementedError


@hookspec
def mt_access_routers() -> list[RouterKind]:
    """Register routers usable in policy files (``router:`` of a routing rule).

    Called once per :func:`mt_access.load_policy`. Return a list of
    :class:`mt_access.policy.RouterKind`. Duplicate names are an error.
    """
    raise NotImplementedError


@hookspec
def mt_access_commune_references() -> list[CommuneReference]:
    """Register commune reference data (INSEE code, name, postal codes, population, point).

    Called once per :func:`mt_access.load_policy` that is not given a reference. When several
    plugins answer, their communes are merged and, for an INSEE code present in several, the
    plugin registered last wins (a CPTS plugin can correct or extend the bundled reference).
    """
    raise NotImplementedError


@hookspec
def mt_access_policy_directories() -> list[Path]:
    """Register directories holding policy files loadable by name.

    ``load_policy("name")`` looks for ``name.yaml`` in each directory. The built-in plugin
    registers the policies shipped with mt-access; a CPTS plugin can ship its own.
    """
    raise NotImplementedError


@hookspec
def mt_access_policy_sections() -> list[PolicySection[Any]]:
    """Register top-level sections of policy files (``intake:``, ``letters:``, a CPTS's own).

    Called once per :func:`mt_access.load_policy` (through :func:`mt_access.plugins.registry`).
    Return a list of :class:`mt_access.policy_kinds.PolicySection`: each names its key, reads
    its YAML into a value and gives the value of a file without it; the compiled policy gives
    the value back with ``policy.section(SECTION)``. A key no section claims is refused with
    its line; two plugins registering the same name, or a name of the core sections
    (``identity``, ``routing``...), is an error (:class:`mt_access.PluginError`).
    """
    raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Decision hooks


@hookspec(firstresult=True)
def mt_access_check_scope(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[ScopeDecision] | None:
    """Decide whether each request is in the scheme's scope.

    Called once per match run with all requests (sorted by id). Return one
    :class:`mt_access.result.ScopeDecision` per request, in the same order, or ``None`` to
    let the next implementation decide. The built-in answer rejects, in this order: requests
    without consent, from a commune outside the territory, and meeting an exclusion
    criterion of the policy.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def mt_access_classify(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[Classification] | None:
    """Give each in-scope request its priority level.

    Called once per match run. Return one :class:`mt_access.result.Classification` per
    request, in the same order, or ``None``. The built-in answer gives the highest level
    (lowest rank) whose criteria the request meets, with the labels of the criteria met, or
    the non-priority level.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def mt_access_order_keys(
    requests: Sequence[Request],
    classifications: Sequence[Classification],
    policy: Policy,
    on: dt.date,
) -> list[tuple[object, ...]] | None:
    """Give each request its sort key inside its level (smaller first).

    Called once per match run. Keys must be comparable with each other and should end with a
    unique tie-break so that the order is total. The built-in key is
    ``(received date, request id)``: older requests first, then by id.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def mt_access_pseudonym(request_id: str, policy: Policy) -> str | None:
    """Return a stable pseudonym for a request, used wherever a shared list must not
    identify the patient (the ``pull`` router's lists, pseudonymised exports).

    The built-in pseudonym is an HMAC-SHA256 of the request id keyed with the policy's
    ``privacy.pseudonym_key``, cut to 80 bits (``P-ABCD-EFGH-IJKL-MNOP``): stable across
    runs, not reversible without the key.
    """
    raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Column forms of the decision hooks (optional)


@hookspec(firstresult=True)
def mt_access_check_scope_columns(
    table: RequestTable, policy: Policy, on: dt.date
) -> Coded[ScopeDecision] | None:
    """:func:`mt_access_check_scope` in column form: the same decisions for the requests of
    ``table`` (:attr:`~mt_access.columns.RequestTable.requests`, sorted by id), as a
    :class:`~mt_access.columns.Coded` answer (the distinct decisions and each request's
    index among them), or ``None``.

    Optional: a plugin implementing it must implement :func:`mt_access_check_scope` too, and
    both must give the same decisions; the engine then asks this form, in that plugin's
    place among the implementations of :func:`mt_access_check_scope`.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def mt_access_classify_columns(
    table: RequestTable, policy: Policy, on: dt.date
) -> Coded[Classification] | None:
    """:func:`mt_access_classify` in column form: the classifications of the requests of
    ``table`` as a :class:`~mt_access.columns.Coded` answer, or ``None``. Optional, with the
    same rules as :func:`mt_access_check_scope_columns`.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def mt_access_order_keys_columns(
    table: RequestTable,
    classifications: Coded[Classification],
    policy: Policy,
    on: dt.date,
) -> list[npt.NDArray[np.generic]] | None:
    """:func:`mt_access_order_keys` in column form: the sort keys inside a level as columns
    (arrays of one value per request of ``table``: integers, booleans, floats without NaN,
    or texts), compared column by column, then by request id; or ``None``. They must order
    the requests exactly as the plugin's :func:`mt_access_order_keys` does (the request id
    breaking the ties of both). Optional, with the same rules as
    :func:`mt_access_check_scope_columns`.
    """
    raise NotImplementedError
