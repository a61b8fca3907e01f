"""Fast distances and the k nearest targets (GPs) of many origins (requests).

- :func:`haversine_km_many` is the fast path for many pairs when 0.5 % is close enough: a
  vectorised haversine on a sphere whose radius (:data:`HAVERSINE_RADIUS_KM`) minimises the
  largest error against the geodesic in metropolitan France.
- :func:`k_nearest` answers "the k nearest eligible targets of each origin" for many origins
  at once. Its distances and order are the geodesic ones (:func:`geodesic_km_many`, the
  reference distance of the project); a spatial prefilter only decides which pairs are worth
  a geodesic computation.

How :func:`k_nearest` stays exact. Points are placed on the unit sphere by their geodetic
latitude and longitude, and compared there by chord (straight-line) distance, which orders
them like the great-circle angle ``theta``. Along any path, the ellipsoid's length element
lies between ``M_min`` and ``N_max`` times the unit sphere's (``M_min = a (1 - e²)`` is the
smallest meridional radius of curvature, at the equator, and ``N_max = a / sqrt(1 - e²)`` the
largest prime-vertical one, at the poles), so every geodesic distance ``g`` satisfies::

    M_min * theta <= g <= N_max * theta

If ``theta_k`` is the k-th smallest angle among the eligible targets of an origin, the k-th
smallest geodesic distance is at most ``N_max * theta_k``, hence every target that can be
among the k nearest has ``theta <= theta_k * N_max / M_min`` (a ratio of 1.0101). Those
candidates, and only those, get a geodesic distance; they are then sorted by
``(distance, target index)``. The same bounds turn a maximum distance into an angle.

Candidates are searched per leaf of a k-d split of the distinct origin points (tens to
thousands of points close together, a size balancing numpy's fixed costs against the size of
the arrays): the targets within a radius ``D`` of the leaf's bounding box hold every target
within ``D`` of each of its origins, so an origin whose candidate radius is at most ``D`` is
settled; the others are retried with ``D`` doubled. The work is done once per distinct
(point, group) pair of the origins, and the geodesic distance once per distinct (origin
point, target point) pair: the requests of one commune and the GPs of one practice cost one
computation. Of several targets at one point, only the k lowest-numbered eligible ones are
candidates, since they tie.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from mt_access.errors import MatchInputError
from mt_access.geo.distance import geodesic_km_many

__all__ = [
    "HAVERSINE_RADIUS_KM",
    "EligibilityFunction",
    "KNearest",
    "haversine_km_many",
    "k_nearest",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

EligibilityFunction: TypeAlias = Callable[[IntArray, IntArray], npt.ArrayLike]
"""``eligible(groups, targets)``: a boolean array of shape ``(len(groups), len(targets))``,
true where target ``targets[j]`` is eligible for group ``groups[i]`` (see :func:`k_nearest`)."""

HAVERSINE_RADIUS_KM = 6376.7
"""Radius (km) of the sphere of :func:`haversine_km_many`.

