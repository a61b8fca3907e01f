"""The forms of the GPs' pages beyond capacity, suspension and resumption: joining the scheme,
withdrawing, adding a GP, the practice's contact details; and what a GP's page carries to
detect that the GP changed since it was shown (:func:`gp_step`).

Every value is checked here only for its shape (bounds, required fields, the contact fields'
own validators); the register operations called by :mod:`mt_access.web.gp_pages` decide the
rest, as for the command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mt_access.bounds import MAX_MONTHLY_CAPACITY, MAX_YEARLY_CAPACITY
from mt_access.gp_register import identifier_problem
from mt_access.ledger import CapacityDeclared, LedgerEntry
from mt_access.model import CONTACT_LABELS, Physician, PracticeContact, format_phone
from mt_access.rpps import RPPS_EXPECTED, rpps_key_ok
from mt_access.web import context
from mt_access.web.forms import FrenchForm

__all__ = [
    "CONTACT_FIELDS",
    "EARLIEST_GP_DATE",
    "STALE_GP_MESSAGE",
    "AddGpForm",
    "EraseContactForm",
    "EventDateField",
    "GpActionForm",
    "GpContactForm",
    "JoinForm",
    "WithdrawForm",
    "contact_of",
    "gp_step",
]

STALE_GP_MESSAGE = (
    "Ce médecin a changé depuis l'affichage de la page (par un autre coordinateur ou une "
    "autre action) : rien n'a été enregistré. Vérifiez sa fiche ci-dessous, puis recommencez "
    "si besoin."
)
"""« ce médecin a changé depuis »: a stale GP page's action, refused."""

NOTE_VALIDATORS = [Optional(), Length(max=300, message="300 caractères au plus.")]


