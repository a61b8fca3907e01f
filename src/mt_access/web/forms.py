"""The forms of the pages (WTForms through Flask-WTF: CSRF token, server-side validation with
French messages shown next to each field)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import Select

from mt_access.controls import has_control

try:  # WTForms 3.3 deprecates choices given as tuples
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - WTForms before 3.3
    SelectChoice = None

__all__ = [
    "CLOSE_REASONS",
    "COMMENT_HINT",
    "CONTROL_MESSAGE",
    "SORTS",
    "ActionForm",
    "CancelProposalForm",
    "CloseForm",
    "ConfirmForm",
    "ContactForm",
    "EraseForm",
    "FastSelect",
    "FilterForm",
    "FrenchForm",
    "NameSearchForm",
    "ProposeForm",
    "choices",
    "query_number",
    "refuse_control_characters",
]


CONTROL_MESSAGE = (
    "Ce texte contient un caractère invisible (caractère de contrôle) : retapez-le, sans le "
    "copier depuis un autre logiciel."
)


class FrenchForm(FlaskForm):  # type: ignore[misc]
    """A form whose built-in messages (« N'est pas un choix valide. ») are WTForms' French
    ones; every form of the pages derives from it. Its text fields (passwords apart) refuse
    the control characters (:func:`mt_access.controls.has_control`; :data:`CONTROL_MESSAGE`
    under the field): a NUL, which PostgreSQL refuses, or an escape sequence would otherwise
    be recorded, then shown by the command line or written in a letter."""

    class Meta:
        locales = ("fr_FR", "fr")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return refuse_control_characters(self) and valid


def refuse_control_characters(form: FlaskForm) -> bool:
    """After ``form.validate()``: :data:`CONTROL_MESSAGE` under each text field (passwords
    apart) holding a control character; ``False`` when there is one."""
    valid = True
    for field in form:
        data = field.data
        if isinstance(field, PasswordField) or not isinstance(data, str):
            continue
        if has_control(data):
            field.errors = [*field.errors, CONTROL_MESSAGE]
            valid = False
    return valid


def choices(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """The options of a select or radio field from ``(value, label)`` pairs."""
    if SelectChoice is None:  # pragma: no cover - WTForms before 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def query_number(name: str, *, maximum: int) -> int | None:
    """The whole number of the query string's ``name`` (``?page=``, ``?avant=``), at most
    ``maximum``; ``None`` when it is absent, empty, negative or not written with the digits
    0-9. A number edited by hand in the address shows a page, never an error (a number
    larger than the register's 64-bit integers was refused by the store)."""
    text = request.args.get(name, "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    return min(int(text), maximum)


COMMENT_HINT = "Gardé dans l'historique : pas de donnée médicale."

CLOSE_REASONS: tuple[tuple[str, str], ...] = (
    ("retrait", "Retrait du patient"),
    ("ne-cherche-plus", "Ne cherche plus de médecin traitant"),
    ("autre-solution", "Autre solution trouvée"),
    ("hors-dispositif", "Hors dispositif"),
    ("cloture", "Clôture par la CPTS (motif obligatoire)"),
)
"""The exits a coordinator records (the same as ``mt-access demande cloturer``)."""


def _comment(required: bool = False) -> TextAreaField:
    validators = [Length(max=500, message="500 caractères au plus.")]
    if required:
        validators.insert(0, DataRequired(message="Indiquez le motif."))
    else:
        validators.insert(0, Optional())
    return TextAreaField("Commentaire" if not required else "Motif", validators=validators)


class ActionForm(FrenchForm):
    """An action on a request: the number of events the page showed (a stale page is
    refused) and a comment."""

    etape = HiddenField(validators=[InputRequired(message="Page incomplète : rechargez-la.")])
    commentaire = _comment()


class ConfirmForm(ActionForm):
    """Confirmation: the patient still searches; on the waiting list unless asked not to."""

    sans_attente = BooleanField("Ne pas mettre en liste d'attente tout de suite")


class ContactForm(ActionForm):
    """An attempt to reach the patient."""

    resultat = RadioField(
        "Résultat",
        choices=choices([("joint", "Patient joint"), ("injoignable", "Injoignable")]),
        validators=[InputRequired(message="Choisissez le résultat de la tentative.")],
    )


class FastSelect(Select):  # type: ignore[misc]
    """WTForms' select, its plain options written directly (the same HTML): the list of the
    GPs to propose to has 1,000 options on a large register (60 ms through WTForms' generic
    attribute writer, 3 ms here)."""

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw or not isinstance(choice.value, str):
            found: Markup = super().render_option(choice, **kwargs)
            return found
        selected = " selected" if choice.selected else ""
        label = escape(choice.label or choice.value)
        return Markup(f'<option{selected} value="{escape(choice.value)}">{label}</option>')


class ProposeForm(ActionForm):
    """A proposal to a GP, by hand."""

    medecin = SelectField(
        "Médecin",
        choices=[],
        validators=[InputRequired(message="Choisissez un médecin.")],
        widget=FastSelect(),
    )


class CancelProposalForm(ActionForm):
    """Cancelling a pending proposal (reason required)."""

    medecin = SelectField(
        "Médecin", choices=[], validators=[InputRequired(message="Choisissez un médecin.")]
    )
    commentaire = _comment(required=True)


class CloseForm(ActionForm):
    """An exit recorded by the coordinator."""

    motif = SelectField(
        "Raison",
        choices=choices(CLOSE_REASONS),
        validators=[InputRequired(message="Choisissez la raison de la sortie.")],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.motif.data == "cloture" and not (self.commentaire.data or "").strip():
            self.commentaire.errors = [
                *self.commentaire.errors,
                "Une clôture par la CPTS demande un commentaire qui la justifie.",
            ]
            return False
        return valid


class EraseForm(ActionForm):
    """Erasing a patient's personal data: the request id typed again to confirm."""

    confirmation = StringField(
        "Pour confirmer, recopiez l'identifiant de la demande",
        validators=[DataRequired(message="Recopiez l'identifiant de la demande pour confirmer.")],
    )


class NameSearchForm(FrenchForm):
    """Searching requests by the patient's name (sent by POST: a name never goes in a URL)."""

    nom = StringField(
        "Nom ou prénom",
        validators=[
            DataRequired(message="Indiquez un nom ou un prénom."),
            Length(min=2, max=100, message="Entre 2 et 100 caractères."),
        ],
    )


SORTS: tuple[tuple[str, str], ...] = (
    ("id", "Identifiant"),
    ("reception", "Date de réception"),
    ("attente", "Attente (la plus longue d'abord)"),
    ("commune", "Commune"),
    ("etat", "État"),
    ("evenement", "Dernier événement"),
)
"""The orders of the waiting list."""


class FilterForm(FrenchForm):
    """The filters of the list of requests (a GET form: ids and codes only, never a name)."""

    class Meta:
        csrf = False

    etat = SelectField("État", choices=[], validators=[Optional()])
    niveau = SelectField("Niveau de priorité", choices=[], validators=[Optional()])
    commune = StringField(
        "Commune (code INSEE)",
        validators=[Optional(), Length(max=5, message="Un code INSEE a 5 caractères.")],
    )
    urgent = SelectField(
        "Urgence",
        choices=choices([("", "Toutes"), ("oui", "Urgentes"), ("non", "Non urgentes")]),
        validators=[Optional()],
    )
    attente_min = IntegerField(
        "Attente d'au moins (jours)",
        validators=[
            Optional(),
            NumberRange(min=0, max=3660, message="Un nombre de jours entre 0 et 3660."),
        ],
    )
    id = StringField(
        "Identifiant de demande",
        validators=[Optional(), Length(max=60, message="60 caractères au plus.")],
    )
    tri = SelectField("Trier par", choices=choices(SORTS), validators=[Optional()])