The minimax radius for metropolitan France (Corsica included: latitudes 41.3° to 51.1°,
longitudes -5.2° to 9.6°) and distances of 1 to 200 km: the haversine distance is then within
0.23 % of the geodesic one in every direction (north-south distances are overestimated, east-west
ones underestimated). The IUGG mean radius, 6371.0 km, would give -0.31 % to +0.14 %.
"""

# WGS84 (as in mt_access.geo.distance).
_A_KM = 6378.137
_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
_M_MIN_KM = _A_KM * (1 - _E2)  # meridional radius of curvature at the equator
_N_MAX_KM = _A_KM / math.sqrt(1 - _E2)  # prime-vertical radius of curvature at the poles
# Candidate angle / k-th angle: N_max / M_min, plus room for the rounding of the angles and
# for the error of Vincenty's formula (well under a millimetre) in the relative and absolute
# slacks.
_RATIO = (_N_MAX_KM / _M_MIN_KM) * (1 + 1e-9)
_ANGLE_SLACK = 1e-8  # radians, 6 cm
_CHORD2_SLACK = 1e-12  # squared unit chord: far above its rounding error (about 1e-15)

# Distinct origin points per leaf of the k-d split: see _Search.__init__.
_LEAF_OVERHEAD = 100_000  # fixed cost of a leaf, in (query, target) pairs
_LEAF_POINTS_MIN = 32
_LEAF_POINTS_MAX = 4096
_FIRST_TARGETS = 16  # the first radius of a leaf holds at least this many targets (or k * 4)
_MIN_CHORD2 = (1.0 / 6371.0) ** 2  # ... and is at least about 1 km
_EVERYWHERE = 5.0  # a squared chord above any (4 at most), below the inf of ineligible targets


class KNearest(NamedTuple):
    """The answer of :func:`k_nearest`, for ``n`` origins and ``k`` neighbours.

    Attributes:
        indices: ``int64[n, k]``, the target indices of each origin, nearest first (ties by
            target index); -1 after the last one found.
        distances_km: ``float64[n, k]``, the geodesic distances (:func:`geodesic_km_many`),
            same order; ``inf`` where ``indices`` is -1.
    """

    indices: IntArray
    distances_km: FloatArray


def haversine_km_many(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Return haversine distances in km on a sphere of radius :data:`HAVERSINE_RADIUS_KM`.

    Arguments in WGS84 degrees, broadcast together like numpy arrays; the result has the
    broadcast shape. For pairs 1 to 200 km apart in metropolitan France the result is within
    0.23 % of :func:`geodesic_km_many` (tested at 0.5 %); anywhere on Earth, within -0.36 %
    and +0.65 % (the bounds of the module's docstring). About ten times faster than
    :func:`geodesic_km_many`; use that one where distances are shown, stored or compared
    with a maximum.

    Raises:
        MatchInputError: a latitude is outside [-90, 90] or a coordinate is not finite.
    """
    la1, lo1, la2, lo2 = np.broadcast_arrays(*(_degrees(x) for x in (lat1, lon1, lat2, lon2)))
    _check_coordinates(la1, lo1, "point 1")
    _check_coordinates(la2, lo2, "point 2")
    phi1, phi2 = np.radians(la1), np.radians(la2)
    half_dphi = np.sin((phi2 - phi1) * 0.5)
    half_dlam = np.sin(np.radians(lo2 - lo1) * 0.5)
    h = half_dphi * half_dphi + np.cos(phi1) * np.cos(phi2) * (half_dlam * half_dlam)
    km: FloatArray = (2.0 * HAVERSINE_RADIUS_KM) * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return km


