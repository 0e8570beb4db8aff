"""``select`` on a cluster: every restart of every candidate (K x covariance type x restart) is a task.

The sweep and its choice stay the core's (:func:`gmm_desktop.core.selection.select_model`); this
module only gives it a ``fit_all`` that runs :func:`gmm_desktop.core.selection.fit_job` on the
workers. The data are broadcast to every worker once, so they must fit in a worker's memory (and
the client's); a candidate's EM runs in memory on the worker that took it.
"""

from __future__ import annotations


def spread_fits(client, retries: int = 3):
    """A ``fit_all`` for ``select_model`` that spreads the restarts over ``client``'s workers.

    Results come back in the order of the jobs; all jobs are submitted at once, so the workers
    stay busy while the client waits for the first.
    """
    from gmm_desktop.core.selection import fit_job

    def fit_all(X, jobs, settings):
        data = client.scatter(X, broadcast=True, hash=False)
        futures = [client.submit(fit_job, data, k, ctype, seed, settings, pure=False, retries=retries,
                                 key=f"gmm-select-{k}-{ctype}-{seed}-{id(data)}")
                   for k, ctype, seed in jobs]
        try:
            for f in futures:
                yield f.result()
        finally:
            client.cancel(futures)
            data.release()

    return fit_all
