"""Regenerate the commune data packaged in ``src/mt_access/geo/data/``.

Usage (from anywhere)::

    python scripts/build_geo_data.py [DATA_DIR]

``DATA_DIR`` is the shared reference data folder (default: ``../shared/data`` relative to the
repository root). The script writes:

- ``communes_france.csv.gz``: ``DATA_DIR/communes_france.csv`` byte for byte, gzip-compressed
  deterministically (level 9, no file name, mtime 0), so that rerunning it on the same input
  gives the same bytes;
- ``SOURCES.md``: a short note on what was packaged and how, followed by the whole upstream
  ``DATA_DIR/SOURCES.md``.

It then loads the packaged file with ``CommuneReference.from_csv`` to check it. The data is
never edited here: fix the upstream files instead.
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


def gzip_deterministic(data: bytes) -> bytes:
    """Compress ``data`` with gzip, level 9, empty file name and mtime 0."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def sources_note(csv_data: bytes, upstream_sources: str) -> str:
    """Return the packaged SOURCES.md: a note on the packaging, then the upstream note."""
    rows = csv_data.count(b"\n") - 1
    digest = hashlib.sha256(csv_data).hexdigest()
    note = (
        "# Packaged commune data (mt_access.geo)\n"
        "\n"
        f"`{PACKAGED_CSV}` is the file `{SOURCE_CSV}` of the shared reference data (section 4 "
        f"of the note below: {rows:,} rows and a header), copied byte for byte and compressed "
        "with gzip (level 9, no file name, mtime 0) by `scripts/build_geo_data.py`. Its "
        f"uncompressed sha256 is `{digest}`. Nothing was edited; regenerate the file with "
        "that script rather than changing it by hand. The other upstream files (the Isère and "
        "Nord extract and the GeoJSON outlines) are not packaged. The upstream note follows, "
        "unchanged.\n"
        "\n"
        "---\n"
        "\n"
    )
    return note + upstream_sources


def build(data_dir: Path, output_dir: Path = OUTPUT_DIR) -> tuple[Path, Path]:
    """Write the packaged data files into ``output_dir`` and return their paths."""
    csv_data = (data_dir / SOURCE_CSV).read_bytes()
    first_line = csv_data.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line != EXPECTED_HEADER:
        raise SystemExit(
            f"{data_dir / SOURCE_CSV}: unexpected header {first_line!r}, "
            f"expected {EXPECTED_HEADER!r}"
        )
    upstream_sources = (data_dir / SOURCES_MD).read_text(encoding="utf-8")
    output_dir.mkdir(parents=True, exist_ok=True)
    packaged_csv = output_dir / PACKAGED_CSV
    packaged_sources = output_dir / SOURCES_MD
    packaged_csv.write_bytes(gzip_deterministic(csv_data))
    packaged_sources.write_text(sources_note(csv_data, upstream_sources), encoding="utf-8")
    return packaged_csv, packaged_sources


def check(packaged_csv: Path) -> str:
    """Load the packaged file with the library and return a one-line summary."""
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from mt_access.geo.communes import BUNDLED_SOURCE, VINTAGE, CommuneReference

    reference = CommuneReference.from_csv(packaged_csv, vintage=VINTAGE, source=BUNDLED_SOURCE)
    return f"{len(reference)} communes, {len(reference.without_point())} without a point"


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
    packaged_csv, packaged_sources = build(args.data_dir)
    print(f"wrote {packaged_csv.relative_to(REPO_ROOT)} ({packaged_csv.stat().st_size:,} bytes)")
    print(f"wrote {packaged_sources.relative_to(REPO_ROOT)}")
    print(f"check: {check(packaged_csv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