def k_nearest(
    origin_lats: npt.ArrayLike,
    origin_lons: npt.ArrayLike,
    target_lats: npt.ArrayLike,
    target_lons: npt.ArrayLike,
    k: int,
    *,
    eligible: npt.ArrayLike | EligibilityFunction | None = None,
    origin_group: npt.ArrayLike | None = None,
    max_km: float | None = None,
) -> KNearest:
    """Return, for each origin, its ``k`` nearest eligible targets by geodesic distance.

    Exact: the answer is the one of computing :func:`geodesic_km_many` between every origin
    and every eligible target, dropping the targets farther than ``max_km`` and sorting each
    origin's targets by ``(distance, target index)``; but only the pairs that can be among the
    k nearest are computed (see the module's docstring).

    Args:
        origin_lats: the latitudes of the ``n`` origins (1-d, WGS84 degrees).
        origin_lons: the longitudes of the ``n`` origins (1-d, WGS84 degrees).
        target_lats: the latitudes of the ``m`` targets (1-d, WGS84 degrees).
        target_lons: the longitudes of the ``m`` targets (1-d, WGS84 degrees).
        k: how many targets per origin (0 or more).
        eligible: which targets each origin may get; ``None``: all of them. Each origin has a
            *group*: ``origin_group[i]`` when given, else ``i``. Either

            * a boolean array ``[m]``: the same targets for every origin;
            * a boolean array ``[n_groups, m]``: row ``g`` for the origins of group ``g``
              (without ``origin_group``, one row per origin). The engine's case: one group
              per cell (commune × need for home visits), one row per cell;
            * a function ``eligible(groups, targets)`` of two int64 arrays returning a boolean
              array ``[len(groups), len(targets)]`` (groups may repeat), called with the
              groups of up to a few thousand origins and the targets near them: for when the
              full matrix would be too large. Slower than a matrix, and an origin with no
              eligible target then costs a pass over all targets unless ``max_km`` is set.
        origin_group: int array ``[n]``, the group of each origin (``0 <= group <
            n_groups`` for a matrix). Origins with the same point and the same group are
            worked out once.
        max_km: the maximum distance (inclusive), or ``None``.

    Returns:
        ``(indices, distances_km)``, both ``[n, k]``; see :class:`KNearest`. An origin with
        fewer than ``k`` eligible targets within ``max_km`` is padded with -1 and ``inf``.

    Raises:
        MatchInputError: inconsistent shapes, a latitude outside [-90, 90], a coordinate that
            is not finite, a negative ``k`` or ``max_km``, a group outside the matrix, an
            eligibility function returning the wrong shape.
    """
    o_lat, o_lon = _points(origin_lats, origin_lons, "origine")
    t_lat, t_lon = _points(target_lats, target_lons, "cible")
    k = _check_k(k)
    limit = _check_max_km(max_km)
    n, m = o_lat.size, t_lat.size
    rule, group = _eligibility(eligible, origin_group, n, m)

    if n == 0 or m == 0 or k == 0:
        return _nothing(n, k)

    # The queries: the distinct (point, group) pairs of the origins; then their distinct points.
    if group is None:
        query_of_origin, first = _distinct_rows(o_lat, o_lon)
        query_group = np.zeros(first.size, dtype=np.int64)
    else:
        query_of_origin, first = _distinct_rows(o_lat, o_lon, group)
        query_group = group[first]
    query_point, p_lat, p_lon = _distinct_points(o_lat[first], o_lon[first])
    # Targets are searched in the order of their distinct points (then of their index), so
    # that the targets of one point are contiguous: see _Search._round.
    target_point, tp_lat, tp_lon = _distinct_points(t_lat, t_lon)
    by_point = np.argsort(target_point, kind="stable")
    rule, kept = rule.thinned(by_point, target_point[by_point], k)
    by_point = by_point[kept]
    if by_point.size == 0:  # no target is eligible for any origin
        return _nothing(n, k)

    search = _Search(
        points=_unit_vectors(p_lat, p_lon),
        targets=_unit_vectors(t_lat[by_point], t_lon[by_point]),
        target_point=target_point[by_point],
        k=min(k, m),
        rule=rule,
        max_chord2=None
        if limit is None
        else float(_chord2(min(limit / _M_MIN_KM, math.pi))) + _CHORD2_SLACK,
        groups_per_point=query_point.size / p_lat.size,
    )
    pair_query, pair_sorted_target = search.candidates(query_point, query_group)
    pair_target = by_point[pair_sorted_target]

    # One geodesic distance per distinct (origin point, target point) pair.
    n_tp = tp_lat.size
    pair_key = query_point[pair_query] * n_tp + target_point[pair_target]
    distinct_keys, key_inverse = np.unique(pair_key, return_inverse=True)
    key_point, key_tp = np.divmod(distinct_keys, n_tp)
    km = np.asarray(
        geodesic_km_many(p_lat[key_point], p_lon[key_point], tp_lat[key_tp], tp_lon[key_tp]),
        dtype=np.float64,
    )
    if limit is not None:
        within = (km <= limit)[key_inverse]
        pair_query, pair_target, key_inverse = (
            pair_query[within],
            pair_target[within],
            key_inverse[within],
        )

    # Sort by (query, distance, target) with two stable integer sorts (distances by rank),
    # and keep the first k of each query.
    distinct_km, km_rank = np.unique(km, return_inverse=True)
    order = np.argsort(pair_target, kind="stable")
    by_distance = (pair_query * distinct_km.size + km_rank[key_inverse])[order]
    order = order[np.argsort(by_distance, kind="stable")]
    pair_query, pair_target, key_inverse = (
        pair_query[order],
        pair_target[order],
        key_inverse[order],
    )
    n_queries = query_point.size
    starts = np.searchsorted(pair_query, np.arange(n_queries, dtype=np.int64))
    rank = np.arange(pair_query.size, dtype=np.int64) - starts[pair_query]
    first_k = rank < k
    query_indices = np.full((n_queries, k), -1, dtype=np.int64)
    query_km = np.full((n_queries, k), np.inf, dtype=np.float64)
    query_indices[pair_query[first_k], rank[first_k]] = pair_target[first_k]
    query_km[pair_query[first_k], rank[first_k]] = km[key_inverse[first_k]]
    return KNearest(query_indices[query_of_origin], query_km[query_of_origin])


