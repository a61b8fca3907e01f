"""Built-in reference data and shipped policy files (plugin)."""

from __future__ import annotations

from pathlib import Path

from mt_access.geo.communes import CommuneReference, bundled_reference
from mt_access.plugins import hookimpl


@hookimpl
def mt_access_commune_references() -> list[CommuneReference]:
    return [bundled_reference()]


def shipped_policy_directory() -> Path:
    """Where the shipped policy files are: inside the installed package (wheel), or the
    repository's ``policies/`` folder in a source checkout (editable install)."""
    packaged = Path(__file__).resolve().parent.parent / "_policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "policies"


@hookimpl
def mt_access_policy_directories() -> list[Path]:
    return [shipped_policy_directory()]
