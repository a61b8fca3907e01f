"""Generated example data (never real patients): a realistic month for a territory.

The same seed gives the same data. Rates follow the seeds' figures where they exist (Sud Est
Grenoblois: 1 person in 3 with a priority criterion, home visits for 1 in 15).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attrs

from mt_access.calendar import Month
from mt_access.geo.communes import CommuneReference
from mt_access.gp_file import GP_COLUMNS
from mt_access.model import (
    Consent,
    HomeVisitNeed,
    Household,
    Modality,
    Patient,
    PatientIdentity,
    Physician,
    PhysicianStatus,
    Referrer,
    ReferrerKind,
    Request,
    SearchReason,
    StatusChange,
)
from mt_access.policy import Policy
from mt_access.questions import Question, QuestionType
from mt_access.rpps import rpps_key

if TYPE_CHECKING:
    from mt_access.register import MatchRun, Register

__all__ = [
    "REASON_SHARES",
    "REFERRER_SHARES",
    "ExampleMonth",
    "example_answers",
    "example_gp_rows",
    "example_identity",
    "example_month",
    "example_picks",
    "example_register",
    "write_example_gp_file",
]

T = TypeVar("T")

# Fictitious surnames for generated physicians (frequent French surnames, no real person meant).
_SURNAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefevre", "Faure", "Andre", "Mercier", "Blanc", "Guerin", "Boyer", "Garnier",
    "Chevalier", "Francois", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clement",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
)  # fmt: skip

_FIRST_NAMES = (
    "Camille", "Louise", "Jade", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Lucie", "Anne",
    "Marie", "Monique", "Jeanne", "Françoise", "Nathalie", "Sylvie", "Hugo", "Lucas", "Louis",
    "Gabriel", "Arthur", "Jules", "Paul", "Pierre", "Jean", "Michel", "Alain", "Bernard",
    "Nicolas", "Thierry", "Karim", "Mohamed", "Yasmine", "Fatima", "Ana", "Joao",
)  # fmt: skip

_STREETS = (
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "place de la Mairie",
    "chemin des Vignes", "rue du Moulin", "allée des Tilleuls", "route de Grenoble",
)  # fmt: skip

_REFERRERS = {
    ReferrerKind.HEALTH_PROFESSIONAL: "Cabinet infirmier des Tilleuls",
    ReferrerKind.SOCIAL_WORKER: "Centre communal d'action sociale",
    ReferrerKind.HOSPITAL: "Service social du centre hospitalier",
    ReferrerKind.OTHER: "Maison France services",
}

REASON_SHARES: tuple[tuple[SearchReason, float], ...] = (
    (SearchReason.PREVIOUS_MT_LEFT, 0.40),
    (SearchReason.NEW_ARRIVAL, 0.25),
    (SearchReason.MOVED, 0.10),
    (SearchReason.PREVIOUS_MT_TOO_FAR, 0.10),
    (SearchReason.RELATIONSHIP, 0.05),
    (SearchReason.CONVENIENCE, 0.04),
    (SearchReason.OTHER, 0.06),
)
"""Assumed shares of the reasons for searching (no public figure): the example month and the
simulation's default :class:`~mt_access.simulation.PatientRates` draw from them."""

REFERRER_SHARES: tuple[tuple[ReferrerKind, float], ...] = (
    (ReferrerKind.PATIENT, 0.45),
    (ReferrerKind.HEALTH_PROFESSIONAL, 0.30),
    (ReferrerKind.SOCIAL_WORKER, 0.15),
    (ReferrerKind.HOSPITAL, 0.07),
    (ReferrerKind.OTHER, 0.03),
)
"""Assumed shares of who sends the request (no public figure), shared as above."""


@attrs.frozen
class ExampleMonth:
    """Generated requests and physicians for one month of a territory."""

    requests: tuple[Request, ...]
    physicians: tuple[Physician, ...]
    on: dt.date


def _pick(rng: random.Random, table: tuple[tuple[T, float], ...]) -> T:
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return rng.choices(values, weights)[0]


