"""Benchmarks run by hand, never by CI: `python -m tests.benchmarks.bench_vs_torch`."""
