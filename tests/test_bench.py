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


def test_first_step_of_an_example_project_is_timed_in_a_fresh_process():
    """The warm-start measure of an example: a child process loads the project, trains
    until its first step ends and stops there (it would run 30 epochs otherwise)."""
    import time

    from compute.bench import first_step_times

    before = time.time()
    times = first_step_times(["example:xor_mlp"], threads=1, cold=False)
    seconds = times["example:xor_mlp"]["netwright"]
    assert set(times["example:xor_mlp"]) == {"netwright"}       # PyTorch has no projects
    assert 0 < seconds < time.time() - before
