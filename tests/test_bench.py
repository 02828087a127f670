"""`netwright-cli bench` runs end to end (a smoke test: speed itself is measured by hand,
never asserted in tests)."""
from compute.cli import main


def test_bench_runs_a_workload_and_prints_the_comparison(capsys):
    assert main(["bench", "--quick", "--workloads", "tiny", "--no-extras"]) == 0
    out = capsys.readouterr().out
    assert "MLP 2-8-8-1 tanh" in out
    assert "netwright" in out and "pytorch" in out


def test_bench_refuses_an_unknown_workload(capsys):
    assert main(["bench", "--workloads", "nonsense"]) != 0
