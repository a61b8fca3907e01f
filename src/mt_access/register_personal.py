"""The personal-data part of :class:`~mt_access.register.Register`: the referral to a GP, the
erasure of a request's identity, locating addresses, pseudonymised rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from mt_access.lifecycle import Actor, RequestFile, RequestState
from mt_access.model import PatientIdentity, Request
from mt_access.privacy import accepted_fields, anonymised, pseudonymised_row, referral
from mt_access.register_base import RegisterBase, RegisterOperationError
from mt_access.store.base import PersonalRecord

if TYPE_CHECKING:
    from mt_access.geo.geocoding import Geocoder

__all__ = ["LocateOutcome", "PersonalData"]


@attrs.frozen
class LocateOutcome:
    """What :meth:`Register.locate` did.

    Attributes:
        located: ids of the requests whose home is now located at the address's point.
        at_commune: ``(request id, flag)`` of the addresses not located precisely (the flag
            says why: ``"not_found"``, ``"low_score"``, ``"timeout"``...): the commune's
            point stays in use for them.
        without_address: requests in progress without a location and without an address.
    """

    located: tuple[str, ...]
    at_commune: tuple[tuple[str, str], ...]
    without_address: int

    def summary(self) -> str:
        """One French sentence for the coordinator."""
        return (
            f"{len(self.located)} adresse(s) localisée(s) ; {len(self.at_commune)} laissée(s) "
            f"au centre de leur commune ; {self.without_address} demande(s) sans adresse"
        )


class PersonalData(RegisterBase):
    """The register's operations on personal data: referral letters, erasure, locating
    addresses and pseudonymised rows."""

    def _personal(
        self, request_id: str, personal: PersonalRecord | None
    ) -> tuple[Request, PatientIdentity, dt.date | None]:
        """The request, identity and erasure date of ``request_id``: from ``personal`` when
        the caller read it (:meth:`~mt_access.store.base.Store.personal_records`), else read
        here.

        Raises:
            RegisterOperationError: unknown request.
        """
        if personal is None or personal.request.id != request_id:
            request = self.request(request_id)
            return request, self.identity(request_id), self.store.erased_on(request_id)
        identity = personal.identity
        if identity is None:
            identity = self.identity(request_id)
        return personal.request, identity, personal.erased_on

    def referral_persons(
        self, request_id: str, physician_id: str, *, file: RequestFile | None = None
    ) -> tuple[int, ...]:
        """The persons of the request proposed to ``physician_id`` (pending), or that the GP
        accepted: those the GP's « dossier qualifié » is about. ``file``: the request's file
        when the caller has just read it (else read here).

        Raises:
            RegisterOperationError: unknown request, or the request was never proposed to
                this GP (or no longer is: refused, closed): no referral may go to them.
        """
        if file is None or file.id != request_id:
            file = self.file(request_id)
        pending = file.people.proposed_to(physician_id)
        if pending:
            return pending
        accepted = tuple(n for n, gp in file.people.found if gp == physician_id)
        if accepted:
            return accepted
        raise RegisterOperationError(
            f"demande {request_id} : aucune proposition en cours ni acceptée pour le médecin "
            f"{physician_id} ; le dossier qualifié ne se transmet qu'au médecin à qui la "
            "demande est proposée"
        )

    def referral(
        self,
        request_id: str,
        on: dt.date,
        physician_id: str | None = None,
        *,
        file: RequestFile | None = None,
        personal: PersonalRecord | None = None,
    ) -> tuple[tuple[str, str], ...]:
        """The « dossier qualifié » for a GP: only the policy's ``privacy.referral_fields``,
        as ``(French label, value)`` pairs (:func:`mt_access.privacy.referral`).

        With ``physician_id``, the request must be proposed to that GP (or accepted by
        them), and the persons shown are those of that proposal. ``file``: the request's
        file as just read by the caller (a GP's page reads their requests' files at once);
        ``personal``: its request, identity and erasure date as just read by the caller
        (:meth:`~mt_access.store.base.Store.personal_records`, one query for a whole page).

        Raises:
            RegisterOperationError: the request's personal data was erased, or it is not
                proposed to ``physician_id``.
        """
        request, identity, erased_on = self._personal(request_id, personal)
        if erased_on is not None:
            raise RegisterOperationError(
                f"demande {request_id} : données personnelles effacées, "
                "pas de dossier à transmettre"
            )
        persons = None
        if physician_id is not None:
            persons = self.referral_persons(request_id, physician_id, file=file)
        return referral(
            request,
            identity,
            self.policy,
            on,
            plugin_manager=self.plugin_manager,
            persons=persons,
        )

    def accepted_referral(
        self,
        request_id: str,
        on: dt.date,
        physician_id: str,
        *,
        file: RequestFile | None = None,
        personal: PersonalRecord | None = None,
    ) -> tuple[tuple[str, str], ...]:
        """What the GP ``physician_id`` sees of a patient they accepted: the policy's
        ``privacy.referral_fields`` and the identity and contact needed to call the patient
        (:func:`mt_access.privacy.accepted_fields`), as ``(French label, value)`` pairs, for
        the persons they accepted. ``file``: as for :meth:`referral`.

        Raises:
            RegisterOperationError: the request's personal data was erased, or this GP
                accepted none of its persons.
        """
        request, identity, erased_on = self._personal(request_id, personal)
        if erased_on is not None:
            raise RegisterOperationError(
                f"demande {request_id} : données personnelles effacées, rien à montrer"
            )
        if file is None or file.id != request_id:
            file = self.file(request_id)
        persons = tuple(n for n, gp in file.people.found if gp == physician_id)
        if not persons:
            raise RegisterOperationError(
                f"demande {request_id} : le médecin {physician_id} n'a accepté aucune "
                "personne de cette demande"
            )
        return referral(
            request,
            identity,
            self.policy,
            on,
            plugin_manager=self.plugin_manager,
            persons=persons,
            fields=accepted_fields(self.policy),
        )

    def erase(self, request_id: str, on: dt.date) -> RequestFile:
        """Erase the patient's personal data at their request (RGPD).

        An active request first exits (``withdraw``, by the patient; pending proposals are
        closed and their places freed). Then the identity is blanked, the request keeps only
        what :func:`mt_access.privacy.anonymised` keeps, and the comments of its history are
        blanked: the counts by state, exit, commune, age band and level stay right.

        Raises:
            RegisterOperationError: unknown request, or already erased.
        """
        with self._operation():
            if self.store.erased_on(request_id) is not None:
                raise RegisterOperationError(f"demande {request_id} : déjà effacée")
            file = self.file(request_id)
            if not file.is_exited:
                new = file.withdraw(on, Actor.PATIENT)
                self._release_dropped(file, new, on)
                self.store.save_file(new, len(new.history) - len(file.history))
            request = self.request(request_id)
            self.store.replace_request(anonymised(request), PatientIdentity(), erased_on=on)
            return self.file(request_id)

    def locate(
        self,
        geocoder: Geocoder,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> LocateOutcome:
        """Locate the homes of the requests in progress that have an address and no location
        yet, with ``geocoder`` (e.g. :class:`~mt_access.geo.geocoding.BANGeocoder`), so that
        distances to GPs are measured from the home rather than the commune's point.

        The addresses are geocoded first, outside any transaction (a web service may be slow);
        the locations found at the address (``precision == "address"``) are then recorded in
        one transaction, skipping a request changed meanwhile. ``progress(done, total)`` is
        passed to :meth:`~mt_access.geo.geocoding.Geocoder.geocode_many`.
        """
        in_progress = [state for state in RequestState if not state.is_final]
        identities = {p.request_id: p.identity for p in self.store.known_persons()}
        wanted: list[tuple[Request, PatientIdentity]] = []
        without_address = 0
        for request in self.store.requests(in_progress):
            if request.patient.location is not None:
                continue
            identity = identities.get(request.id, PatientIdentity())
            if not identity.address.strip():
                without_address += 1
                continue
            wanted.append((request, identity))
        results = geocoder.geocode_many(
            [(identity.address, request.patient.commune) for request, identity in wanted],
            progress=progress,
        )
        located: list[str] = []
        at_commune: list[tuple[str, str]] = []
        with self._operation():
            for (request, identity), result in zip(wanted, results, strict=True):
                if result.precision != "address":
                    at_commune.append((request.id, result.flag or "commune"))
                    continue
                current = self.store.get_request(request.id)
                if current != request:
                    continue  # changed since it was read: left for the next run
                patient = attrs.evolve(request.patient, location=result.point)
                self.store.replace_request(attrs.evolve(request, patient=patient), identity)
                located.append(request.id)
        return LocateOutcome(tuple(located), tuple(at_commune), without_address)

    def pseudonymised_rows(self, *states: RequestState) -> list[dict[str, str]]:
        """Rows of a shareable export (:data:`mt_access.privacy.EXPORT_COLUMNS`) for the
        requests in ``states`` (all when none is given), in pseudonym order so that the row
        order reveals nothing. Write them with :func:`mt_access.export.write_rows`."""
        requests = self.store.requests(states or None)
        files = self.store.get_files(r.id for r in requests)
        rows = [
            pseudonymised_row(r, files[r.id], self.policy, plugin_manager=self.plugin_manager)
            for r in requests
        ]
        return sorted(rows, key=lambda row: row["pseudonyme"])
