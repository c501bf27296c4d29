"""darklens from Python: feature tables, clustering, the main job and the
pattern database over the C++ library (docs/python.md).

    import darklens
    df = darklens.features("day.pcap", families="agm,intensity", window="1h")
    labels, summary = darklens.cluster(df, pipeline=darklens.DEFAULT_PIPELINE)
    darklens.evaluate(df, gt="gt.csv", labels=labels)["clusters"]["against_ground_truth"]["ami"]
    run = darklens.analyze("day1.pcap", db="patterns.db", progress=print)
    later = darklens.classify("day2.pcap", db="patterns.db")
    darklens.patterns("patterns.db")

The keyword arguments are the command line's flags with '-' as '_' and the
same defaults (threads: all cores). Errors are darklens.Error (IoError,
FormatError, ParamError, ResourceError) with the messages the command line
prints.
"""
import os

from ._darklens import (DEFAULT_FAMILIES, DEFAULT_MAX_MEMORY, DEFAULT_PIPELINE, Error, FormatError, IoError,
                        ParamError, ResourceError)
from . import _darklens

__all__ = ["features", "cluster", "evaluate", "analyze", "classify", "origins", "patterns", "pattern", "export",
           "DEFAULT_PIPELINE", "DEFAULT_FAMILIES", "DEFAULT_MAX_MEMORY", "Error", "IoError", "FormatError",
           "ParamError", "ResourceError"]


def _paths(paths):
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    return [os.fsdecode(p) for p in paths]


def _path(p):
    return "" if p is None else os.fsdecode(p)


def _list(v):
    if v is None:
        return []
    if isinstance(v, (str, bytes, os.PathLike)):
        return [p for p in os.fsdecode(v).split(",") if p]
    return [os.fsdecode(p) for p in v]


def _feature_args(paths, families, window, prefix, filter, classes, min_packets, validated_only, flow_timeout, vocab,
                  exact_cap, threads, max_memory):
    a = _darklens.FeatureArgs()
    a.paths = _paths(paths)
    a.families = families
    a.window = window
    a.prefix = ",".join(_list(prefix))
    a.filter = filter
    a.classes = classes
    a.min_packets = min_packets
    a.validated_only = validated_only
    a.flow_timeout = flow_timeout
    a.vocab = _path(vocab)
    a.exact_cap = exact_cap
    a.threads = threads
    a.max_memory = "none" if max_memory is None else str(max_memory)
    return a


def _run_args(gt, label_map, signatures, asn_db, geo_db, rdns, resolver, min_class):
    r = _darklens.RunArgs()
    r.gt = _list(gt) if isinstance(gt, (list, tuple)) or gt is None else [os.fsdecode(gt)]
    r.label_map = _path(label_map)
    r.signatures = _path(signatures)
    r.asn_db = _path(asn_db)
    r.geo_db = _path(geo_db)
    r.rdns = rdns
    r.resolver = resolver
    r.min_class = min_class
    return r


def _table(t, frame):
    """A table dict as a DataFrame (source, window_start, features), or
    as it is without pandas or with frame=False."""
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


def features(paths, families="agm", window="24h", prefix=(), filter="", classes="scan,backscatter,other",
             min_packets=1, validated_only=False, flow_timeout=60.0, vocab=None, exact_cap=4096, threads=0,
             max_memory=DEFAULT_MAX_MEMORY, progress=None, frame=True):
    """One row per (source, window) of the captures at `paths` (a path or a
    list; pcap, pcapng, DarkVec CSV, FlowTuple; compressed or not), as
    `darklens features` writes it.

    With pandas and frame=True: a DataFrame with `source`, `window_start`
    (UTC) and one column per feature. Otherwise a dict: `values` (a float64
    rows x columns array in Fortran order, sharing the table's memory),
    `columns`, `kinds`, `sources`, `window_start_ns`.

    progress: called as progress(records, bytes, total_bytes) about once
    per 524,288 records read.
    """
    a = _feature_args(paths, families, window, prefix, filter, classes, min_packets, validated_only, flow_timeout,
                      vocab, exact_cap, threads, max_memory)
    return _table(_darklens.features(a, progress), frame)


def _matrix(X):
    """(float64 Fortran-order array, column names or None, sources or None)
    of a DataFrame from features(), a table dict, or a 2-D array."""
    import numpy as np
    columns = sources = None
    if isinstance(X, dict) and "values" in X:
        columns, sources, X = list(X["columns"]), list(X["sources"]), X["values"]
    elif hasattr(X, "columns") and hasattr(X, "to_numpy"):
        if "source" in X.columns:
            sources = [str(s) for s in X["source"]]
        X = X.drop(columns=[c for c in ("source", "window_start") if c in X.columns])
        columns = [str(c) for c in X.columns]
        X = X.to_numpy(dtype="float64")
    return np.asfortranarray(X, dtype=np.float64), columns, sources


def cluster(X, pipeline=DEFAULT_PIPELINE, threads=0):
    """Clusters the rows of X (a DataFrame from features(), or a 2-D array)
    with a pipeline spec (docs/cluster.md). A DataFrame's feature columns
    keep their kinds: ports, TTLs and addresses become indicator columns,
    as `darklens cluster` does. Returns (labels, summary)."""
    X, columns, _ = _matrix(X)
    return _darklens.cluster(X, pipeline, columns, threads)


