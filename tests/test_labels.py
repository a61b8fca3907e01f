"""French labels of the enums: one per member, never shared between enums."""

from __future__ import annotations

import enum

import pytest

import mt_access
from mt_access import Actor, Event, ExitReason, ReferrerKind, RequestState, SearchReason
from mt_access.labels import LabelledEnum, register_labels


def test_equal_values_of_different_enums_keep_their_own_label() -> None:
    # string enum members equal their value: ReferrerKind.PATIENT == Actor.PATIENT
    assert ReferrerKind.PATIENT.label == "le patient lui-même"
    assert Actor.PATIENT.label == "patient"
    assert SearchReason.OTHER.label == "autre motif"
    assert ReferrerKind.OTHER.label == "autre"
    assert RequestState.MT_FOUND.label == ExitReason.MT_FOUND.label == "médecin traitant trouvé"
    assert Event.OUT_OF_SCOPE.label == "hors du champ du dispositif"


def _subclasses(cls: type[LabelledEnum]) -> list[type[LabelledEnum]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_member_of_every_enum_has_a_label() -> None:
    assert mt_access  # the package's enums are imported
    enums = _subclasses(LabelledEnum)
    assert len(enums) >= 10
    for cls in enums:
        for member in cls:
            assert member.label.strip(), member


def test_labels_are_given_one_enum_at_a_time() -> None:
    class Colour(LabelledEnum):
        RED = "red"

    class Fruit(LabelledEnum):
        RED = "red"
        APPLE = "apple"

    # a dict literal mixing enums may silently merge equal members: refused
    with pytest.raises(ValueError, match="one enum"):
        register_labels({Colour.RED: "rouge", Fruit.APPLE: "pomme"})
    with pytest.raises(ValueError, match="one enum"):
        register_labels({})
    register_labels({Colour.RED: "rouge"})
    register_labels({Fruit.RED: "groseille", Fruit.APPLE: "pomme"})
    assert (Colour.RED.label, Fruit.RED.label) == ("rouge", "groseille")
    assert isinstance(Colour.RED, enum.Enum)