def example_month(
    policy: Policy,
    reference: CommuneReference,
    *,
    month: Month | None = None,
    requests: int = 60,
    physicians: int = 14,
    backlog_months: int = 3,
    seed: int = 2026,
) -> ExampleMonth:
    """Generate a month of requests and the territory's volunteer GPs.

    Requests arrive over the ``backlog_months`` before the run date (the waiting list) with
    communes drawn in proportion to population. About 1 in 3 requests has a priority
    criterion and 1 in 15 needs home visits; 1 in 25 has no consent; a few come from outside
    the territory. Physicians practise in the larger communes, with capacities of 1 to 4,
    some doing home visits, some accepting only nearby communes, one suspended.
    """
    rng = random.Random(seed)
    month = month or Month(2026, 3)
    on = month.first_day + dt.timedelta(days=14)
    communes = sorted(policy.territory)
    weights = [max(reference.get(c).population or 1, 1) for c in communes]
    start = month.first_day
    for _ in range(backlog_months):
        start = Month.of(start).previous().first_day
    span = (on - start).days

    out_of_territory = [
        c.insee
        for c in reference
        if c.department == policy.department and c.insee not in policy.territory and c.point
    ][:200]

    reqs: list[Request] = []
    for i in range(requests):
        commune = rng.choices(communes, weights)[0]
        if out_of_territory and rng.random() < 0.04:
            commune = rng.choice(out_of_territory)
        fragile = rng.random() < 0.33
        age = rng.choice([rng.randint(71, 92), rng.randint(0, 15), rng.randint(18, 69)])
        if not fragile:
            age = rng.randint(18, 69)
        birth = on - dt.timedelta(days=int(age * 365.25) + rng.randint(1, 360))
        ald = fragile and rng.random() < 0.45
        css = fragile and rng.random() < 0.30
        children = rng.choice([0, 0, 0, 0, 0, 0, 0, 1, 1, 2]) if 18 <= age < 50 else 0
        household = Household(adults=0, children=1) if age < 16 else Household(1, children)
        need = HomeVisitNeed.NONE
        if rng.random() < 1 / 15:
            need = HomeVisitNeed.EXCLUSIVE if age >= 70 else HomeVisitNeed.OCCASIONAL
        reqs.append(
            Request(
                id=f"D{month.year % 100:02d}{month.month:02d}-{i + 1:04d}",
                received=start + dt.timedelta(days=rng.randint(0, span)),
                patient=Patient(birth_date=birth, commune=commune),
                ald=ald,
                css=css,
                ame=fragile and not css and rng.random() < 0.05,
                disability_or_chronic=fragile and not ald and rng.random() < 0.3,
                home_visits=need,
                urgent=rng.random() < 0.08,
                reason=_pick(rng, REASON_SHARES),
                household=household,
                referrer=Referrer(kind=_pick(rng, REFERRER_SHARES)),
                consent=Consent(given=rng.random() > 0.04, on=None),
            )
        )

    by_size = sorted(communes, key=lambda c: -(reference.get(c).population or 0))
    docs: list[Physician] = []
    surnames = rng.sample(_SURNAMES, k=min(physicians, len(_SURNAMES)))
    for i in range(physicians):
        commune = by_size[i % max(1, min(len(by_size), 8))]
        modalities = {Modality.OFFICE}
        if rng.random() < 0.35:
            modalities.add(Modality.HOME_VISITS)
        accepted: frozenset[str] = frozenset()
        if rng.random() < 0.4:
            near = sorted(communes, key=lambda c: _rough_km(reference, commune, c))[:6]
            accepted = frozenset(near)
        history: tuple[StatusChange, ...] = ()
        if i == physicians - 1:
            history = (
                StatusChange(
                    on - dt.timedelta(days=10),
                    PhysicianStatus.SUSPENDED,
                    on + dt.timedelta(days=20),
                ),
            )
        docs.append(
            Physician(
                id=f"MG{i + 1:03d}",
                name=f"Dr {surnames[i % len(surnames)]}",
                commune=commune,
                accepting_new_patients=rng.random() > 0.1,
                monthly_capacity=rng.randint(1, 4),
                modalities=frozenset(modalities),
                accepted_communes=accepted,
                status_history=history,
            )
        )
    if policy.questions:
        # a generator of their own, so that a policy without questions gets the same month
        answers_rng = random.Random(f"{seed}-answers")
        reqs = [
            attrs.evolve(r, answers=example_question_answers(answers_rng, policy.questions, r, on))
            for r in reqs
        ]
    return ExampleMonth(tuple(reqs), tuple(docs), on)


