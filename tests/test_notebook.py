"""The example notebook, ``examples/tour.ipynb``, run headless the way a new user
runs it: in a ``python3`` Jupyter kernel, from the notebook's folder, with the shared
data folder passed as ``GEOIP_RS_SHARED_DATA``.

Every cell must run; no cell may print a warning; the build's progress bar must be a
widget that reached its end; every cell that makes a figure must show it. The kernel
must be this interpreter's environment with this geoip_rs, or the run would test
another build. And the committed file carries no outputs, so that it stays small and
its diffs readable.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import IN_CI, require_shared

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tour.ipynb"
# The whole notebook runs in about 15 s, no cell in more than a few: one that takes
# minutes is stuck.
CELL_TIMEOUT = 180
# The MRT dumps the notebook builds from: without them its build section does nothing.
INPUTS = ("mrt/rib.20140523.0600_firstMB.bz2", "mrt/rib6.20151101.0600_firstMB.bz2")
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Appended to the notebook run here (not to the file): which environment and which
# geoip_rs the kernel has.
PROBE = (
    "import json, os, sys, geoip_rs\n"
    "print(json.dumps({'prefix': os.path.realpath(sys.prefix),\n"
    "                  'geoip_rs': os.path.realpath(geoip_rs.__file__)}))"
)


def need(module: str):
    """Import a notebook dependency: the test extras have them all, so in CI a missing
    one fails; elsewhere the test is skipped."""
    if IN_CI:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def run(nb, cwd: Path, env: dict[str, str]):
    """Execute ``nb`` in place in a fresh ``python3`` kernel; a cell that raises
    raises ``CellExecutionError`` naming it."""
    for module in ("ipykernel", "ipywidgets", "matplotlib", "pandas", "pyarrow", "polars"):
        need(module)
    nbclient = need("nbclient")
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=env)
    return nb


@pytest.fixture(scope="module")
def executed():
    nbformat = need("nbformat")
    root = require_shared(*INPUTS)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    env = {**os.environ, "GEOIP_RS_SHARED_DATA": str(root)}
    return run(nb, NOTEBOOK.parent, env)


def code_cells(nb, containing: str = ""):
    return [c for c in nb.cells if c.cell_type == "code" and containing in c.source]


def stderr_text(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")


def test_kernel_is_this_environment_with_this_geoip_rs(executed):
    import geoip_rs

    (probe,) = code_cells(executed, "json.dumps({'prefix'")
    seen = json.loads(probe.outputs[0].text)
    assert seen == {
        "prefix": os.path.realpath(sys.prefix),
        "geoip_rs": os.path.realpath(geoip_rs.__file__),
    }, "the kernel runs another environment or another geoip_rs: see `jupyter kernelspec list`, and PYTHONPATH"


def test_no_cell_prints_a_warning(executed):
    warned = {c.get("id", i): stderr_text(c) for i, c in enumerate(code_cells(executed))
              if "warning" in stderr_text(c).lower()}
    assert not warned


def test_build_shows_a_widget_bar_that_finished(executed):
    (build,) = code_cells(executed, "build_database(")
    views = [o.data[WIDGET]["model_id"] for o in build.outputs if WIDGET in o.get("data", {})]
    assert views, f"no widget among the build cell's outputs: {build.outputs}"
    states = executed.metadata["widgets"][WIDGET_STATE]["state"]
    (bar,) = progress_bars(states, views[0])
    assert bar["bar_style"] == "success" and 0 < bar["max"] == bar["value"], bar


def progress_bars(states: dict, model_id: str) -> list[dict]:
    """The state of each progress bar in the widget ``model_id`` (tqdm's widget is an
    HBox of a label, the bar and the numbers)."""
    model = states[model_id]
    if model["model_name"] == "FloatProgressModel":
        return [model["state"]]
    children = model["state"].get("children", [])
    return [bar for child in children for bar in progress_bars(states, child.removeprefix("IPY_MODEL_"))]


def test_every_figure_is_drawn(executed):
    plots = [c for c in code_cells(executed) if "plt.subplots(" in c.source or "plt.figure(" in c.source]
    # Countries, AS sizes, registries, the sample's ASes: at least one figure each.
    assert len(plots) >= 4
    blank = [c.get("id") for c in plots if not any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert not blank


def test_committed_without_outputs():
    nbformat = need("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    kept = [c.get("id") for c in code_cells(nb) if c.outputs or c.execution_count is not None]
    assert not kept
    assert "widgets" not in nb.metadata


def test_bar_without_ipywidgets_is_text_without_a_warning(tmp_path):
    """ipywidgets is an optional extra: in a kernel without it, a progress bar falls
    back to text on stderr, and tqdm's "IProgress not found" warning stays out of the
    user's cell."""
    nbformat = need("nbformat")
    data = tmp_path / "t.dat"
    data.write_text("1.0.0.0/24\t1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        # None in sys.modules makes `import ipywidgets` fail, as when it is not installed.
        nbformat.v4.new_code_cell("import sys\nsys.modules['ipywidgets'] = None"),
        nbformat.v4.new_code_cell(f"import geoip_rs\ngeoip_rs.read_ipasn({str(data)!r}, progress=True)"),
    ]
    run(nb, tmp_path, dict(os.environ))
    load = nb.cells[1]
    assert "warning" not in stderr_text(load).lower(), stderr_text(load)
    assert "100%" in stderr_text(load)
    assert not [o for o in load.outputs if WIDGET in o.get("data", {})]
