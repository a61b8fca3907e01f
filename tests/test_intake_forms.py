"""Form mappings: the policy's ``intake:`` section, presets, validation errors
(mt_access.intake.forms)."""

from __future__ import annotations

import importlib.resources
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_access
from mt_access import PolicyError, load_policy
from mt_access.intake import (
    FIELDS,
    FieldType,
    FormMapping,
    available_presets,
    default_mapping,
    form_mapping,
    header_key,
    load_preset,
)
from mt_access.model import HomeVisitNeed

BASE = """\
version: 1
identity: {name: CPTS Test, code: test, department: "38"}
territory:
  communes: ["38563", "38565"]
priority:
  levels:
    - name: prioritaire
      criteria:
        - kind: ald
routing:
  priority: {router: nearest}
  non_priority: {router: orientation}
"""


def _policy(tmp_path: Path, intake: str) -> mt_access.Policy:
    path = tmp_path / "cpts.yaml"
    path.write_text(BASE + textwrap.dedent(intake), encoding="utf-8")
    return load_policy(path)


def _error(tmp_path: Path, intake: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        _policy(tmp_path, intake)
    return info.value


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


def test_shipped_presets() -> None:
    assert available_presets() == ("generique", "lievin", "sud_est_grenoblois", "voironnais")


@pytest.mark.parametrize("name", ["generique", "lievin", "sud_est_grenoblois", "voironnais"])
def test_every_preset_loads_with_the_required_fields(name: str) -> None:
    mapping = load_preset(name)
    assert isinstance(mapping, FormMapping)
    assert mapping.preset == name
    assert mapping.name
    assert "birth_date" in mapping.fields
    assert "consent" in mapping.fields
    assert {"last_name", "full_name"} & set(mapping.fields)
    assert {"commune", "commune_insee", "postal_code", "commune_name", "address"} & set(
        mapping.fields
    )
    assert mapping.headers  # reads at least one column
    assert load_preset(name) is mapping  # loaded once


@pytest.mark.parametrize("name", ["lievin", "sud_est_grenoblois", "voironnais"])
def test_form_presets_say_their_headers_are_to_be_confirmed(name: str) -> None:
    resource = importlib.resources.files("mt_access.intake") / "presets" / f"{name}.yaml"
    text = resource.read_text(encoding="utf-8")
    assert "À CONFIRMER AVEC LA CPTS" in text


def test_voironnais_preset_reads_the_procedure_fields() -> None:
    mapping = load_preset("voironnais")
    for field in (
        "referrer_name",
        "referrer_kind",
        "last_name",
        "first_name",
        "birth_date",
        "address",
        "css",
        "previous_mt_name",
        "previous_mt_commune",
        "children",
        "disability_or_chronic",
        "home_visits",
        "comments",
        "consent",
    ):
        assert field in mapping.fields, field
    comments = mapping.fields["comments"]
    assert comments.join
    assert len(comments.columns) == 3


def test_lievin_preset_has_one_name_column_and_consent_by_sending() -> None:
    mapping = load_preset("lievin")
    assert mapping.fields["full_name"].columns == ("Votre prénom et votre nom",)
    assert mapping.fields["full_name"].order == "first_last"
    assert mapping.fields["consent"].constant is True
    assert {"reason", "adults", "children", "identifier"} <= set(mapping.fields)


def test_sud_est_grenoblois_preset_reads_urgency_and_the_commune_from_the_address() -> None:
    mapping = load_preset("sud_est_grenoblois")
    assert "urgent" in mapping.fields
    assert "address" in mapping.fields
    assert not {"commune", "commune_name", "postal_code", "commune_insee"} & set(mapping.fields)
    visits = dict(mapping.fields["home_visits"].values)
    assert visits["Oui, VAD exclusivement"] == "exclusive"
    assert visits["Oui, exceptionnellement"] == "occasional"


def test_unknown_preset_name() -> None:
    with pytest.raises(PolicyError, match="préréglage inconnu 'zoho'"):
        load_preset("zoho")


def test_default_mapping_is_the_generic_preset() -> None:
    assert default_mapping() is load_preset("generique")


# --------------------------------------------------------------------------------------------
# The policy's intake section
# --------------------------------------------------------------------------------------------


def test_voironnais_policy_uses_its_preset(voironnais: mt_access.Policy) -> None:
    assert voironnais.intake is not None
    assert voironnais.intake.preset == "voironnais"
    assert voironnais.intake.fields == load_preset("voironnais").fields


def test_policy_without_intake_section(tmp_path: Path) -> None:
    path = tmp_path / "cpts.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert load_policy(path).intake is None


def test_preset_with_overrides(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        """
        intake:
          preset: voironnais
          name: Notre formulaire
          prefer_territory: true
          fields:
            urgent: Soins nécessaires sous un mois
            email: null
            home_visits:
              column: [Visites à domicile, VAD]
              values:
                "Oui, exclusivement": exclusive
                Parfois: occasional
        """,
    )
    intake = policy.intake
    assert intake is not None
    assert intake.name == "Notre formulaire"
    assert intake.prefer_territory
    assert intake.fields["urgent"].columns == ("Soins nécessaires sous un mois",)
    assert "email" not in intake.fields
    visits = intake.fields["home_visits"]
    assert visits.columns == ("Visites à domicile", "VAD")
    assert dict(visits.values) == {"Oui, exclusivement": "exclusive", "Parfois": "occasional"}
    assert visits.lookup()["oui, exclusivement"] == "exclusive"
    # the other preset fields are kept
    assert intake.fields["last_name"] == load_preset("voironnais").fields["last_name"]
    # fields stay in the catalogue's order
    assert list(intake.fields) == [name for name in FIELDS if name in intake.fields]


def test_a_whole_form_without_preset(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        """
        intake:
          fields:
            full_name: {column: Nom complet, order: last_first}
            birth_date: {column: Né(e) le, formats: ["%d-%b-%Y"]}
            address: Adresse
            consent: {value: true}
            reason:
              column: Pourquoi
              values: {Retraite: previous_mt_left}
              otherwise: other
            children: {column: Enfants, values: {Non: 0}}
            commune_name: {column: Ville, values: {"Voiron centre": "38563"}}
        """,
    )
    intake = policy.intake
    assert intake is not None
    assert intake.preset is None
    assert intake.fields["full_name"].order == "last_first"
    assert intake.fields["birth_date"].formats == ("%d-%b-%Y",)
    assert intake.fields["reason"].otherwise == "other"
    assert intake.fields["children"].values == (("Non", 0),)
    assert intake.fields["commune_name"].values == (("Voiron centre", "38563"),)


def test_form_mapping_from_python() -> None:
    mapping = form_mapping(
        {
            "preset": "generique",
            "fields": {"home_visits": {"column": "VAD", "values": {"Oui": "exclusive"}}},
        }
    )
    assert mapping.fields["home_visits"].values == (("Oui", "exclusive"),)
    with pytest.raises(PolicyError) as info:
        form_mapping({"fields": {"last_name": "Nom"}})
    assert info.value.path == "$.intake.fields"
    assert info.value.source == "<dict>"


# --------------------------------------------------------------------------------------------
# Errors: French, with the key path and the line
# --------------------------------------------------------------------------------------------


_FIELDS = "intake:\n  preset: voironnais\n  fields:\n"
"""The start of an intake section on the Voironnais preset, before one field."""


@pytest.mark.parametrize(
    ("intake", "path", "line", "messages"),
    [
        pytest.param(
            "intake:\n  preset: zoho\n",
            "$.intake.preset",
            14,
            ("préréglage inconnu 'zoho'", "voironnais"),
            id="unknown preset in policy",
        ),
        pytest.param(
            _FIELDS + "    nom: Nom\n",
            "$.intake.fields.nom",
            16,
            ("clé inconnue 'nom'", "last_name"),
            id="unknown field",
        ),
        pytest.param(
            "intake:\n  preset: voironnais\n  colonnes: {}\n",
            "$.intake.colonnes",
            None,
            (),
            id="unknown key of the section",
        ),
        pytest.param(
            """
            intake:
              preset: voironnais
              fields:
                home_visits:
                  column: VAD
                  values:
                    "Oui, exclusivement": exclusif
            """,
            "$.intake.fields.home_visits.values.Oui, exclusivement",
            20,
            ("valeur parmi none, occasional, exclusive attendue", "'exclusif'"),
            id="unknown choice value",
        ),
        pytest.param(
            """
            intake:
              preset: voironnais
              fields:
                urgent:
                  column: Urgent
                  values:
                    No: false
            """,
            "$.intake.fields.urgent.values",
            None,
            ("entre guillemets",),
            id="yes no wording read as boolean by yaml",
        ),
        pytest.param(
            _FIELDS + "    urgent: {column: Urgent, values: {Oui: oui}}\n",
            "$.intake.fields.urgent.values.Oui",
            None,
            ("true ou false attendu",),
            id="boolean target must be true or false",
        ),
        pytest.param(
            _FIELDS + "    children: {column: E, values: {Non: -1}}\n",
            None,
            None,
            ("nombre entier ≥ 0 attendu",),
            id="integer target must be positive",
        ),
        pytest.param(
            _FIELDS + "    birth_date: null\n",
            "$.intake.fields",
            None,
            ("champ obligatoire manquant : la date de naissance (birth_date)",),
            id="removing a required field",
        ),
        pytest.param(
            """
            intake:
              fields:
                last_name: Nom
                birth_date: Date de naissance
                consent: Consentement
            """,
            None,
            None,
            ("la commune du patient",),
            id="a form needs a commune",
        ),
        pytest.param(
            _FIELDS + "    consent: {column: C, optional: true}\n",
            "$.intake.fields.consent",
            None,
            ("optional",),
            id="required field cannot be optional",
        ),
        pytest.param(
            _FIELDS + "    birth_date: {column: D, formats: [jour]}\n",
            "$.intake.fields.birth_date.formats[0]",
            None,
            ("format de date invalide",),
            id="bad date format",
        ),
        pytest.param(
            _FIELDS + "    phone: {column: T, values: {a: b}}\n",
            "$.intake.fields.phone.values",
            None,
            (),
            id="values do not apply to text fields",
        ),
        pytest.param(
            _FIELDS + '    commune_name: {column: Ville, values: {Centre: "38999"}}\n',
            "$.intake.fields.commune_name.values.Centre",
            None,
            ("absent du référentiel",),
            id="commune values are checked against the reference",
        ),
        pytest.param(
            _FIELDS + "    commune_name: {value: 1053}\n",
            None,
            None,
            ("entre guillemets",),
            id="a commune value is a quoted code",
        ),
        pytest.param(
            "intake: voironnais\n",
            "$.intake",
            None,
            ("dictionnaire",),
            id="section must be a mapping",
        ),
    ],
)
def test_intake_section_errors(
    tmp_path: Path, intake: str, path: str | None, line: int | None, messages: tuple[str, ...]
) -> None:
    """A wrong intake section: a PolicyError naming the key path (and the line, where given)
    and saying in French what was expected."""
    exc = _error(tmp_path, intake)
    if path is not None:
        assert exc.path == path
    if line is not None:
        assert exc.line == line
    for message in messages:
        assert message in exc.message


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        ("{column: A, value: true}", "$.intake.fields.urgent", "une et une seule des clés"),
        ("{values: {Oui: true}}", "$.intake.fields.urgent", "une et une seule des clés"),
        ("{columns: [A, B]}", "$.intake.fields.urgent.columns", "qu'à un champ texte"),
        ("{column: A, formats: ['%d']}", "$.intake.fields.urgent.formats", "qu'à un champ date"),
        ("{column: A, order: last_first}", "$.intake.fields.urgent.order", "full_name"),
        ("{column: ''}", "$.intake.fields.urgent.column", "en-tête de colonne"),
        ("[A, a]", "$.intake.fields.urgent[1]", "en-tête en double"),
        (
            "{column: A, values: {Oui: true, OUI: false}}",
            "$.intake.fields.urgent.values.OUI",
            "libellé en double",
        ),
        ("{column: A, colonne: B}", "$.intake.fields.urgent.colonne", "clé inconnue"),
        ("{value: true, optional: true}", "$.intake.fields.urgent", "valeur fixe"),
    ],
)
def test_field_spec_errors(tmp_path: Path, spec: str, path: str, message: str) -> None:
    exc = _error(tmp_path, f"intake:\n  preset: voironnais\n  fields:\n    urgent: {spec}\n")
    assert exc.path == path
    assert message in exc.message
    assert exc.line is not None


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


