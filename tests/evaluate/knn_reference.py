#!/usr/bin/python3
"""A brute-force oracle for tests/evaluate/knn_test.cpp, on inputs without
distance ties: neighbours from scikit-learn's NearestNeighbors (brute
force), the vote written out (majority; a tie in votes to the class of the
nearest voter), and the scores from sklearn.metrics. Reads X (.npy), truth
(.npy, -1 = unknown), k, and the mode (all | labelled | all+unknown)."""
import json
import sys

import numpy
from sklearn import metrics
from sklearn.neighbors import NearestNeighbors

X = numpy.load(sys.argv[1])
truth = numpy.load(sys.argv[2])
k, mode = int(sys.argv[3]), sys.argv[4]
K = int(truth.max()) + 1
cls = numpy.where(truth < 0, K, truth)
cand = numpy.arange(len(X)) if mode != "labelled" else numpy.flatnonzero(truth >= 0)
queries = numpy.flatnonzero(truth >= 0) if mode != "all+unknown" else numpy.arange(len(X))
nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(X[cand])
dist, ind = nn.kneighbors(X[queries])
pred = []
for q, i in enumerate(queries):
    voters = [(d, cls[cand[j]]) for d, j in zip(dist[q], ind[q]) if cand[j] != i][:k]
    votes = {}
    for d, c in voters:
        n, near = votes.get(c, (0, numpy.inf))
        votes[c] = (n + 1, min(near, d))
    pred.append(int(sorted(votes.items(), key=lambda cv: (-cv[1][0], cv[1][1], cv[0]))[0][0]))
y = cls[queries]
labels = sorted(set(y.tolist()) | set(pred))
p, r, f, s = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
json.dump({"predicted": pred, "accuracy": metrics.accuracy_score(y, pred),
           "macro_f1": metrics.f1_score(y, pred, average="macro", zero_division=0),
           "labels": labels, "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(),
           "confusion": metrics.confusion_matrix(y, pred, labels=list(range(K + 1))).tolist()},
          open(sys.argv[5], "w"))
