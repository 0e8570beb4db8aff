"""``fit``, ``predict`` and ``select`` with ``--engine dask``: the same files as ``--engine memory``."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from dask_helpers import blobs

from gmm_desktop.cli.main import main

MEANS = "3,3;6,7;10,3"


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    X = blobs(n_per=800)
    path = tmp_path_factory.mktemp("cli") / "blobs.npy"
    np.save(path, X)
    return X, str(path)


def scheduler_of(cluster):
    return cluster.scheduler_address


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_on_a_running_scheduler_writes_the_memory_engines_model(cluster, npy, tmp_path, capsys):
    X, path = npy
    common = [path, "--means", MEANS, "--covariance-type", "diag", "--tol", "1e-3"]
    code, out, _ = run_cli(["fit", *common, "-o", str(tmp_path / "mem.json")], capsys)
    assert code == 0
    code, out, err = run_cli(["fit", *common, "--engine", "dask", "--scheduler", scheduler_of(cluster),
                              "--chunk-rows", "500", "-o", str(tmp_path / "dask.json")], capsys)
    assert code == 0, err
    assert "dask engine" in out and out.count("\n") == 1
    # progress on stderr: one line per iteration with its log-likelihood and time
    lines = [line for line in err.splitlines() if line.startswith("iteration ")]
    mem = json.loads((tmp_path / "mem.json").read_text())
    got = json.loads((tmp_path / "dask.json").read_text())
    assert len(lines) == got["n_iter"] == mem["n_iter"]
    assert "log-likelihood" in lines[0] and lines[0].endswith(" s")
    assert set(got) == set(mem)  # the model file is identical in form
    assert got["data"]["sha256"] == mem["data"]["sha256"] and got["data"]["n_samples"] == len(X)
    for key in ("weights", "means", "covariances", "log_likelihood_trace"):
        np.testing.assert_allclose(got[key], mem[key], rtol=1e-9)
    assert got["settings"]["init"] == "means"
    assert "kept in worker memory" in err  # small data: persisted
    # the saved model predicts the same through both engines
    code, _, err = run_cli(["predict", str(tmp_path / "dask.json"), path, "--engine", "dask", "--scheduler",
                            scheduler_of(cluster), "--chunk-rows", "700", "-o", str(tmp_path / "p_dask.csv")], capsys)
    assert code == 0, err
    code, _, _ = run_cli(["predict", str(tmp_path / "dask.json"), path, "-o", str(tmp_path / "p_mem.csv")], capsys)
    a, b = pd.read_csv(tmp_path / "p_dask.csv"), pd.read_csv(tmp_path / "p_mem.csv")
    assert list(a.columns) == list(b.columns) and len(a) == len(X)
    np.testing.assert_array_equal(a["label"], b["label"])
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-300)


def test_select_spreads_candidates_over_the_workers_and_picks_as_in_memory(cluster, npy, tmp_path, capsys):
    _, path = npy
    common = [path, "--k-min", "2", "--k-max", "4", "--covariance-types", "full,spherical", "--n-init", "2",
              "--tol", "1e-2"]
    code, out_mem, _ = run_cli(["select", *common, "--table", str(tmp_path / "mem.csv"),
                                "-o", str(tmp_path / "mem.json")], capsys)
    assert code == 0
    code, out, err = run_cli(["select", *common, "--engine", "dask", "--scheduler", scheduler_of(cluster),
                              "--table", str(tmp_path / "dask.csv"), "-o", str(tmp_path / "dask.json")], capsys)
    assert code == 0, err
    assert out == out_mem.replace(str(tmp_path / "mem.json"), str(tmp_path / "dask.json"))
    a, b = pd.read_csv(tmp_path / "dask.csv"), pd.read_csv(tmp_path / "mem.csv")
    assert len(a) == 6
    np.testing.assert_allclose(a[["log_likelihood", "bic", "aic"]], b[["log_likelihood", "bic", "aic"]], rtol=1e-12)
    # the restarts really ran as tasks of the cluster: the scheduler knows their prefix
    from distributed import Client

    with Client(cluster, set_as_default=False) as c:
        keys = c.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.task_prefixes])
    assert "gmm-select" in keys


def test_fit_and_select_accelerated_on_the_cluster(cluster, npy, tmp_path, capsys):
    """SQUAREM (the default) runs on the cluster too: fewer passes, the memory engine's model."""
    X, path = npy
    common = [path, "--means", MEANS, "--tol", "1e-6"]
    code, out_mem, _ = run_cli(["fit", *common, "-o", str(tmp_path / "mem.json")], capsys)
    assert code == 0 and "(squarem:" in out_mem
    code, out, err = run_cli(["fit", *common, "--engine", "dask", "--scheduler", scheduler_of(cluster),
                              "--chunk-rows", "500", "-o", str(tmp_path / "dask.json")], capsys)
    assert code == 0, err
    assert "(squarem:" in out
    steps = [int(o.split("(squarem: ")[1].split(" EM steps")[0]) for o in (out_mem, out)]
    assert steps[0] == steps[1]
    mem = json.loads((tmp_path / "mem.json").read_text())
    got = json.loads((tmp_path / "dask.json").read_text())
    assert got["settings"]["accelerate"] == mem["settings"]["accelerate"] == "squarem"
    np.testing.assert_allclose(got["means"], mem["means"], rtol=1e-8)
    code, out, err = run_cli(["select", path, "--k-min", "2", "--k-max", "3", "--n-init", "1", "--engine", "dask",
                              "--scheduler", scheduler_of(cluster), "--accelerate", "squarem", "--dtype", "float32",
                              "-o", str(tmp_path / "sel.json")], capsys)
    assert code == 0, err
    chosen = json.loads((tmp_path / "sel.json").read_text())
    assert chosen["settings"]["accelerate"] == "squarem" and chosen["settings"]["dtype"] == "float32"


