"""Encoding detection on short French CSV files: mt-access's reader against chardet and
charset-normalizer alone.

Run with ``python benchmarks/bench_encodings.py`` (mt_access importable; chardet, and
charset-normalizer for its column). 200 generated files per encoding, each a header and 2 to
6 lines of French names, communes and comments (accents, œ, €, typographic quotes when the
encoding holds them); a file is read right when the decoded text equals the text written.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

from mt_access.intake.tabular import read_csv

FILES = 200
ENCODINGS = ("cp1252", "iso8859-15", "mac_roman", "cp850", "utf-8")
NAMES = ("Lefèvre", "Œuvrard", "Garçon", "Çelik", "Dupont", "Bœuf", "Noël", "Zoé", "Hélène",
         "Gaëlle", "Anaïs", "Jérôme", "Müller", "Ève", "Benoît", "Aurélien")  # fmt: skip
COMMUNES = ("Saint-Égrève", "Voiron", "Moirans", "Rives", "Saint-Étienne-de-Crossey",
            "Coublevie", "La Buisse", "Réaumont", "Lille", "Marcq-en-Barœul")  # fmt: skip
COMMENTS = ("cœur fragile", "dépassement de 50 €", "« très inquiète »", "médecin parti",
            "déjà vu à l’hôpital", "sœur aînée", "rappeler après 18 h", "où aller ?")  # fmt: skip


def text(rng: random.Random, encoding: str) -> str:
    lines = ["Nom;Prénom;Commune;Commentaire"]
    for _ in range(rng.randint(2, 6)):
        lines.append(
            ";".join(
                (rng.choice(NAMES), rng.choice(NAMES), rng.choice(COMMUNES), rng.choice(COMMENTS))
            )
        )
    out = "\r\n".join(lines) + "\r\n"
    spelt = {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'", "«": '"', "»": '"'}
    return "".join(c if _fits(c, encoding) else spelt[c] for c in out)


def _fits(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def main() -> None:
    import chardet

    try:
        import charset_normalizer
    except ImportError:
        charset_normalizer = None
    rng = random.Random(2026)
    print(f"{FILES} short French files per encoding; files read right:")
    print(f"{'encoding':<12} {'mt-access':>10} {'chardet':>10} {'charset-normalizer':>20}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        for encoding in ENCODINGS:
            ours = alone = normalizer = 0
            for _ in range(FILES):
                written = text(rng, encoding)
                data = written.encode(encoding)
                path.write_bytes(data)
                try:
                    table = read_csv(path)
                    ours += data.decode(table.encoding or "") == written
                except Exception:
                    pass
                guess = chardet.detect(data)["encoding"]
                with contextlib.suppress(LookupError, UnicodeDecodeError):
                    alone += guess is not None and data.decode(guess) == written
                if charset_normalizer is not None:
                    best = charset_normalizer.from_bytes(data).best()
                    normalizer += best is not None and str(best) == written
            shown = f"{normalizer:>20}" if charset_normalizer is not None else f"{'-':>20}"
            print(f"{encoding:<12} {ours:>10} {alone:>10} {shown}")


if __name__ == "__main__":
    main()
