"""darklens from Python: feature tables, clustering and the pattern database
over the C++ library (docs/python.md).

    import darklens
    df = darklens.features("day.pcap", families="agm,intensity", window="1h")
    labels, summary = darklens.cluster(df, pipeline=darklens.DEFAULT_PIPELINE)
    darklens.patterns("patterns.db")

Errors are darklens.Error (IoError, FormatError, ParamError, ResourceError)
with the messages the command line prints.
"""
import os

from ._darklens import (DEFAULT_PIPELINE, Error, FormatError, IoError, ParamError, ResourceError, patterns)
from . import _darklens

__all__ = ["features", "cluster", "patterns", "DEFAULT_PIPELINE", "Error", "IoError", "FormatError", "ParamError",
           "ResourceError"]


def features(paths, families="agm", window="24h", prefix=(), filter="", classes="scan,backscatter,other", threads=1,
             frame=True):
    """One row per (source, window) of the captures at `paths` (a path or a
    list; pcap, pcapng, DarkVec CSV, FlowTuple; compressed or not).

    With pandas and frame=True: a DataFrame with `source`, `window_start`
    (UTC) and one column per feature. Otherwise a dict: `values` (a float64
    rows x columns array in Fortran order, sharing the table's memory),
    `columns`, `kinds`, `sources`, `window_start_ns`.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    if isinstance(prefix, str):
        prefix = [p for p in prefix.split(",") if p]
    t = _darklens.features([os.fsdecode(p) for p in paths], families, window, [str(p) for p in prefix], filter,
                           classes, threads)
    if not frame:
        return t
    try:
        import pandas as pd
    except ImportError:
        return t
    df = pd.DataFrame(t["values"], columns=t["columns"], copy=False)
    df.insert(0, "window_start", pd.to_datetime(t["window_start_ns"], unit="ns", utc=True))
    df.insert(0, "source", t["sources"])
    df.attrs["kinds"] = dict(zip(t["columns"], t["kinds"]))
    return df


def cluster(X, pipeline=DEFAULT_PIPELINE, threads=0):
    """Clusters the rows of X (a DataFrame from features(), or a 2-D array)
    with a pipeline spec (docs/cluster.md). A DataFrame's feature columns
    keep their kinds: ports, TTLs and addresses become indicator columns,
    as `darklens cluster` does. Returns (labels, summary)."""
    columns = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        X = X.drop(columns=[c for c in ("source", "window_start") if c in X.columns])
        columns = [str(c) for c in X.columns]
        X = X.to_numpy(dtype="float64")
    import numpy as np
    X = np.asfortranarray(X, dtype=np.float64)
    return _darklens.cluster(X, pipeline, columns, threads)