def test_fit_with_the_local_cluster_in_a_fresh_process(npy, tmp_path):
    """The one command of the README: no --scheduler, a local cluster started and stopped."""
    _, path = npy
    out = tmp_path / "model.json"
    proc = subprocess.run([sys.executable, "main.py", "fit", path, "--k", "3", "--engine", "dask",
                           "--chunk-rows", "1000", "--init-sample", "1000", "--tol", "1e-2", "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    model = json.loads(out.read_text())
    assert model["n_components"] == 3 and model["settings"]["init_sample"] == 1000
    assert "iteration 1: log-likelihood" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unreachable_scheduler_is_exit_2_and_one_error_line(npy, tmp_path, capsys):
    _, path = npy
    out = tmp_path / "model.json"
    code, stdout, err = run_cli(["fit", path, "--k", "2", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                                 "--scheduler-timeout", "1", "-o", str(out)], capsys)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "tcp://127.0.0.1:9" in err
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["--scheduler", "tcp://127.0.0.1:9"], "only apply with --engine dask"),
    (["--chunk-rows", "10"], "only apply with --engine dask"),
    (["--init-sample", "10"], "only apply with --engine dask"),
])
def test_dask_options_without_the_dask_engine_are_refused(npy, tmp_path, capsys, argv, needle):
    _, path = npy
    code, _, err = run_cli(["fit", path, "--k", "2", *argv, "-o", str(tmp_path / "m.json")], capsys)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_a_file_the_dask_engine_cannot_read_is_one_error_line(cluster, tmp_path, capsys):
    np.savez(tmp_path / "x.npz", X=np.zeros((10, 2)))
    code, _, err = run_cli(["fit", str(tmp_path / "x.npz"), "--k", "2", "--engine", "dask", "--scheduler",
                            scheduler_of(cluster), "-o", str(tmp_path / "m.json")], capsys)
    assert code == 2 and err.startswith("error: ") and ".npy" in err and err.count("\n") == 1
