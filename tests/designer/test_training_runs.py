"""Run names say what changed between runs, so the comparison legend reads by itself."""
from designer.training.runs import RunStore, describe_change, resolved_settings

BASE = {"graph": {"nodes": [{"id": "h", "type": "Dense", "params": {"units": 8}},
                            {"id": "o", "type": "Output", "params": {}}],
                  "edges": [{"source": "h", "target": "o", "port": 0}]},
        "data": {"dataset": "spirals"},
        "training": {"optimizer": {"type": "sgd", "lr": 0.1}, "batch_size": 32}}


def changed(**edits):
    import copy

    d = copy.deepcopy(BASE)
    for path, value in edits.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return d


def test_names_say_what_changed():
    store = RunStore()
    assert store.new_run(BASE).name == "run 1: sgd lr 0.1, batch 32"
    assert store.new_run(changed(training__optimizer__lr=0.01)).name == "run 2: lr 0.1 → 0.01"
    assert store.new_run(changed(training__optimizer__lr=0.01, training__batch_size=1)).name \
        == "run 3: batch 32 → 1"
    assert store.new_run(changed(training__optimizer__lr=0.01, training__batch_size=1)).name \
        == "run 4: same settings"


def test_defaults_are_not_changes_and_graph_edits_are():
    a = resolved_settings(BASE)
    b = resolved_settings(changed(training__epochs=10))          # 10 is the default
    assert describe_change(a, b) == "same settings"
    c = resolved_settings(changed(graph__nodes=[{"id": "h", "type": "Dense",
                                                 "params": {"units": 16}},
                                                {"id": "o", "type": "Output", "params": {}}]))
    assert describe_change(a, c) == "h.units 8 → 16"
    d = resolved_settings(changed(training__optimizer={"type": "adam", "lr": 0.1}))
    assert describe_change(a, d).startswith("optimizer sgd → adam")
    e = resolved_settings(changed(training__gradient_clip={"norm": 1.0}))
    assert describe_change(a, e) == "clip off → norm 1"


def test_many_changes_are_summarised_and_old_runs_dropped():
    store = RunStore(keep=3)
    store.new_run(BASE)
    many = changed(training__optimizer={"type": "adam", "lr": 0.5, "beta1": 0.8},
                   training__batch_size=4, training__seed=3, training__epochs=2)
    assert store.new_run(many).name.endswith("more")
    for _ in range(3):
        store.new_run(BASE)
    assert len(store) == 3 and store.runs[0].name.startswith("run 3")
    store.clear()                       # the newest has not finished: it stays
    assert len(store) == 1 and store.current.name.startswith("run 5")
    store.current.error = "failed"
    store.clear()
    assert len(store) == 0 and store.current is None
