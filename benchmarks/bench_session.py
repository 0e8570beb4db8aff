"""Session files at scale: write and read times against np.save / np.load of the same data.

    python benchmarks/bench_session.py [N] [D]     # default 1,000,000 x 2, 200 history entries

Prints the ratios (session / plain .npy) measured in the same run: the session's cost over the
bare copy of its data.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import kmeanspp_means, params_from_means
from gmm_desktop.io.session_file import SessionFile, read_session, write_session


def best(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n=1_000_000, d=2, k=8, entries=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)) + rng.integers(0, 5, size=(n, 1))
    fitter = EMFitter(X, params_from_means(X, kmeanspp_means(X, k, seed=0), "full", 1e-6), tol=0, max_iter=10**6)
    snap = fitter.snapshot
    history = [snap] + [type(snap)(i, snap.log_likelihood - 1.0 / i, 1.0 / i, False, snap.params, n)
                        for i in range(1, entries)]
    sf = SessionFile(X=X, feature_names=[f"x{j}" for j in range(d)], means=snap.params.means,
                     settings={"covariance_type": "full", "tol": 1e-4, "tol_mode": "total", "max_iter": 1000,
                               "reg_covar": 1e-6}, history=history, cursor=entries - 1, view=(0, 1))
    with tempfile.TemporaryDirectory() as tmp:
        npy, session = Path(tmp) / "x.npy", Path(tmp) / "s.gmmsession"
        t_save = best(lambda: np.save(npy, X))
        t_write = best(lambda: write_session(session, sf))
        t_load = best(lambda: np.load(npy))
        t_read = best(lambda: read_session(session))
        size = session.stat().st_size
    print(f"{n:,} x {d}, {entries} history entries of K={k}: file {size / 1e6:.1f} MB "
          f"(data alone {X.nbytes / 1e6:.1f} MB)")
    print(f"write {t_write * 1e3:.0f} ms vs np.save {t_save * 1e3:.0f} ms: {t_write / t_save:.2f}x")
    print(f"read  {t_read * 1e3:.0f} ms vs np.load {t_load * 1e3:.0f} ms: {t_read / t_load:.2f}x")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
