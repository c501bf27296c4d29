#!/usr/bin/python3
"""scikit-learn 1.2's metrics for tests/evaluate/metrics_test.cpp: reads X
(.npy), labels (.npy, one row per labeling, int64) and writes, for every
pair (0, j), the agreement scores, and for every labeling with 2..n-1
labels, the internal indices on X, as JSON."""
import json
import sys

import numpy
from sklearn import metrics

X = numpy.load(sys.argv[1])
L = numpy.load(sys.argv[2])
pairs, internal = [], []
for j in range(L.shape[0]):
    t, p = L[0], L[j]
    h, c, v = metrics.homogeneity_completeness_v_measure(t, p)
    pairs.append({"ari": metrics.adjusted_rand_score(t, p), "nmi": metrics.normalized_mutual_info_score(t, p),
                  "ami": metrics.adjusted_mutual_info_score(t, p), "mi": metrics.mutual_info_score(t, p),
                  "homogeneity": h, "completeness": c, "v_measure": v})
    k = len(numpy.unique(p))
    if 2 <= k <= len(p) - 1:
        internal.append({"silhouette": metrics.silhouette_score(X, p),
                         "silhouette_cosine": metrics.silhouette_score(X, p, metric="cosine"),
                         "silhouette_samples": metrics.silhouette_samples(X, p).tolist(),
                         "davies_bouldin": metrics.davies_bouldin_score(X, p),
                         "calinski_harabasz": metrics.calinski_harabasz_score(X, p)})
    else:
        internal.append(None)
json.dump({"pairs": pairs, "internal": internal}, open(sys.argv[3], "w"))
