"""Regenerate the commune data packaged in ``src/mt_access/geo/data/``.

Usage (from anywhere)::

    python scripts/build_geo_data.py [DATA_DIR]

``DATA_DIR`` is the shared reference data folder (default: ``../shared/data`` relative to the
repository root). The script writes:

- ``communes_france.csv.gz``: ``DATA_DIR/communes_france.csv`` byte for byte, gzip-compressed
  deterministically (level 9, no file name, mtime 0), so that rerunning it on the same input
  gives the same bytes;
- ``communes_38.geojson.gz`` and ``communes_59.geojson.gz``: the commune outlines of Isère and
  Nord, ``DATA_DIR/communes_38.geojson`` and ``DATA_DIR/communes_59.geojson`` byte for byte,
  compressed the same way (read by ``mt_access.geo.shapes.bundled_shapes``);
- ``SOURCES.md``: a short note on what was packaged and how, followed by the whole upstream
  ``DATA_DIR/SOURCES.md``.

It then loads the packaged files with ``CommuneReference.from_csv`` and
``CommuneShapes.from_geojson`` to check them (one outline per commune of the two départements,
each reference point inside its own commune). The data is never edited here: fix the upstream
files instead.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
OUTPUT_DIR = REPO_ROOT / "src" / "mt_access" / "geo" / "data"
SOURCE_CSV = "communes_france.csv"
PACKAGED_CSV = "communes_france.csv.gz"
SOURCES_MD = "SOURCES.md"
EXPECTED_HEADER = b"insee,name,kind,department,postal_codes,population,lat,lon"
OUTLINE_DEPARTMENTS = ("38", "59")
EXPECTED_GEOJSON_START = b'{"type":"FeatureCollection"'
POINT_TOLERANCE_KM = 0.05


def source_geojson(department: str) -> str:
    """Name of the upstream GeoJSON outlines of ``department``."""
    return f"communes_{department}.geojson"


def packaged_geojson(department: str) -> str:
    """Name of the packaged (gzip-compressed) GeoJSON outlines of ``department``."""
    return f"communes_{department}.geojson.gz"


def gzip_deterministic(data: bytes) -> bytes:
    """Compress ``data`` with gzip, level 9, empty file name and mtime 0."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def sources_note(
    csv_data: bytes, upstream_sources: str, geojson_data: dict[str, bytes] | None = None
) -> str:
    """Return the packaged SOURCES.md: a note on the packaging, then the upstream note.

    ``geojson_data`` maps each packaged département to its uncompressed GeoJSON outlines.
    """
    geojson_data = geojson_data or {}
    rows = csv_data.count(b"\n") - 1
    digest = hashlib.sha256(csv_data).hexdigest()
    if geojson_data:
        listed = [
            f"`{packaged_geojson(dep)}` (uncompressed sha256 `{hashlib.sha256(data).hexdigest()}`)"
            for dep, data in sorted(geojson_data.items())
        ]
        outlines = (
            f"The commune outlines {' and '.join(listed)} are the files "
            f"{' and '.join(f'`{source_geojson(dep)}`' for dep in sorted(geojson_data))} of "
            "section 3 of the note below, copied byte for byte and compressed the same way; "
            "they keep the attribution and licence stated there (IGN ADMIN EXPRESS COG 2018 "
            "via gregoiredavid/france-geojson, Licence Ouverte / Open Licence, brought to the "
            "COG 2026 commune list). The Isère and Nord extract `communes_38_59.csv` is not "
            "packaged: in `communes_france.csv.gz`, the points of Avignonet (38023) and "
            "Zermezeele (59667) are the original chef-lieu points, 25 to 35 m outside their "
            "simplified outlines (section 2 describes the points moved inside in the extract); "
            "every other point of the two départements lies in its own commune's outline. "
        )
    else:
        outlines = (
            "The other upstream files (the Isère and Nord extract and the GeoJSON outlines) are "
            "not packaged. "
        )
    note = (
        "# Packaged commune data (mt_access.geo)\n"
        "\n"
        f"`{PACKAGED_CSV}` is the file `{SOURCE_CSV}` of the shared reference data (section 4 "
        f"of the note below: {rows:,} rows and a header), copied byte for byte and compressed "
        "with gzip (level 9, no file name, mtime 0) by `scripts/build_geo_data.py`. Its "
        f"uncompressed sha256 is `{digest}`. Nothing was edited; regenerate the file with "
        "that script rather than changing it by hand. "
        f"{outlines}"
        "The upstream note follows, unchanged.\n"
        "\n"
        "---\n"
        "\n"
    )
    return note + upstream_sources


