#!/usr/bin/python3
"""scikit-learn's answers for tests/transform/transform_test.cpp: reads a
matrix (.npy), writes the fitted StandardScaler, MinMaxScaler,
RobustScaler and PCA (3 components; 0.9 of the variance) as JSON."""
import json
import sys

import numpy
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

X = numpy.load(sys.argv[1])
std = StandardScaler().fit(X)
mm = MinMaxScaler().fit(X)
rb = RobustScaler().fit(X)
Z = std.transform(X)
pca = PCA(n_components=3, svd_solver="full").fit(Z)
pca90 = PCA(n_components=0.9, svd_solver="full").fit(Z)
out = {
    "zscore": {"center": std.mean_.tolist(), "scale": std.scale_.tolist(),
               "first_row": Z[0].tolist()},
    # data_range_ keeps 0 for a constant column; 1 / scale_ is what is divided by
    "minmax": {"center": mm.data_min_.tolist(), "scale": (1.0 / mm.scale_).tolist(),
               "first_row": mm.transform(X)[0].tolist()},
    "robust": {"center": rb.center_.tolist(), "scale": rb.scale_.tolist()},
    "pca": {"components": pca.components_.tolist(),
            "explained_variance": pca.explained_variance_.tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "projection_first_rows": pca.transform(Z)[:5].tolist()},
    "pca90_components": int(pca90.n_components_),
}
json.dump(out, open(sys.argv[2], "w"))
