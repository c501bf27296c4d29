#!/usr/bin/python3
"""Reference for fit_leiden: the same kNN graph built with scikit-learn's
NearestNeighbors (k + 1, the row itself dropped, links in both directions
adding up) and split by python-igraph's community_leiden (modularity,
weights, resolution), run until stable. Usage: X.npy K RESOLUTION OUT.json"""
import json
import random
import sys

import igraph
import numpy
from sklearn.neighbors import NearestNeighbors

X = numpy.load(sys.argv[1])
k, resolution, out = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
n = X.shape[0]
_, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
weight = {}
for i in range(n):
    mine = [j for j in idx[i] if j != i][:k]
    for j in mine:
        key = (min(i, j), max(i, j))
        weight[key] = weight.get(key, 0) + 1
edges = sorted(weight)
g = igraph.Graph(n=n, edges=edges)
w = [float(weight[e]) for e in edges]
random.seed(0)
part = g.community_leiden(objective_function="modularity", weights=w, resolution_parameter=resolution,
                            n_iterations=-1)
json.dump({"membership": part.membership, "modularity": g.modularity(part.membership, weights=w),
           "links": len(edges)}, open(out, "w"))
