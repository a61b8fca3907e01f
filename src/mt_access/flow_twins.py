"""Physicians that a flow cannot tell apart, merged into one node (:mod:`mt_access.flow`).

Two physicians are *twins* in a cell → physician graph when they have arcs from the same
cells (and, for the distance assignment, at the same distance from each): the GPs of one
commune without coordinates of their own who accept the same communes and serve the same
needs. A département's month has some 2,400 GPs with places but 700 kinds of them; merging
twins takes the graphs from about 100,000 arcs to 25,000-37,000, and the solves down with
them.

Exact, not an approximation:

* **Who is placed** (max flows, :func:`mt_access.flow.select_by_priority`): what a set of
  cells can receive is bounded by the places of their physicians, ``Σ demand(S) ≤
  places(N(S))`` for every set ``S`` of cells (Hall's condition for the transportation
  problem). Twins always appear together in ``N(S)``, so one node with their places summed
  leaves every such bound, hence every feasible set of persons, unchanged.
* **With whom** (the min-cost assignment): an arc's cost is ``metres × M + rank`` where the
  rank belongs to the physician (:func:`mt_access.flow._tie_broken_costs`); the rank part
  is paid per person the physician receives, so it moves to the physician's own arc to the
  sink. Twins become one node with one arc per twin to the sink (their places, their rank):
  a flow of the merged graph is a flow of the original one with the same cost and the same
  persons per physician, and back (:func:`split_group_flows`); the optimum, and the unique
  places per physician it gives, are the same.

Groups are found with one hash per physician of its arcs, then checked arc by arc: a
collision (two different lists with one hash) only costs a slower exact grouping.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mt_access.sorting import lex_order, numbered_by_appearance, stable_argsort

__all__ = ["Twins", "split_group_flows", "twin_groups"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class Twins(NamedTuple):
    """Physicians of a graph grouped with their twins.

    Attributes:
        members: the physicians with at least one arc, by index.
        group: each member's group, groups numbered in the order of their first member.
        first: the first member of each group (its representative).
        group_of: each physician's group, indexed by physician (-1: no arc).
        keep: the given arcs that are their representative's: the merged graph's arcs.
    """

    members: IntArray
    group: IntArray
    first: IntArray
    group_of: IntArray
    keep: BoolArray

    @property
    def size(self) -> int:
        """The number of groups."""
        return int(self.first.size)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: well spread 64-bit values for a sum of hashes."""
    with np.errstate(over="ignore"):
        z = (values + _GOLDEN) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(27))
    return z


def twin_groups(
    tails: IntArray, heads: IntArray, n_phys: int, weights: IntArray | None = None
) -> Twins:
    """Group the physicians (``heads``) that have arcs from the same ``tails`` (cells), and
    the same ``weights`` on them when given. Each (tail, head) pair must appear once."""
    order = lex_order((tails, heads))
    s_tail, s_head = tails[order], heads[order]
    s_weight = weights[order] if weights is not None else None
    n = int(s_head.size)
    empty = np.empty(0, dtype=np.int64)
    if n == 0:
        return Twins(empty, empty, empty, np.full(n_phys, -1, np.int64), np.zeros(0, bool))
    starts = np.flatnonzero(np.r_[True, s_head[1:] != s_head[:-1]])
    sizes = np.diff(np.r_[starts, n])
    members = s_head[starts]
    arc_hash = _mix(s_tail.astype(np.uint64))
    if s_weight is not None:
        arc_hash = _mix(arc_hash ^ s_weight.astype(np.uint64))
    key_hash = np.add.reduceat(arc_hash, starts)  # wraps: a sum of hashes modulo 2**64
    by_key = np.lexsort((key_hash, sizes))
    new_key = np.r_[True, (np.diff(sizes[by_key]) != 0) | (np.diff(key_hash[by_key]) != 0)]
    key = np.empty(members.size, dtype=np.int64)
    key[by_key] = np.cumsum(new_key) - 1
    group, first_at = numbered_by_appearance(key, members.size)
    # check every member's arcs against its group's first member's
    rep = first_at[group]
    offset = np.arange(n, dtype=np.int64) - np.repeat(starts, sizes)
    twin_at = np.repeat(starts[rep], sizes) + offset
    same = s_tail == s_tail[twin_at]
    if s_weight is not None:
        same &= s_weight == s_weight[twin_at]
    if not bool(same.all()):  # a collision: group by the arcs themselves
        group = _exact_groups(s_tail, s_weight, starts, sizes)
        first_at = numbered_by_appearance(group, members.size)[1]
    group_of = np.full(n_phys, -1, dtype=np.int64)
    group_of[members] = group
    first = members[first_at]
    is_first = np.zeros(n_phys, dtype=bool)
    is_first[first] = True
    return Twins(members, group, first, group_of, is_first[heads])


