"""Stage output is not buried under TensorFlow's start-up lines."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


ONEDNN_NOTICE = "port.cc:153] oneDNN custom operations are on"


def test_importing_the_library_then_keras_prints_no_tensorflow_info_lines() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    probe = ("import singaffect, keras, numpy as np\n"
             "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
             "m.compile('adam', 'mse'); m.fit(np.ones((4, 3)), np.ones(4), verbose=0)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    noisy = [line for line in lines if line.startswith(("I0000", "WARNING: All log messages"))
             or "cpu_feature_guard" in line]
    # TensorFlow 2.21 prints its oneDNN notice whatever TF_CPP_MIN_LOG_LEVEL says
    # (tensorflow/tensorflow#100442), on CPUs where it turns oneDNN on by default (AVX-512
    # VNNI/BF16, AMX): one notice and absl's pre-init warning, once per graph build, tolerated.
    notices = [line for line in noisy if ONEDNN_NOTICE in line]
    noisy = [line for line in noisy if ONEDNN_NOTICE not in line]
    absl_warnings = [line for line in noisy if line.startswith("WARNING: All log messages")]
    assert len(absl_warnings) <= len(notices)
    noisy = [line for line in noisy if line not in absl_warnings]
    assert noisy == [], noisy  # without singaffect's TF_CPP_MIN_LOG_LEVEL: cpu_feature_guard's INFO lines