def example_question_answers(
    rng: random.Random, questions: Sequence[Question], request: Request, on: dt.date
) -> dict[str, object]:
    """Generated answers of ``request`` to the policy's own ``questions``: a required
    question is always answered, another 4 times in 5; « oui » to a yes/no question 1 time in
    4 for a request with a priority criterion, 1 in 10 otherwise; options, numbers within the
    question's bounds, dates in the last year and a made-up short text otherwise."""
    fragile = request.ald or request.css or request.ame or request.disability_or_chronic
    answers: dict[str, object] = {}
    for q in questions:
        if not q.required and rng.random() < 0.2:
            continue
        if q.type is QuestionType.OUI_NON:
            answers[q.id] = rng.random() < (0.25 if fragile else 0.1)
        elif q.type is QuestionType.CHOIX:
            answers[q.id] = rng.choice(q.options)
        elif q.type is QuestionType.CHOIX_MULTIPLE:
            k = rng.randint(1, min(2, len(q.options)))
            answers[q.id] = frozenset(rng.sample(q.options, k))
        elif q.type is QuestionType.NOMBRE:
            low = int(q.minimum) if q.minimum is not None else 0
            high = int(q.maximum) if q.maximum is not None else low + 10
            answers[q.id] = rng.randint(low, max(low, high))
        elif q.type is QuestionType.DATE:
            answers[q.id] = on - dt.timedelta(days=rng.randint(1, 365))
        else:
            answers[q.id] = "réponse générée"[: q.max_length]
    return answers


def _rough_km(reference: CommuneReference, a: str, b: str) -> float:
    pa, pb = reference.point(a), reference.point(b)
    dy = (pa.lat - pb.lat) * 111.0
    dx = (pa.lon - pb.lon) * 78.0
    return float((dy * dy + dx * dx) ** 0.5)


def example_identity(rng: random.Random, request: Request, commune_name: str) -> PatientIdentity:
    """A made-up identity: frequent French names, a phone number from the range ARCEP keeps
    for fiction (06 39 98 xx xx) and an ``example.org`` address."""
    last = rng.choice(_SURNAMES)
    first = rng.choice(_FIRST_NAMES)
    number = rng.randint(0, 9999)
    return PatientIdentity(
        last_name=last.upper(),
        first_name=first,
        phone=f"06 39 98 {number // 100:02d} {number % 100:02d}",
        email=f"{first.lower()}.{last.lower()}@example.org".replace(" ", ""),
        address=f"{rng.randint(1, 80)} {rng.choice(_STREETS)}, {commune_name}",
    )


def _referred(rng: random.Random, request: Request) -> Request:
    kind = request.referrer.kind
    if kind is ReferrerKind.PATIENT:
        return request
    name = _REFERRERS[kind]
    contact = f"coordination.{rng.randint(10, 99)}@example.org"
    return attrs.evolve(request, referrer=Referrer(kind=kind, name=name, contact=contact))


def example_answers(
    register: Register,
    run: MatchRun | Sequence[tuple[str, str]],
    on: dt.date,
    *,
    seed: int = 2026,
) -> int:
    """Generated GP answers, on ``on``, to the proposals of ``run`` (or to the given
    ``(request id, GP id)`` proposals, e.g. GPs' picks) still pending: 5 acceptances in 6,
    the same for the same seed. Returns the number of acceptances."""
    rng = random.Random(seed)
    accepted = 0
    proposed = run if isinstance(run, Sequence) else run.proposed
    for request_id, physician_id in proposed:
        if physician_id not in register.file(request_id).proposed_to:
            continue  # a household's other proposal was accepted first, or already answered
        yes = rng.random() < 5 / 6
        register.answer(request_id, physician_id, on, accepted=yes)
        accepted += yes
    return accepted


