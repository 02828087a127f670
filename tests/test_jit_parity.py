"""Every layer computes the same with Numba compiled and with NUMBA_DISABLE_JIT=1 (pure
Python), so the kernels are what their Python source says, fastmath included."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from compute.layers import layer_types
from tests.jit_parity_worker import results
from tests.layer_cases import all_cases

ROOT = Path(__file__).resolve().parents[1]


def test_every_layer_type_has_harness_cases():
    covered = {c.type_name for c in all_cases()}
    missing = set(layer_types()) - covered - {"Input"}
    assert not missing, f"layer types without harness cases: {sorted(missing)}"


def test_numba_and_pure_python_agree(tmp_path):
    path = tmp_path / "nojit.npz"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-m", "tests.jit_parity_worker", str(path)], cwd=ROOT,
                   env=env, check=True, timeout=600)
    jitted = results()
    with np.load(path, allow_pickle=False) as plain:
        assert set(plain.files) == set(jitted)
        for key in plain.files:
            np.testing.assert_allclose(jitted[key], plain[key], rtol=1e-9, atol=1e-10,
                                       err_msg=key)
