#!/usr/bin/python3
"""scikit-learn 1.2's answers for the clustering tests: reads X (.npy) and a
JSON list of requests, runs each on X and writes a JSON list of answers.

Requests: {"dbscan": {"eps": E, "min_samples": M}} -> labels;
{"kdistance": K} -> the ascending distances to each row's K-th nearest row
(itself included); {"estimate_bandwidth": Q} -> bandwidth;
{"meanshift": {MeanShift keyword arguments}} -> labels, cluster_centers;
{"agglomerative": {"linkage": L, "n_clusters": K}} -> labels."""
import json
import sys

import numpy
from sklearn.cluster import DBSCAN, AgglomerativeClustering, MeanShift, estimate_bandwidth
from sklearn.neighbors import NearestNeighbors

X = numpy.load(sys.argv[1])
requests = json.load(open(sys.argv[2]))
answers = []
for req in requests:
    (name, arg), = req.items()
    if name == "dbscan":
        m = DBSCAN(eps=arg["eps"], min_samples=arg["min_samples"]).fit(X)
        answers.append({"labels": m.labels_.tolist()})
    elif name == "kdistance":
        d, _ = NearestNeighbors(n_neighbors=arg).fit(X).kneighbors(X)
        answers.append({"curve": numpy.sort(d[:, -1]).tolist()})
    elif name == "estimate_bandwidth":
        answers.append({"bandwidth": float(estimate_bandwidth(X, quantile=arg))})
    elif name == "meanshift":
        m = MeanShift(**arg).fit(X)
        answers.append({"labels": m.labels_.tolist(), "centers": m.cluster_centers_.tolist()})
    elif name == "agglomerative":
        m = AgglomerativeClustering(n_clusters=arg["n_clusters"], linkage=arg["linkage"]).fit(X)
        answers.append({"labels": m.labels_.tolist()})
    else:
        raise SystemExit("unknown request " + name)
json.dump(answers, open(sys.argv[3], "w"))