def _exact_groups(
    s_tail: IntArray, s_weight: IntArray | None, starts: IntArray, sizes: IntArray
) -> IntArray:
    """The groups of :func:`twin_groups` found by the arc lists themselves (one Python step
    per physician): used only when two different lists share a hash."""
    numbers: dict[bytes, int] = {}
    groups = []
    for a, k in zip(starts.tolist(), sizes.tolist(), strict=True):
        data = s_tail[a : a + k].tobytes()
        if s_weight is not None:
            data += b"|" + s_weight[a : a + k].tobytes()
        groups.append(numbers.setdefault(data, len(numbers)))
    return np.array(groups, dtype=np.int64)


def split_group_flows(
    twins: Twins,
    merged_tails: IntArray,
    merged_flows: IntArray,
    member_load: IntArray,
    tails: IntArray,
    heads: IntArray,
) -> IntArray:
    """The flow on each original arc (``tails`` → ``heads``) from a merged graph's solve:
    ``merged_flows`` on the merged arcs (``merged_tails`` → their group, as
    :attr:`Twins.keep` keeps them) and each member's persons ``member_load`` (indexed like
    :attr:`Twins.members`).

    Inside a group, the cells by index take the members by index in turn (the first cell's
    persons fill the first member's places, then the next member's...): twins are at the same
    distance from every cell, so any split of the same totals costs the same; this one is
    deterministic and keeps a cell's persons on as few physicians as it can."""
    flows = np.zeros(tails.size, dtype=np.int64)
    used = np.flatnonzero(merged_flows > 0)
    if used.size == 0:
        return flows
    n_phys = int(twins.group_of.size)
    kept = np.flatnonzero(twins.keep)
    cell_group = twins.group_of[heads[kept[used]]]
    cell_tail = merged_tails[used]
    amount = merged_flows[used]
    by_cell = np.lexsort((cell_tail, cell_group))
    cell_tail, cell_group, amount = cell_tail[by_cell], cell_group[by_cell], amount[by_cell]
    loaded = np.flatnonzero(member_load > 0)
    by_member = np.lexsort((twins.members[loaded], twins.group[loaded]))
    member = twins.members[loaded][by_member]
    load = member_load[loaded][by_member]
    # the groups' persons laid end to end, once as cells' and once as members' intervals:
    # both sum to each group's total, in the same group order, so they end together
    cell_end = np.cumsum(amount)
    member_end = np.cumsum(load)
    if int(cell_end[-1]) != int(member_end[-1]):  # pragma: no cover - a solver's flow
        raise RuntimeError("the groups' persons do not match their members' places")
    points = np.union1d(cell_end, member_end)
    begin = np.r_[0, points[:-1]]
    width = points - begin
    at_cell = np.searchsorted(cell_end, begin, side="right")
    at_member = np.searchsorted(member_end, begin, side="right")
    pair = cell_tail[at_cell] * n_phys + member[at_member]
    arc_key = tails * n_phys + heads
    by_arc = stable_argsort(arc_key)
    where = by_arc[np.searchsorted(arc_key[by_arc], pair)]
    np.add.at(flows, where, width)
    return flows