def example_picks(register: Register, on: dt.date, *, seed: int = 2026) -> list[tuple[str, str]]:
    """Generated picks, on ``on``, of the GPs from their shared lists (levels routed by
    ``pull``): in order of GP id, each GP takes entries from the top of their list, as many
    as their places left and the policy's pick limit allow, skipping one in 5. Returns the
    ``(request id, GP id)`` proposals recorded (none when no level is routed by ``pull``)."""
    from mt_access.register import RegisterOperationError

    if not register.pull_levels():
        return []
    rng = random.Random(seed)
    picked: list[tuple[str, str]] = []
    for physician_id in sorted(x.physician_id for x in register.pull_lists(on)):
        # the lists change with every pick: a picked request leaves every list
        current = {x.physician_id: x for x in register.pull_lists(on)}.get(physician_id)
        if current is None:
            continue
        room = current.places_left if current.places_left is not None else 1
        for entry in current.entries[: max(room, 0)]:
            if rng.random() < 0.2:
                continue
            try:
                file = register.choose(physician_id, entry.pseudonym, on)
            except RegisterOperationError:
                break  # no place left or the pick limit reached: the next GP
            picked.append((file.id, physician_id))
    return picked


def example_register(
    register: Register,
    *,
    month: Month | None = None,
    history_months: int = 2,
    requests_per_month: int = 40,
    physicians: int = 14,
    seed: int = 2026,
) -> dt.date:
    """Fill an empty register with generated activity (no real person) up to the match run
    of ``month``, and return that run's date (the 15th), left for the caller to run.

    The GPs of :func:`example_month` join on the first day of the first month (one of them is
    suspended around the last run). Each month, requests arrive from the 1st to the 15th with
    made-up identities; they are acknowledged two days later, confirmed and put on the waiting
    list three days after that, or leave (the patient no longer searches, 1 in 12). In the
    ``history_months`` before ``month``, the run of the 15th is recorded, GPs answer its
    proposals on the 22nd (5 acceptances in 6), a few patients cannot be reached or withdraw,
    and some oriented patients find a GP on their list. Nothing is dated after the returned
    date. Everything is written in one transaction of the register's store.

    Raises:
        RegisterOperationError: the register is not empty.
    """
    from mt_access.register import RegisterOperationError

    if register.store.count_requests() or register.physicians():
        raise RegisterOperationError(
            "le registre d'exemple doit être construit sur un registre vide"
        )
    policy = register.policy
    reference = policy.reference
    if reference is None:
        from mt_access.geo.communes import bundled_reference

        reference = bundled_reference()
    last = month or Month(2026, 3)
    months = [last]
    for _ in range(history_months):
        months.insert(0, months[0].previous())
    rng = random.Random(seed)
    cutoff = last.first_day + dt.timedelta(days=14)
    with register.store.transaction():
        gps = example_month(
            policy, reference, month=last, requests=0, physicians=physicians, seed=seed
        )
        start = months[0].first_day
        for doc in gps.physicians:
            register.add_physician(Physician(id=doc.id, name=doc.name, commune=doc.commune))
            register.join(
                doc.id,
                start,
                monthly_capacity=doc.monthly_capacity or 1,
                modalities=doc.modalities,
                accepted_communes=doc.accepted_communes,
            )
        if gps.physicians:
            register.suspend(
                gps.physicians[-1].id,
                cutoff - dt.timedelta(days=10),
                cutoff + dt.timedelta(days=20),
                "congé",
            )
        for index, current in enumerate(months):
            data = example_month(
                policy,
                reference,
                month=current,
                requests=requests_per_month,
                physicians=0,
                backlog_months=0,
                seed=seed + 1 + index,
            )
            for generated in sorted(data.requests, key=lambda r: (r.received, r.id)):
                if not generated.consent.given:
                    continue
                request = _referred(rng, attrs.evolve(generated, id=register.next_request_id()))
                commune = request.patient.commune
                name = reference.get(commune).name if commune in reference else commune
                outside = commune not in policy.territory
                register.add_request(
                    request, example_identity(rng, request, name), out_of_scope=outside
                )
                if outside:
                    continue
                day = request.received + dt.timedelta(days=2)
                if day > cutoff:
                    continue
                register.acknowledge(request.id, day)
                day += dt.timedelta(days=3)
                if day > cutoff:
                    continue
                if rng.random() < 1 / 12:
                    register.not_searching(request.id, day)
                    continue
                register.confirm(request.id, day)
                register.to_waiting(request.id, day)
            if current == last:
                break
            run_on = current.first_day + dt.timedelta(days=14)
            run = register.run_match(run_on)
            example_answers(register, run, run_on + dt.timedelta(days=7), seed=seed + index)
            picks = example_picks(register, run_on + dt.timedelta(days=2), seed=seed + index)
            example_answers(register, picks, run_on + dt.timedelta(days=9), seed=seed + index)
            late_on = run_on + dt.timedelta(days=10)
            for request_id in run.oriented:
                if rng.random() < 0.4:
                    register.other_solution(request_id, late_on, "médecin trouvé sur la liste")
            for summary in register.waiting():
                draw = rng.random()
                if draw < 0.04:
                    register.withdraw(summary.id, late_on)
                elif draw < 0.10:
                    register.record_contact(summary.id, late_on, succeeded=False)
    return cutoff


