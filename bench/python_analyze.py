#!/usr/bin/python3
"""darklens analyze's default job written with the usual Python stack, as a
research pipeline would: dpkt reads the capture, pandas builds the per-source
features (AGM, intensity, fingerprints) and the per-cluster profiles,
scikit-learn scales, reduces and clusters (log1p, StandardScaler, PCA(10),
KMeans with k in 2..10 by the silhouette of a 5,000-row sample), and
evaluates against the ground truth (leave-one-out 1-NN, AMI). No HTML report
(that only makes the Python side faster). Used by bench/analyze_vs_python.py.

usage: python_analyze.py CAPTURE GROUND_TRUTH.csv OUTDIR
"""
import json
import os
import socket
import struct
import sys

import dpkt
import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

capture, gt_path, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)

# ---- ingest ------------------------------------------------------------
cols = {k: [] for k in ("ts", "src", "dst", "sport", "dport", "proto", "ttl", "flags", "size", "ipid", "seq")}
with open(capture, "rb") as f:
    for ts, buf in dpkt.pcap.Reader(f):
        ip = dpkt.ethernet.Ethernet(buf).data
        if not isinstance(ip, dpkt.ip.IP):
            continue
        sport = dport = flags = seq = 0
        l4 = ip.data
        if isinstance(l4, dpkt.tcp.TCP):
            sport, dport, flags, seq = l4.sport, l4.dport, l4.flags, l4.seq
        elif isinstance(l4, dpkt.udp.UDP):
            sport, dport = l4.sport, l4.dport
        cols["ts"].append(ts)
        cols["src"].append(struct.unpack(">I", ip.src)[0])
        cols["dst"].append(struct.unpack(">I", ip.dst)[0])
        cols["sport"].append(sport)
        cols["dport"].append(dport)
        cols["proto"].append(ip.p)
        cols["ttl"].append(ip.ttl)
        cols["flags"].append(flags)
        cols["size"].append(ip.len)
        cols["ipid"].append(ip.id)
        cols["seq"].append(seq)
df = pd.DataFrame({k: np.asarray(v, dtype=np.float64 if k == "ts" else np.int64) for k, v in cols.items()})
del cols

# ---- features ----------------------------------------------------------
g = df.groupby("src")
feat = pd.DataFrame({"packets": g.size()})
for field in ("dst", "sport", "dport", "proto", "ttl", "flags", "size"):
    c = df.groupby(["src", field]).size().rename("n").reset_index()
    c = c.sort_values(["src", "n", field], ascending=[True, False, True])
    first = c.drop_duplicates("src").set_index("src")
    feat[field + "_distinct"] = c.groupby("src").size()
    feat[field + "_mode"] = first[field]
    feat[field + "_mode_packets"] = first["n"]
tcp = df["proto"] == 6
combo = np.select([df["flags"] & 0x17 == 0x02, df["flags"] & 0x17 == 0x12, df["flags"] & 0x1f == 0x10,
                   df["flags"] & 0x1f == 0x18, df["flags"] & 0x17 == 0x04, df["flags"] & 0x17 == 0x14,
                   df["flags"] & 0x17 == 0x11], ["syn", "syn_ack", "ack", "psh_ack", "rst", "rst_ack", "fin_ack"],
                  "other_tcp")
feat = feat.join(pd.crosstab(df["src"][tcp], combo[tcp.values]).add_prefix("int_"), how="left")
feat = feat.join(pd.crosstab(df["src"], df["proto"]).add_prefix("int_proto_"), how="left")
port = df["dport"]
service = np.select([port.isin([23, 2323]), port == 22, port.isin([80, 8080]), port == 443, port.isin([139, 445]),
                     port.isin([1433, 3306]), port == 3389, port == 53, port == 123, port == 5060, port < 1024,
                     port < 49152],
                    ["telnet", "ssh", "http", "https", "smb", "sql", "rdp", "dns", "ntp", "sip", "other_system",
                     "other_user"], "ephemeral")