def evaluate(X, gt, labels=None, label_map=None, sources=None, k=1, metric="euclidean", scale="zscore",
             categories="indicators", min_class=1, mirai=None, labelled_only=False, include_unknown=False,
             threads=0):
    """`darklens evaluate --json` of a feature table: leave-one-out k-NN of
    the sources labelled by the ground truth `gt` (a path or a list), and
    with `labels` (one cluster label per row, e.g. from cluster()) the
    clusters' agreement with the ground truth (ARI, NMI, AMI, ...) and
    their silhouette, Davies-Bouldin and Calinski-Harabasz scores.

    X: a DataFrame from features() (its `source` column keys the rows), a
    table dict, or a 2-D array with `sources` (one address per row)."""
    X, columns, found = _matrix(X)
    if sources is None:
        sources = found
    if sources is None:
        raise ParamError("evaluate: the rows' source addresses are needed (a DataFrame from features(), or sources=)")
    if columns is None:
        columns = ["c%d" % i for i in range(X.shape[1])]
    o = _darklens.EvaluateOptions()
    o.scale, o.metric, o.categories = scale, metric, categories
    o.k, o.min_class, o.mirai = k, min_class, mirai
    o.labelled_only, o.include_unknown, o.threads = labelled_only, include_unknown, threads
    clusters = None if labels is None else [int(v) for v in labels]
    return _darklens.evaluate(X, columns, [str(s) for s in sources], _run_args(gt, None, None, None, None, 0, "", 1).gt,
                              _path(label_map), clusters, o)


def analyze(paths, out=None, db=None, families=DEFAULT_FAMILIES, window="24h", prefix=(), filter="",
            min_packets=1, pipeline=DEFAULT_PIPELINE, categories="indicators", top=4, gt=None, label_map=None,
            min_class=1, signatures=None, asn_db=None, geo_db=None, rdns=0, resolver="", threads=0,
            max_memory=DEFAULT_MAX_MEMORY, progress=None, frame=True):
    """The main job, as `darklens analyze`: features, clusters, a profile per
    cluster matched to known activity, evaluation (with `gt`) and the
    report. With `out`, its files are written there (all or nothing); with
    `db`, the patterns are stored as a model for classify().

    Returns a dict: `table` (the features, as features() returns them, with
    a `cluster` column in a DataFrame), `labels`, `summary` (summary.json),
    `profiles` (profiles.json), `run` (the stored run's id, or None) and
    `report_html`. progress: called with one line per stage.
    """
    f = _feature_args(paths, families, window, prefix, filter, "scan,backscatter,other", min_packets, False, 60.0,
                      None, 4096, threads, max_memory)
    r = _run_args(gt, label_map, signatures, asn_db, geo_db, rdns, resolver, min_class)
    d = _darklens.analyze(f, r, pipeline, categories, top, _path(out), _path(db), progress)
    d["table"] = _table(d["table"], frame)
    if not isinstance(d["table"], dict):
        d["table"]["cluster"] = d["labels"]
    return d


def classify(paths, db, out=None, model=0, store=True, gt=None, label_map=None, min_class=1, signatures=None,
             asn_db=None, geo_db=None, rdns=0, resolver="", threads=0, max_memory=DEFAULT_MAX_MEMORY, progress=None,
             frame=True):
    """A later window against a stored model, as `darklens classify`: each
    source to the nearest known pattern within its radius, else new (new
    sources clustered into new groups). With `out`, its files are written
    there; with store=False the database is only read.

    Returns a dict: `table` (the features, with `status` "known"/"new",
    `pattern` (the known pattern's id, else 0) and `new_group` (else -1)
    columns in a DataFrame; as arrays beside it otherwise), `summary`
    (classify.json), `profiles`, `run` and `report_html`."""
    r = _run_args(gt, label_map, signatures, asn_db, geo_db, rdns, resolver, min_class)
    d = _darklens.classify(_paths(paths), _path(db), r, model, store, threads,
                           "none" if max_memory is None else str(max_memory), _path(out), progress)
    d["table"] = _table(d["table"], frame)
    if not isinstance(d["table"], dict):
        for c in ("status", "pattern", "new_group"):
            d["table"][c] = d[c]
    return d


def origins(addresses, asn_db=None, geo_db=None, frame=True):
    """Origin AS and country of each address (a list, or a DataFrame's
    `source` column), from the databases analyze's --asn-db and --geo-db
    take (MMDB or CSV of ranges; docs/analyze.md "Origin AS and country").

    A DataFrame (or with frame=False a dict of lists) with `source`, `asn`,
    `as_org`, `country`; missing (None, or <NA> in the DataFrame's integer
    `asn`) where a database does not cover the address or was not given."""
    if hasattr(addresses, "columns") and "source" in addresses.columns:
        addresses = addresses["source"]
    if isinstance(addresses, str):
        addresses = [addresses]
    d = _darklens.origins([str(a) for a in addresses], _path(asn_db), _path(geo_db))
    if not frame:
        return d
    try:
        import pandas as pd
    except ImportError:
        return d
    return pd.DataFrame(d).astype({"asn": "Int64"})  # integers, <NA> where unknown


def patterns(db):
    """The patterns of a pattern database, opened read-only: a list of
    dicts (id, name, model_run, first_run, cluster, sources, packets,
    radius, profile)."""
    return _darklens.patterns(_path(db))


def pattern(db, id):
    """One pattern, whole, as `darklens patterns show` prints it: profile,
    centroid, radius and its sightings run by run."""
    return _darklens.pattern(_path(db), id)


def export(db):
    """The whole database as `darklens patterns export` writes it: schema
    version, every run (options, columns, fitted transforms, summary) and
    every pattern."""
    return _darklens.export(_path(db))