# -- eligibility -------------------------------------------------------------------------


class _Rule:
    """Eligibility of targets for groups: a dense matrix, a function, or everything."""

    __slots__ = ("counts", "function", "matrix", "order")

    def __init__(
        self,
        *,
        matrix: BoolArray | None = None,
        function: EligibilityFunction | None = None,
        counts: IntArray | None = None,
        order: IntArray | None = None,
    ) -> None:
        self.matrix = matrix
        self.function = function
        self.order = order  # target numbers to give the function
        # Eligible targets per group, when known: a query that has them all is settled.
        self.counts = counts

    def thinned(self, order: IntArray, point: IntArray, k: int) -> tuple[_Rule, IntArray]:
        """Renumber the targets and drop those that cannot be among the k nearest.

        ``order`` sorts the targets by point, then by number; ``point`` is the point of each
        target in that order. Targets of one point tie, so only the k lowest-numbered of them
        that are eligible for a group can be among its k nearest: the others are dropped from
        the eligibility (with a function, :meth:`_Search._round` drops them from the pairs).

        Returns the rule for the kept targets and their positions in ``order``: new target
        ``j`` is old ``order[kept[j]]``.
        """
        n = order.size
        new_point = np.ones(n, dtype=bool)
        new_point[1:] = point[1:] != point[:-1]
        run_start = np.flatnonzero(new_point)
        run_of_target = np.cumsum(new_point, dtype=np.int64) - 1
        if self.matrix is None and self.function is None:
            rank = np.arange(n, dtype=np.int64) - run_start[run_of_target]
            return self, np.flatnonzero(rank < k)
        if self.matrix is None:
            return _Rule(function=self.function, order=order), np.arange(n, dtype=np.int64)
        matrix = self.matrix[:, order]
        # Number of eligible targets of the group up to each target, within its point.
        seen = np.cumsum(matrix, axis=1, dtype=np.int32)
        before = np.zeros((matrix.shape[0], run_start.size), dtype=np.int32)
        before[:, 1:] = seen[:, run_start[1:] - 1]
        keep = matrix & (seen - before[:, run_of_target] <= k)
        kept = np.flatnonzero(keep.any(axis=0))
        counts = np.count_nonzero(keep, axis=1).astype(np.int64)
        return _Rule(matrix=keep[:, kept], counts=counts), kept

    def submatrix(self, groups: IntArray, targets: IntArray) -> BoolArray | None:
        """Eligibility of ``targets`` for ``groups`` (``None``: all eligible)."""
        if self.matrix is not None:
            return self.matrix[groups[:, None], targets[None, :]]
        if self.function is None:
            return None
        original = targets if self.order is None else self.order[targets]
        answer = np.asarray(self.function(groups, original))
        expected = (groups.size, targets.size)
        if answer.shape != expected or answer.dtype != np.bool_:
            raise MatchInputError(
                f"la fonction d'éligibilité doit renvoyer un tableau booléen de forme "
                f"{expected}, reçu {answer.dtype} de forme {answer.shape}"
            )
        return answer


