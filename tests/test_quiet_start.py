"""Stage output is not buried under TensorFlow's start-up lines."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def test_importing_the_library_then_keras_prints_no_tensorflow_info_lines() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    probe = ("import singaffect, keras, numpy as np\n"
             "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
             "m.compile('adam', 'mse'); m.fit(np.ones((4, 3)), np.ones(4), verbose=0)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    noisy = [line for line in done.stderr.splitlines() if line.startswith(("I0000", "WARNING: All log messages"))
             or "cpu_feature_guard" in line]
    assert noisy == [], noisy