def build(data_dir: Path, output_dir: Path = OUTPUT_DIR) -> tuple[Path, Path, list[Path]]:
    """Write the packaged data files into ``output_dir`` and return their paths.

    Returns the packaged CSV, the packaged SOURCES.md and the packaged GeoJSON files.
    """
    csv_data = (data_dir / SOURCE_CSV).read_bytes()
    first_line = csv_data.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line != EXPECTED_HEADER:
        raise SystemExit(
            f"{data_dir / SOURCE_CSV}: unexpected header {first_line!r}, "
            f"expected {EXPECTED_HEADER!r}"
        )
    geojson_data: dict[str, bytes] = {}
    for department in OUTLINE_DEPARTMENTS:
        source = data_dir / source_geojson(department)
        data = source.read_bytes()
        if not data.startswith(EXPECTED_GEOJSON_START):
            raise SystemExit(
                f"{source}: unexpected start {data[:40]!r}, expected {EXPECTED_GEOJSON_START!r}"
            )
        geojson_data[department] = data
    upstream_sources = (data_dir / SOURCES_MD).read_text(encoding="utf-8")
    output_dir.mkdir(parents=True, exist_ok=True)
    packaged_csv = output_dir / PACKAGED_CSV
    packaged_sources = output_dir / SOURCES_MD
    packaged_csv.write_bytes(gzip_deterministic(csv_data))
    packaged_outlines: list[Path] = []
    for department, data in geojson_data.items():
        path = output_dir / packaged_geojson(department)
        path.write_bytes(gzip_deterministic(data))
        packaged_outlines.append(path)
    packaged_sources.write_text(
        sources_note(csv_data, upstream_sources, geojson_data), encoding="utf-8"
    )
    return packaged_csv, packaged_sources, packaged_outlines


def check(packaged_csv: Path) -> str:
    """Load the packaged file with the library and return a one-line summary."""
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from mt_access.geo.communes import BUNDLED_SOURCE, VINTAGE, CommuneReference

    reference = CommuneReference.from_csv(packaged_csv, vintage=VINTAGE, source=BUNDLED_SOURCE)
    return f"{len(reference)} communes, {len(reference.without_point())} without a point"


def check_outlines(packaged_outlines: list[Path], packaged_csv: Path) -> str:
    """Load the packaged outlines with the library and return a one-line summary.

    Checks that each département has one outline per commune of the packaged reference and
    that the reference point of each commune lies in its own outline, or at most
    ``POINT_TOLERANCE_KM`` from it: ``communes_france.csv`` keeps the original chef-lieu points
    of Avignonet (38023) and Zermezeele (59667), some 25-35 m outside the simplified outlines
    (the Isère and Nord extract moved them inside; see section 2 of the upstream note).
    """
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from mt_access.geo.communes import BUNDLED_SOURCE, VINTAGE, CommuneReference
    from mt_access.geo.shapes import CommuneShapes

    reference = CommuneReference.from_csv(packaged_csv, vintage=VINTAGE, source=BUNDLED_SOURCE)
    summaries = []
    near: list[str] = []
    for path in packaged_outlines:
        shapes = CommuneShapes.from_geojson(path)
        department = path.name.removeprefix("communes_").split(".")[0]
        expected = {c.insee for c in reference if c.department == department}
        if set(shapes.insee_codes) != expected:
            raise SystemExit(
                f"{path}: {len(shapes)} outlines for the {len(expected)} communes of "
                f"département {department} in {packaged_csv.name}"
            )
        for commune in (reference.get(code) for code in shapes.insee_codes):
            point = commune.point
            if point is None:
                raise SystemExit(f"{packaged_csv}: {commune.insee} has no point")
            if shapes.locate(point.lat, point.lon) == commune.insee:
                continue
            km = shapes.territory([commune.insee]).distance_km(point)
            if km > POINT_TOLERANCE_KM:
                raise SystemExit(
                    f"{path}: the point of {commune.insee} is {km * 1000:.0f} m outside its commune"
                )
            near.append(f"{commune.insee} ({km * 1000:.0f} m)")
        summaries.append(f"{department}: {len(shapes)} outlines")
    outside = f", {', '.join(near)} just outside" if near else ""
    every = "every other" if near else "every"
    return "; ".join(summaries) + f", {every} reference point in its own commune{outside}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "data_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"shared reference data folder (default: {DEFAULT_DATA_DIR})",
    )
    args = parser.parse_args(argv)
    packaged_csv, packaged_sources, packaged_outlines = build(args.data_dir)
    print(f"wrote {packaged_csv.relative_to(REPO_ROOT)} ({packaged_csv.stat().st_size:,} bytes)")
    for path in packaged_outlines:
        print(f"wrote {path.relative_to(REPO_ROOT)} ({path.stat().st_size:,} bytes)")
    print(f"wrote {packaged_sources.relative_to(REPO_ROOT)}")
    print(f"check: {check(packaged_csv)}")
    print(f"check: {check_outlines(packaged_outlines, packaged_csv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