def _eligibility(
    eligible: npt.ArrayLike | EligibilityFunction | None,
    origin_group: npt.ArrayLike | None,
    n: int,
    m: int,
) -> tuple[_Rule, IntArray | None]:
    """Normalise ``eligible`` and ``origin_group``: the rule and each origin's group.

    The group is ``None`` when every origin has the same eligibility.
    """
    group: IntArray | None = None
    if origin_group is not None:
        raw = np.asarray(origin_group)
        if raw.shape != (n,) or (raw.size and raw.dtype.kind not in "iu"):
            raise MatchInputError(
                f"origin_group : un tableau d'entiers de forme ({n},) est attendu, "
                f"reçu {raw.dtype} de forme {raw.shape}"
            )
        group = raw.astype(np.int64)
        if group.size and int(group.min()) < 0:
            raise MatchInputError("origin_group : les groupes doivent être positifs ou nuls")
    if eligible is None:
        return _Rule(), None
    if callable(eligible):
        if group is None:
            group = np.arange(n, dtype=np.int64)
        return _Rule(function=eligible), group
    matrix = np.asarray(eligible)
    if matrix.dtype != np.bool_:
        raise MatchInputError(f"eligible : un tableau booléen est attendu, reçu {matrix.dtype}")
    if matrix.ndim == 1:
        if matrix.shape != (m,):
            raise MatchInputError(
                f"eligible : un masque de forme ({m},) est attendu, reçu {matrix.shape}"
            )
        return _Rule(matrix=matrix[None, :]), None
    if matrix.ndim != 2 or matrix.shape[1] != m:
        raise MatchInputError(
            f"eligible : une matrice (groupes, {m}) est attendue, reçu la forme {matrix.shape}"
        )
    if group is None:
        if matrix.shape[0] != n:
            raise MatchInputError(
                f"eligible : sans origin_group, une ligne par origine est attendue ({n}), "
                f"reçu {matrix.shape[0]}"
            )
        group = np.arange(n, dtype=np.int64)
    elif group.size and int(group.max()) >= matrix.shape[0]:
        raise MatchInputError(
            f"origin_group : groupe {int(group.max())} hors de la matrice eligible "
            f"({matrix.shape[0]} lignes)"
        )
    return _Rule(matrix=matrix), group


# -- candidate search ----------------------------------------------------------------------