def gp_step(physician: Physician, entries: Iterable[LedgerEntry]) -> str:
    """What a GP's page carries to detect a change of the GP since it was shown: a digest of
    the GP's record (participation, contact details, communes...) and of the number of
    capacity declarations in the ledger ``entries`` for the GP."""
    declared = sum(
        1 for e in entries if isinstance(e, CapacityDeclared) and e.physician_id == physician.id
    )
    parts = (
        physician.name,
        physician.commune,
        physician.rpps or "",
        str(physician.accepting_new_patients),
        str(physician.monthly_capacity),
        ",".join(sorted(m.value for m in physician.modalities)),
        ",".join(sorted(physician.accepted_communes)),
        repr(physician.status_history),
        repr(physician.contact),
        str(declared),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


EARLIEST_GP_DATE = dt.date(2000, 1, 1)
"""The earliest joining or withdrawal date the pages accept (an earlier one is a typo)."""


class EventDateField(DateField):  # type: ignore[misc]
    """The date of a GP's joining or withdrawal: what the browser's date picker sends
    (aaaa-mm-jj) or typed the French way (jj/mm/aaaa), with a French message otherwise."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, format=["%Y-%m-%d", "%d/%m/%Y"], validators=[Optional()], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Date attendue au format jj/mm/aaaa.") from None


def check_event_date(field: EventDateField) -> bool:
    """The date typed (empty: today) is neither after today nor before
    :data:`EARLIEST_GP_DATE`; the error goes under the field. The register refuses the rest
    (a date before the GP's last change of participation)."""
    day = field.data
    if day is None:
        return True
    today = context.today()
    if day > today:
        field.errors = [
            f"La date ne peut pas être postérieure à aujourd'hui ({today:%d/%m/%Y}) : "
            "enregistrez l'événement le jour venu."
        ]
        return False
    if day < EARLIEST_GP_DATE:
        field.errors = [f"Une date à partir du {EARLIEST_GP_DATE:%d/%m/%Y}."]
        return False
    return True


class GpActionForm(FrenchForm):
    """An action on a GP: carries the GP's step (:func:`gp_step`) as the page showed it."""

    etape = HiddenField(validators=[InputRequired(message="Page incomplète : rechargez-la.")])


def _capacity_field(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(message="Indiquez un nombre de places."),
            NumberRange(
                min=0,
                max=MAX_YEARLY_CAPACITY,
                message=f"Un nombre entier entre 0 et {MAX_YEARLY_CAPACITY}.",
            ),
        ],
    )


def check_monthly(form: Any) -> bool:
    """A monthly capacity (``par_an`` unticked) within the monthly bound; the error goes under
    the field."""
    value = form.capacite.data
    if not form.par_an.data and value is not None and value > MAX_MONTHLY_CAPACITY:
        form.capacite.errors = [
            f"Une capacité mensuelle va de 0 à {MAX_MONTHLY_CAPACITY} ; cochez « par année "
            "civile » pour une capacité annuelle."
        ]
        return False
    return True


class JoinForm(GpActionForm):
    """The GP signs the charter on a date, today by default (``mt-access medecin
    adherer``)."""

    date = EventDateField("Date d'adhésion (vide : aujourd'hui)")
    capacite = _capacity_field("Capacité (nouveaux patients par mois)")
    par_an = BooleanField("Par année civile (au lieu de par mois)")
    cabinet = BooleanField("Au cabinet", default=True)
    domicile = BooleanField("En visite à domicile")
    communes = StringField(
        "Communes acceptées (codes INSEE ou noms, séparés par des points-virgules ; vide : "
        "selon la politique)",
        validators=[Optional(), Length(max=2000, message="2000 caractères au plus.")],
    )
    note = TextAreaField("Commentaire", validators=NOTE_VALIDATORS)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if valid and not check_event_date(self.date):
            return False
        if valid and not check_monthly(self):
            return False
        if not self.cabinet.data and not self.domicile.data:
            self.cabinet.errors = ["Cochez au moins une modalité : cabinet ou domicile."]
            return False
        return valid

    def modalities(self) -> list[str]:
        """The modalities ticked, as the register names them."""
        chosen = [("office", self.cabinet.data), ("home_visits", self.domicile.data)]
        return [value for value, ticked in chosen if ticked]

    def commune_texts(self) -> list[str]:
        """The communes typed, one text each (INSEE code or name)."""
        return [t.strip() for t in str(self.communes.data or "").split(";") if t.strip()]


class WithdrawForm(GpActionForm):
    """The GP leaves the scheme on a date, today by default (``mt-access medecin retirer``)."""

    date = EventDateField("Date de retrait (vide : aujourd'hui)")
    confirmation = BooleanField(
        "Je confirme que ce médecin quitte le dispositif",
        validators=[DataRequired(message="Cochez la case pour confirmer le retrait.")],
    )
    note = TextAreaField("Commentaire", validators=NOTE_VALIDATORS)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return check_event_date(self.date) and valid


CONTACT_FIELDS: dict[str, str] = {
    "telephone": "phone",
    "mssante": "mssante",
    "adresse": "address",
    "cabinet": "practice",
    "notes": "notes",
}
"""The form field behind each :class:`PracticeContact` field (the CLI's option names)."""


def _contact_field(name: str) -> StringField:
    label = CONTACT_LABELS[CONTACT_FIELDS[name]]
    return StringField(label[0].upper() + label[1:], validators=[Optional()])


class GpContactForm(GpActionForm):
    """The practice's contact details (``mt-access medecin coordonnees``): every field is
    recorded as typed; an empty field erases it."""

    telephone = _contact_field("telephone")
    mssante = _contact_field("mssante")
    adresse = _contact_field("adresse")
    cabinet = _contact_field("cabinet")
    notes = TextAreaField(
        CONTACT_LABELS["notes"][0].upper() + CONTACT_LABELS["notes"][1:], validators=[Optional()]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        for name, attribute in CONTACT_FIELDS.items():
            field = getattr(self, name)
            try:
                PracticeContact(**{attribute: _typed(name, field.data)})
            except ValueError as exc:
                field.errors = [str(exc)]
                valid = False
        return valid

    def contact(self) -> PracticeContact:
        """The contact details typed (valid once :meth:`validate` passed)."""
        return contact_of({n: getattr(self, n).data for n in CONTACT_FIELDS})

    def fill(self, contact: PracticeContact) -> None:
        """Show ``contact`` in the fields."""
        for name, attribute in CONTACT_FIELDS.items():
            getattr(self, name).data = getattr(contact, attribute)


def _typed(name: str, value: object) -> str:
    text = str(value or "")
    return format_phone(text) if name == "telephone" else text


def contact_of(values: dict[str, object]) -> PracticeContact:
    """A :class:`PracticeContact` from the form's values (the phone written the French way,
    as ``medecin coordonnees`` does)."""
    return PracticeContact(**{CONTACT_FIELDS[n]: _typed(n, v) for n, v in values.items()})


class EraseContactForm(GpActionForm):
    """Erase every contact detail (``mt-access medecin coordonnees --effacer``)."""

    confirmation = BooleanField(
        "Je confirme l'effacement de toutes les coordonnées",
        validators=[DataRequired(message="Cochez la case pour confirmer l'effacement.")],
    )


class AddGpForm(FrenchForm):
    """A new GP, a candidate until they join (``mt-access medecin ajouter``)."""

    identifiant = StringField(
        "Identifiant du médecin (ex. RPPS)",
        validators=[
            InputRequired(message="Indiquez l'identifiant du médecin."),
            Length(max=64, message="64 caractères au plus."),
        ],
    )
    nom = StringField(
        "Nom affiché (ex. « Dr Martin »)",
        validators=[
            InputRequired(message="Indiquez le nom du médecin."),
            Length(max=200, message="200 caractères au plus."),
        ],
    )
    commune = StringField(
        "Commune d'exercice (code INSEE ou nom)",
        validators=[
            InputRequired(message="Indiquez la commune d'exercice."),
            Length(max=200, message="200 caractères au plus."),
        ],
    )
    rpps = StringField(
        "Numéro RPPS (facultatif)",
        validators=[Optional(), Length(max=20, message="20 caractères au plus.")],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        for field in (self.identifiant, self.nom, self.commune):
            if valid and not str(field.data).strip():
                field.errors = ["Ce champ ne peut pas être vide."]
                valid = False
        rpps = str(self.rpps.data or "").replace(" ", "")
        if valid and rpps and not rpps_key_ok(rpps):
            self.rpps.errors = [RPPS_EXPECTED[0].upper() + RPPS_EXPECTED[1:] + "."]
            valid = False
        problem = identifier_problem(str(self.identifiant.data or "").strip())
        if valid and problem is not None:  # the register's rule, said next to the field
            self.identifiant.errors = [f"Identifiant refusé : {problem}."]
            valid = False
        return valid
