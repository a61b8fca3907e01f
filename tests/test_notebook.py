"""The example notebook (notebooks/analyse_registre.ipynb) runs from top to bottom.

It is executed with nbclient in a kernel running this interpreter (a kernelspec written to a
temporary JUPYTER_PATH), from a temporary directory, with TMPDIR pointing there too so that
the files the notebook writes (plots, the map) stay inside the test's folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analyse_registre.ipynb"
KERNEL = "mt-access-tests"


def _kernel_path(root: Path) -> Path:
    """A JUPYTER_PATH whose only kernel runs ``sys.executable``."""
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mt-access tests",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    return root


def test_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, "clear the notebook's outputs before committing it"
            assert cell.execution_count is None


@pytest.mark.slow
# The Jupyter stack's own deprecations (platform dirs, zmq's event loop...) vary with its
# versions and are not ours; anything else still fails the test (pyproject: "error").
@pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_client.*")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:zmq.*")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_core.*")
def test_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_path(tmp_path / "jupyter")))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("TMPDIR", str(work))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=120,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()

    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    data = [out.get("data", {}) for out in outputs]
    html = [d["text/html"] for d in data if "text/html" in d]
    assert any("<table" in h and "dataframe" in h for h in html), "no DataFrame shown"
    assert sum("image/png" in d for d in data) >= 3, "the plots are not shown"
    text = "".join(out.get("text", "") for out in outputs)
    assert "CPTS du Voironnais — mars 2026" in text  # the indicators' summary
    assert "Ce n'est qu'une estimation" in text  # the waiting position's message
    maps = list(work.glob("analyse_registre_*/carte.html"))
    assert len(maps) == 1, "the map was not written"
    assert "leaflet" in maps[0].read_text(encoding="utf-8").lower()
    assert sorted(p.name for p in maps[0].parent.glob("*.png")) == [
        "delais_par_niveau.png",
        "liste_attente.png",
    ]