feat = feat.join(pd.crosstab(df["src"], service).add_prefix("int_svc_"), how="left")
feat["int_bytes"] = g["size"].sum()
feat["int_dst24_distinct"] = (df["dst"] // 256).groupby(df["src"]).nunique()
d = df.sort_values(["src", "dst", "sport", "dport", "proto", "ts"])
same = ((d[["src", "dst", "sport", "dport", "proto"]].diff() == 0).all(axis=1)) & (d["ts"].diff() <= 60)
feat["int_flows"] = (~same).groupby(d["src"]).sum()
syn = tcp & (df["flags"] & 0x12 == 0x02)
feat["fp_mirai"] = (syn & (df["seq"] == df["dst"])).groupby(df["src"]).sum() / syn.groupby(df["src"]).sum().replace(0, np.nan)
feat["fp_zmap"] = (df["ipid"] == 54321).groupby(df["src"]).mean()
masscan = tcp & (df["ipid"] == ((df["dst"] ^ df["dport"] ^ df["seq"]) & 0xffff))
feat["fp_masscan"] = masscan.groupby(df["src"]).sum() / tcp.groupby(df["src"]).sum().replace(0, np.nan)
feat = feat.fillna(0).sort_index()
X = feat.to_numpy(dtype=float)

# ---- transform and cluster ---------------------------------------------
Y = PCA(n_components=10, random_state=0).fit_transform(StandardScaler().fit_transform(np.log1p(X)))
best = None
for k in range(2, 11):
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(Y)
    s = metrics.silhouette_score(Y, labels, sample_size=min(5000, len(Y)), random_state=0)
    if best is None or s > best[0]:
        best = (s, k, labels)
silhouette, k, labels = best
feat["cluster"] = labels

# ---- profiles ----------------------------------------------------------
df["cluster"] = df["src"].map(feat["cluster"])
profiles = []
for c, part in df.groupby("cluster"):
    ports = part[part["proto"].isin([6, 17])].groupby(["proto", "dport"]).size().nlargest(10)
    pps = part.groupby("src").size()
    p_syn = (part["proto"] == 6) & (part["flags"] & 0x12 == 0x02)
    profiles.append({
        "cluster": int(c), "sources": int(part["src"].nunique()), "packets": len(part),
        "protocols": (part["proto"].value_counts(normalize=True)).to_dict(),
        "top_ports": [[f"{'tcp' if p == 6 else 'udp'}/{port}", int(n)] for (p, port), n in ports.items()],
        "tcp_flags": part.loc[part["proto"] == 6, "flags"].value_counts(normalize=True).to_dict(),
        "packets_per_source": pps.quantile([0, .25, .5, .75, 1]).tolist(),
        "destinations": int(part["dst"].nunique()),
        "hourly": np.bincount((part["ts"] // 3600 % 24).astype(int), minlength=24).tolist(),
        "mirai": float((p_syn & (part["seq"] == part["dst"])).sum() / max(1, p_syn.sum())),
        "zmap": float((part["ipid"] == 54321).mean())})
profiles.sort(key=lambda p: -p["sources"])

# ---- evaluate ----------------------------------------------------------
gt = pd.read_csv(gt_path)
gt["src"] = [struct.unpack(">I", socket.inet_aton(ip))[0] for ip in gt["ip"]]
truth = feat.index.map(gt.set_index("src")["label"]).to_numpy()
labelled = np.array([isinstance(t, str) for t in truth])
nn = NearestNeighbors(n_neighbors=2).fit(Y)
_, idx = nn.kneighbors(Y[labelled])
pred = np.array([truth[j] if isinstance(truth[j], str) else "unknown" for j in idx[:, 1]])
knn_accuracy = float((pred == truth[labelled]).mean())
ami = metrics.adjusted_mutual_info_score(truth[labelled].astype(str), labels[labelled])
sample = np.random.RandomState(0).choice(len(Y), min(5000, len(Y)), replace=False)
per_sample = metrics.silhouette_samples(Y[sample], labels[sample])
per_cluster = {int(c): float(per_sample[labels[sample] == c].mean()) for c in np.unique(labels[sample])}

pd.DataFrame({"source": [socket.inet_ntoa(struct.pack(">I", s)) for s in feat.index], "cluster": labels}).to_csv(
    os.path.join(out, "clusters.csv"), index=False)
json.dump(profiles, open(os.path.join(out, "profiles.json"), "w"), default=str)
json.dump({"sources": len(feat), "clusters": int(k), "silhouette": float(silhouette), "knn_accuracy": knn_accuracy,
           "ami": float(ami), "silhouette_per_cluster": per_cluster}, open(os.path.join(out, "summary.json"), "w"))