class _Search:
    """The candidate pairs of :func:`k_nearest`: see the module's docstring."""

    def __init__(
        self,
        *,
        points: FloatArray,
        targets: FloatArray,
        target_point: IntArray,
        k: int,
        rule: _Rule,
        max_chord2: float | None,
        groups_per_point: float,
    ) -> None:
        self.points = points
        self.targets = targets
        self.target_point = target_point
        self.k = k
        self.rule = rule
        self.max_chord2 = max_chord2
        self.first_targets = min(targets.shape[0], max(_FIRST_TARGETS, 4 * k))
        # Points per leaf: a leaf costs a fixed overhead (numpy calls, one pass over the
        # targets) plus (its queries) x (the targets near it); this size balances the two when
        # targets and points are spread alike.
        n_points, n_targets = points.shape[0], targets.shape[0]
        self.leaf_points = int(
            np.clip(
                math.sqrt(_LEAF_OVERHEAD * n_points / (groups_per_point * n_targets)),
                _LEAF_POINTS_MIN,
                _LEAF_POINTS_MAX,
            )
        )
        self.pair_query: list[IntArray] = []
        self.pair_target: list[IntArray] = []

    def candidates(self, query_point: IntArray, query_group: IntArray) -> tuple[IntArray, IntArray]:
        """Return the candidate ``(query, target)`` pairs of every query."""
        leaves = _leaves(self.points, self.leaf_points)
        leaf_of_point = np.empty(self.points.shape[0], dtype=np.int64)
        local = np.empty(self.points.shape[0], dtype=np.int64)  # index of a point in its leaf
        for number, leaf in enumerate(leaves):
            leaf_of_point[leaf] = number
            local[leaf] = np.arange(leaf.size, dtype=np.int64)
        leaf_of_query = leaf_of_point[query_point]
        order = np.argsort(leaf_of_query, kind="stable")
        bounds = np.searchsorted(leaf_of_query[order], np.arange(len(leaves) + 1))
        for number, leaf in enumerate(leaves):
            queries = order[bounds[number] : bounds[number + 1]]
            self._leaf(self.points[leaf], queries, local[query_point[queries]], query_group)
        if not self.pair_query:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(self.pair_query), np.concatenate(self.pair_target)

    def _leaf(
        self, points: FloatArray, queries: IntArray, row: IntArray, query_group: IntArray
    ) -> None:
        """Settle the queries of one leaf; ``row``: the point (row of ``points``) of each."""
        low, high = points.min(axis=0), points.max(axis=0)
        outside = np.maximum(np.maximum(low - self.targets, self.targets - high), 0.0)
        box_chord2 = np.einsum("ij,ij->i", outside, outside)
        n_targets = box_chord2.size
        # The first radius: enough targets for k, at least about 1 km.
        radius2 = max(
            float(np.partition(box_chord2, self.first_targets - 1)[self.first_targets - 1]),
            _MIN_CHORD2,
        )
        active = np.arange(queries.size, dtype=np.int64)
        while active.size:
            chosen = np.flatnonzero(box_chord2 <= radius2)
            everything = chosen.size == n_targets
            settled = self._round(
                queries[active], row[active], query_group, points, chosen, everything, radius2
            )
            active = active[~settled]
            radius2 *= 4.0

    def _round(
        self,
        queries: IntArray,
        row: IntArray,
        query_group: IntArray,
        points: FloatArray,
        chosen: IntArray,
        everything: bool,
        radius2: float,
    ) -> BoolArray:
        """Settle what can be settled among ``queries`` with the targets ``chosen``.

        Records the candidate pairs of the settled queries and returns which ones they are.
        """
        k = self.k
        # Squared chords from each distinct point of the queries to each chosen target.
        present = np.zeros(points.shape[0], dtype=bool)
        present[row] = True
        shared = np.count_nonzero(present) < row.size  # several queries (groups) at a point
        rows = np.flatnonzero(present) if shared else row
        chord2 = points[rows] @ self.targets[chosen].T
        chord2 *= -2.0
        chord2 += 2.0
        np.maximum(chord2, 0.0, out=chord2)
        if shared:
            chord2 = chord2[(np.cumsum(present, dtype=np.int64) - 1)[row]]
        mask = self.rule.submatrix(query_group[queries], chosen)
        if mask is not None:
            chord2[~mask] = np.inf
        if self.max_chord2 is not None:
            chord2[chord2 > self.max_chord2] = np.inf
        if chosen.size >= k:
            kth = np.partition(chord2, k - 1, axis=1)[:, k - 1]
        else:
            kth = np.full(queries.size, np.inf)
        # Every target that may be among the k nearest is within this squared chord.
        angle = 2.0 * np.arcsin(np.sqrt(np.minimum(kth, 4.0)) * 0.5)
        bound = np.minimum(angle * _RATIO + _ANGLE_SLACK, math.pi)
        threshold = _chord2(bound) + _CHORD2_SLACK
        if self.max_chord2 is None:
            threshold[~np.isfinite(kth)] = _EVERYWHERE  # fewer than k eligible targets
        else:
            np.minimum(threshold, self.max_chord2, out=threshold)
            threshold[~np.isfinite(kth)] = self.max_chord2
        settled = threshold <= radius2
        if everything:
            settled[:] = True
        elif self.rule.counts is not None:
            found = np.count_nonzero(mask, axis=1) if mask is not None else chosen.size
            settled |= found == self.rule.counts[query_group[queries]]
        if not settled.any():
            return settled
        if settled.all():
            q, t = np.nonzero(chord2 <= threshold[:, None])
        else:
            q, t = np.nonzero(chord2[settled] <= threshold[settled, None])
        # Targets of one point are at the same distance: of those, only the k lowest-numbered
        # eligible ones may be kept (see _Rule.thinned). Pairs come row by row, and a row's
        # targets of one point are contiguous (targets are numbered by point), so a run is a
        # (query, point).
        t = chosen[t]
        if self.rule.function is not None and q.size > k:
            point = self.target_point[t]
            new_run = np.ones(q.size, dtype=bool)
            new_run[1:] = (q[1:] != q[:-1]) | (point[1:] != point[:-1])
            run_start = np.flatnonzero(new_run)
            run_of_pair = np.cumsum(new_run) - 1
            keep = np.arange(q.size) - run_start[run_of_pair] < k
            q, t = q[keep], t[keep]
        self.pair_query.append(queries[settled][q])
        self.pair_target.append(t)
        return settled


def _nothing(n: int, k: int) -> KNearest:
    """The answer when no origin has an eligible target."""
    return KNearest(np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.inf))


def _leaves(points: FloatArray, size: int) -> list[IntArray]:
    """Split the points (rows) into leaves of at most ``size`` close points: a k-d split at
    the median of the widest coordinate."""
    leaves: list[IntArray] = []
    stack = [np.arange(points.shape[0], dtype=np.int64)]
    while stack:
        part = stack.pop()
        if part.size <= size:
            leaves.append(part)
            continue
        coords = points[part]
        axis = int(np.argmax(coords.max(axis=0) - coords.min(axis=0)))
        half = part.size // 2
        split = np.argpartition(coords[:, axis], half)
        stack.append(part[split[half:]])
        stack.append(part[split[:half]])
    return leaves


