"""Run every layer case and save forward/backward results (run with NUMBA_DISABLE_JIT=1)."""
import sys

import numpy as np

from tests.harness import forward_backward
from tests.layer_cases import all_cases


def results() -> dict[str, np.ndarray]:
    out = {}
    for i, case in enumerate(all_cases()):
        layer, params, inputs, y, proj, dxs, grads = forward_backward(case)
        out[f"{i}/y"] = y
        for j, dx in enumerate(dxs):
            out[f"{i}/dx{j}"] = np.asarray(dx)
        for k, g in grads.items():
            out[f"{i}/d{k}"] = g
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **results())
