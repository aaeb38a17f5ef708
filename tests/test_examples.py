"""Every example runs in its quick mode and writes a readable PNG."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

EXAMPLES = Path(__file__).parents[1] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))
SIZES = {"optimizers_2d.py": (900, 1200), "svm_subgradient.py": (500, 1200),
         "drivers_convergence.py": (450, 1200), "schedules.py": (450, 1200),
         "ray_cluster.py": (450, 1200)}


def test_every_example_is_listed():
    assert SCRIPTS == sorted(SIZES)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_quick_and_writes_a_png(script, tmp_path, request):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(EXAMPLES.parent), os.environ.get("PYTHONPATH", "")]))
    if script == "drivers_convergence.py":
        env["PSGD_SHARED_DATA"] = str(request.getfixturevalue("shared_data"))
    out = tmp_path / "figure.png"
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    image = imread(out)
    assert image.shape[:2] == SIZES[script]
    assert image[..., :3].std() > 0
