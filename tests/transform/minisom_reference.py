#!/usr/bin/python3
"""MiniSom's (2.3) error measures, transcribed with numpy, for
tests/transform/som_test.cpp: reads X (.npy), the unit weights (.npy,
units x features, unit = r * cols + c), rows, cols, topology, and writes
quantization_error, topographic_error and distance_map as JSON.

MiniSom: quantization_error = mean |x - w(bmu(x))|; topographic_error =
share of x whose two best units (argsort of the distances) are not
neighbours: rectangular, grid distance > 1.42; hexagonal, not isclose(1,
distance) between their euclidean positions; distance_map(scaling='sum') =
per unit the sum of |w(u) - w(v)| over its neighbours v (rectangular: the 8
around it; hexagonal: the 6 at distance 1), divided by the maximum."""
import json
import sys

import numpy as np

X = np.load(sys.argv[1])
W = np.load(sys.argv[2])
rows, cols, topology = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
units = rows * cols


def position(u):
    r, c = divmod(u, cols)
    if topology == "rectangular":
        return np.array([r, c], dtype=float)
    return np.array([r * np.sqrt(3) / 2, c + (0.5 if r % 2 else 0.0)])


dist = np.linalg.norm(X[:, None, :] - W[None, :, :], axis=2)  # n x units
order = np.argsort(dist, axis=1, kind="stable")
qe = float(np.mean(dist[np.arange(len(X)), order[:, 0]]))
pos = np.array([position(u) for u in range(units)])
gap = np.linalg.norm(pos[order[:, 0]] - pos[order[:, 1]], axis=1)
if topology == "rectangular":
    te = float(np.mean(gap > 1.42))
else:
    te = float(1 - np.mean(np.isclose(1, gap)))

if topology == "rectangular":
    offsets = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
else:  # the six at distance 1: same row +-1, and two in each adjacent row
    offsets = None
um = np.zeros((rows, cols))
for u in range(units):
    r, c = divmod(u, cols)
    if offsets is not None:
        nbrs = [(r + dr, c + dc) for dr, dc in offsets]
    else:
        shift = 0 if r % 2 else -1  # odd rows sit half a unit to the right
        nbrs = [(r, c - 1), (r, c + 1)] + [(r + dr, c + shift + k) for dr in (-1, 1) for k in (0, 1)]
    for rr, cc in nbrs:
        if 0 <= rr < rows and 0 <= cc < cols:
            um[r, c] += np.linalg.norm(W[u] - W[rr * cols + cc])
um = um / um.max()
json.dump({"quantization_error": qe, "topographic_error": te, "distance_map": um.tolist()}, open(sys.argv[6], "w"))
