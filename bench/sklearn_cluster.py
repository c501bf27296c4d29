#!/usr/bin/python3
"""One scikit-learn 1.2 clustering run for bench/cluster_vs_sklearn.py:
usage: sklearn_cluster.py X.npy ALGORITHM PARAMS_JSON LABELS_OUT.npy
Prints a JSON line with the fit time (seconds) and, for k-means, the
inertia; for Mean Shift, the centres."""
import json
import sys
import time

import numpy
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, MeanShift

X = numpy.load(sys.argv[1])
algo, params = sys.argv[2], json.loads(sys.argv[3])
t = time.perf_counter()
if algo == "kmeans":
    m = KMeans(n_clusters=params["k"], n_init=params["n_init"], random_state=0).fit(X)
elif algo == "dbscan":
    m = DBSCAN(eps=params["eps"], min_samples=params["min_samples"]).fit(X)
elif algo == "meanshift":
    m = MeanShift(bandwidth=params["bandwidth"], bin_seeding=params["bin_seeding"]).fit(X)
else:
    m = AgglomerativeClustering(n_clusters=params["k"], linkage=params["linkage"]).fit(X)
out = {"seconds": time.perf_counter() - t}
if algo == "kmeans":
    out["inertia"] = float(m.inertia_)
if algo == "meanshift":
    out["centers"] = m.cluster_centers_.tolist()
numpy.save(sys.argv[4], m.labels_)
print(json.dumps(out))
