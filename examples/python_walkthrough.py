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
# darklens's own evaluation gives the same score with leave-one-out
# nearest neighbours beside it (`darklens evaluate --json`):

# %%
ev = darklens.evaluate(df.drop(columns="cluster"), gt=os.path.join(work, "ground_truth.csv"), labels=labels)
print("1-NN accuracy", round(ev["knn"]["accuracy"], 3), "| AMI", round(ev["clusters"]["against_ground_truth"]["ami"], 3))

# %% [markdown]
# ## The main job and the pattern database
#
# `analyze()` is `darklens analyze`: clusters, a profile per cluster matched
# to known activity, the report; with `db` the groups are stored as patterns.
# `classify()` recognises them on a later day. `progress` gets one line per
# stage.

# %%
db = os.path.join(work, "patterns.db")
a1 = darklens.analyze(day1, db=db, progress=lambda line: print("  ", line))
for p in a1["profiles"][:4]:
    acts = p.get("activities") or [{"activity": "UNEXPLAINED"}]
    print("cluster", p["cluster"], p["sources"], "sources:", acts[0]["activity"])
c2 = darklens.classify(day2, db=db)
print(c2["table"]["status"].value_counts().to_dict(), "| patterns back:", c2["summary"]["patterns_back"])
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