def example_gp_rows(
    policy: Policy,
    reference: CommuneReference,
    *,
    physicians: int = 14,
    joined: dt.date = dt.date(2026, 1, 5),
    seed: int = 2026,
) -> list[dict[str, str]]:
    """The GPs of :func:`example_month` as the rows of a GP file (cells by heading of
    :data:`~mt_access.gp_file.GP_COLUMNS`), for ``mt-access medecin importer``: a made-up
    RPPS number with its key, French names, the commune's name, places per month, modalities,
    accepted communes by name, the joining date written jj/mm/aaaa, a practice phone. One GP in
    five is a candidate (no joining date, no places). No real person."""
    rng = random.Random(f"{seed}-gp-file")
    month = example_month(policy, reference, requests=0, physicians=physicians, seed=seed)
    rows: list[dict[str, str]] = []
    for index, doc in enumerate(month.physicians):
        first_ten = f"10{rng.randrange(10**8):08d}"
        candidate = index % 5 == 4
        modalities = sorted(m.value for m in doc.modalities)
        cells = dict.fromkeys((c.heading for c in GP_COLUMNS), "")
        cells.update(
            {
                "RPPS": first_ten + rpps_key(first_ten),
                "Nom": doc.name.removeprefix("Dr ").upper(),
                "Prénom": rng.choice(_FIRST_NAMES),
                "Commune d'exercice": reference.get(doc.commune).name,
                "Téléphone": f"04 76 {rng.randrange(100):02d} {rng.randrange(100):02d} "
                f"{rng.randrange(100):02d}",
            }
        )
        if not candidate:
            cells.update(
                {
                    "Places par mois": str(doc.monthly_capacity or 1),
                    "Modalités": " et ".join(
                        {"office": "cabinet", "home_visits": "domicile"}[m] for m in modalities
                    ),
                    "Communes acceptées": "; ".join(
                        sorted(reference.get(c).name for c in doc.accepted_communes)
                    ),
                    "Date d'entrée": f"{joined:%d/%m/%Y}",
                }
            )
        rows.append(cells)
    return rows


def write_example_gp_file(
    path: str | Path,
    policy: Policy,
    reference: CommuneReference,
    *,
    physicians: int = 14,
    seed: int = 2026,
) -> Path:
    """Write :func:`example_gp_rows` to ``path`` (``.csv`` as French Excel writes it, or
    ``.xlsx``) and return it."""
    from mt_access.export import write_rows

    rows = example_gp_rows(policy, reference, physicians=physicians, seed=seed)
    return write_rows(rows, [c.heading for c in GP_COLUMNS], Path(path), sheet="Médecins")
