"""Built-in answers to the decision hooks (plugin); each is ``trylast`` so any plugin can
take over."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from mt_access.model import Request
from mt_access.plugins import hookimpl
from mt_access.policy import Policy
from mt_access.result import Classification, ReasonCode, ScopeDecision


@hookimpl(trylast=True)
def mt_access_check_scope(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[ScopeDecision]:
    decisions = []
    for request in requests:
        if not request.consent.given:
            decisions.append(ScopeDecision.reject(ReasonCode.NO_CONSENT))
        elif request.commune not in policy.territory:
            decisions.append(
                ScopeDecision.reject(ReasonCode.OUT_OF_TERRITORY, f"commune {request.commune}")
            )
        else:
            excluded = [c.label for c in policy.exclusions if c(request, on)]
            if excluded:
                decisions.append(
                    ScopeDecision.reject(ReasonCode.EXCLUDED_REASON, " ; ".join(excluded))
                )
            else:
                decisions.append(ScopeDecision.accept())
    return decisions


@hookimpl(trylast=True)
def mt_access_classify(
    requests: Sequence[Request], policy: Policy, on: dt.date
) -> list[Classification]:
    out = []
    for request in requests:
        for level in policy.levels:
            met = level.matched(request, on)
            if met is not None:
                out.append(Classification(level.name, level.rank, True, met))
                break
        else:
            out.append(Classification(policy.non_priority_level, policy.non_priority_rank, False))
    return out


@hookimpl(trylast=True)
def mt_access_order_keys(
    requests: Sequence[Request],
    classifications: Sequence[Classification],
    policy: Policy,
    on: dt.date,
) -> list[tuple[object, ...]]:
    keys: list[tuple[object, ...]] = []
    for r in requests:
        key: list[object] = []
        for name in policy.ordering_keys:
            if name == "received":
                key.append(r.received.toordinal())
            elif name == "urgent":
                key.append(0 if r.urgent else 1)
            elif name == "age":
                key.append(r.patient.birth_date.toordinal())
        if policy.tie_break == "pseudonym":
            pm = policy.plugin_manager
            key.append(
                pm.hook.mt_access_pseudonym(request_id=r.id, policy=policy)
                if pm is not None
                else mt_access_pseudonym(r.id, policy)
            )
        key.append(r.id)
        keys.append(tuple(key))
    return keys


@hookimpl(trylast=True)
def mt_access_pseudonym(request_id: str, policy: Policy) -> str:
    digest = hashlib.blake2b(
        request_id.encode("utf-8"), key=policy.pseudonym_key.encode("utf-8")[:64], digest_size=5
    )
    return "P-" + digest.hexdigest().upper()
