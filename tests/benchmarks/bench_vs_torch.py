"""Netwright against PyTorch on the CPU (issue 6): `python -m tests.benchmarks.bench_vs_torch`.

The benchmark itself lives in `compute.bench` so that `netwright-cli bench` runs the same
code; PyTorch (a test-only dependency) is imported only once it runs. Options: --threads,
--repeats, --quick, --workloads, --no-extras (see --help).
"""
import sys

from compute.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
