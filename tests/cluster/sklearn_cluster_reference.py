#!/usr/bin/python3
"""scikit-learn's answers for tests/cluster/kmeans_test.cpp: reads X (.npy)
and darklens' labels (.npy), writes KMeans(k, n_init=10) inertia and labels'
agreement, and the silhouette score of darklens' labels, as JSON."""
import json
import sys

import numpy
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

X = numpy.load(sys.argv[1])
ours = numpy.load(sys.argv[2])
k = int(sys.argv[3])
km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
json.dump({"inertia": float(km.inertia_),
           "ari_with_ours": float(adjusted_rand_score(ours, km.labels_)),
           "silhouette_of_ours": float(silhouette_score(X, ours))}, open(sys.argv[4], "w"))