# -- helpers ---------------------------------------------------------------------------------


def _chord2(angle: npt.ArrayLike) -> FloatArray:
    """Squared chord of the unit sphere for a central angle (radians, at most pi)."""
    half = np.sin(np.asarray(angle, dtype=np.float64) * 0.5)
    result: FloatArray = 4.0 * half * half
    return result


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def _distinct_points(lat: FloatArray, lon: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return the index of each point among the distinct points, and the distinct points."""
    inverse, first = _distinct_rows(lat, lon)
    return inverse, lat[first], lon[first]


_HASH_SEED = np.uint64(0x243F6A8885A308D3)
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _distinct_rows(*columns: FloatArray | IntArray) -> tuple[IntArray, IntArray]:
    """Number the distinct rows of ``columns`` (1-d, same length, float64 or int64).

    Returns the number of each row and, for each number, a row that has it. Rows are grouped
    by a hash of their values, sorted together with the row index in one 64-bit integer (a
    plain sort is several times faster than the argsort or lexsort of millions of rows); the
    grouping is then checked value by value, and redone by a lexicographic sort if two
    different rows had the same hash.
    """
    n = columns[0].size
    index_bits = max(1, (n - 1).bit_length())
    if n and index_bits <= 32:
        shift = np.uint64(index_bits)
        keys = (_row_hash(columns) >> shift) << shift
        keys |= np.arange(n, dtype=np.uint64)
        keys.sort()
        order = (keys & np.uint64((1 << index_bits) - 1)).astype(np.int64)
        hashes = keys >> shift
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(hashes[1:], hashes[:-1], out=new[1:])
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.cumsum(new, dtype=np.int64) - 1
        first = order[new]
        if all(np.array_equal(column[first][inverse], column) for column in columns):
            return inverse, first
    order = np.lexsort(columns[::-1])
    new = np.zeros(n, dtype=bool)
    new[:1] = True
    for column in columns:
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new, dtype=np.int64) - 1
    return inverse, order[new]


def _row_hash(columns: tuple[FloatArray | IntArray, ...]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each row of ``columns`` (equal bits, equal hashes)."""
    hashed = np.full(columns[0].size, _HASH_SEED, dtype=np.uint64)
    for column in columns:
        values = np.ascontiguousarray(
            column, dtype=np.float64 if column.dtype.kind == "f" else np.int64
        )
        hashed ^= values.view(np.uint64)
        hashed *= _HASH_MULTIPLIER
        hashed ^= hashed >> np.uint64(29)
    return hashed


def _degrees(values: npt.ArrayLike) -> FloatArray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MatchInputError(f"coordonnées : des degrés décimaux sont attendus ({exc})") from exc


def _check_coordinates(lat: FloatArray, lon: FloatArray, what: str) -> None:
    if np.count_nonzero(~np.isfinite(lon)):
        raise MatchInputError(f"{what} : longitude non finie (degrés décimaux WGS84 attendus)")
    if np.count_nonzero(~(np.abs(lat) <= 90.0)):  # also NaN
        raise MatchInputError(f"{what} : latitude hors de [-90, 90] ou non finie")


def _points(lats: npt.ArrayLike, lons: npt.ArrayLike, what: str) -> tuple[FloatArray, FloatArray]:
    lat, lon = _degrees(lats), _degrees(lons)
    if lat.ndim != 1 or lat.shape != lon.shape:
        raise MatchInputError(
            f"{what} : latitudes et longitudes de même longueur attendues (tableaux 1-d), "
            f"reçu les formes {lat.shape} et {lon.shape}"
        )
    _check_coordinates(lat, lon, what)
    return lat, lon


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise MatchInputError(f"k : un entier positif ou nul est attendu, reçu {k!r}")
    return int(k)


def _check_max_km(max_km: float | None) -> float | None:
    if max_km is None:
        return None
    try:
        limit = float(max_km)
    except (TypeError, ValueError):
        limit = math.nan
    if not limit >= 0.0:  # also NaN
        raise MatchInputError(
            f"max_km : une distance positive ou nulle est attendue, reçu {max_km!r}"
        )
    return limit