def test_header_key_ignores_case_accents_spaces_and_form_marks() -> None:
    assert header_key("  Votre   VILLE * ") == header_key("votre ville")
    assert header_key("Date de naissance :") == header_key("date de naissance")
    assert header_key("Nécessité de visites à domicile") == header_key(
        "NECESSITE DE VISITES A DOMICILE"
    )
    assert header_key("Nom") != header_key("Prénom")


@given(
    st.sampled_from(sorted(load_preset("voironnais").headers)),
    st.sampled_from([str.upper, str.lower, str.title, lambda s: s]),
    st.sampled_from(["", " ", "  ", " *", " :", "*"]),
)
def test_header_key_of_variants(header: str, case: object, suffix: str) -> None:
    assert callable(case)
    variant = "  " + case(header).replace(" ", "  ") + suffix
    assert header_key(variant) == header_key(header)


def test_field_catalogue() -> None:
    assert FIELDS["home_visits"].type is FieldType.CHOICE
    assert FIELDS["home_visits"].choices is HomeVisitNeed
    assert FIELDS["birth_date"].type is FieldType.DATE
    assert all(spec.label for spec in FIELDS.values())


@pytest.mark.slow
def test_presets_are_packaged_in_the_wheel(wheel_files: set[str]) -> None:
    for name in available_presets():
        assert f"mt_access/intake/presets/{name}.yaml" in wheel_files
