# %% [markdown]
# # darklens from Python: a walk-through
#
# A notebook in the "percent" format (Jupyter with jupytext, VS Code and
# Spyder open it as cells; `python3 examples/python_walkthrough.py` runs it
# whole). It makes a synthetic darknet day with the command-line tool,
# then works on it from Python: the feature table as a pandas DataFrame,
# clustering, the groups against what was planted, and the pattern
# database. docs/python.md explains each step.
#
# Usage: python3 examples/python_walkthrough.py [path/to/darklens]
# (with PYTHONPATH pointing at build/release/python, or after
# `cmake --install`).

# %%
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

import darklens

cli = sys.argv[1] if len(sys.argv) > 1 else "darklens"
work = tempfile.mkdtemp(prefix="darklens-walkthrough-")
subprocess.run([cli, "synth", "--days", "2", "--sources", "1500", "--seed", "3", "-q", "-o", work], check=True)
day1 = os.path.join(work, "darknet-2021-05-01.pcap")
day2 = os.path.join(work, "darknet-2021-05-02.pcap")

# %% [markdown]
# ## One row per source: the feature table
#
# `features()` reads captures (pcap, pcapng, DarkVec CSV, CAIDA FlowTuple;
# compressed or not) and returns a DataFrame: `source`, `window_start`, then
# one column per feature. The numbers stay where darklens computed them.

# %%
df = darklens.features(day1, families="agm,intensity,fingerprints", window="24h")
print(df.shape, "rows x columns")
print(df.sort_values("agm_packets", ascending=False).head(5)[["source", "agm_packets", "agm_dst_port_mode"]])
print("column kinds:", pd.Series(df.attrs["kinds"]).value_counts().to_dict())

# %% [markdown]
# ## Groups of sources
#
# `cluster()` runs a pipeline spec (the same as `darklens cluster
# --pipeline`). On a DataFrame, ports, TTLs and addresses are categories,
# not numbers: they become indicator columns.

# %%
labels, summary = darklens.cluster(df, pipeline=darklens.DEFAULT_PIPELINE)
df["cluster"] = labels
print(summary["clusters"], "clusters; k chosen by", summary["choice"]["rule"] if "choice" in summary else "-")
print(df.groupby("cluster").agg(sources=("source", "size"), packets=("agm_packets", "sum"),
                                port=("agm_dst_port_mode", lambda s: int(s.mode().iloc[0]))))

# %% [markdown]
# ## Against what was planted
#
# `synth` writes the planted group of every source; scikit-learn (when
# installed) scores the agreement.

# %%
truth = pd.read_csv(os.path.join(work, "ground_truth.csv"))
joined = df.merge(truth, left_on="source", right_on=truth.columns[0])
try:
    from sklearn.metrics import adjusted_mutual_info_score
    print("AMI against the planted groups:",
          round(adjusted_mutual_info_score(joined[truth.columns[1]], joined["cluster"]), 3))
except ImportError:
    print("scikit-learn not installed: skipping the score")

# %% [markdown]
# ## The pattern database
#
# `darklens analyze --db` stores each day's groups as patterns; `patterns()`
# reads them back (read-only).

# %%
db = os.path.join(work, "patterns.db")
subprocess.run([cli, "analyze", day1, "--db", db, "-o", os.path.join(work, "a1"), "-q"], check=True)
subprocess.run([cli, "classify", day2, "--db", db, "-o", os.path.join(work, "c2"), "-q"], check=True)
pats = pd.DataFrame(darklens.patterns(db))
print(pats[["id", "sources", "packets"]].head(10))

# %% [markdown]
# Errors are Python exceptions of darklens's kinds, with the messages the
# command line prints:

# %%
try:
    darklens.features(os.path.join(work, "no-such-day.pcap"))
except darklens.IoError as e:
    print("IoError:", e)

# %%
import shutil

shutil.rmtree(work)
