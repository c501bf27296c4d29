#!/usr/bin/python3
"""darklens embed against gensim's Word2Vec on the same corpus: training
time, peak memory and leave-one-out kNN quality (darklens evaluate, cosine)
of the two embeddings. Figures go to docs/performance.md, "Embeddings".

    bench/embed_vs_gensim.py DARKLENS [--sources N] [--days D] [--threads T]
        [--capture FILE --gt FILE] [--epochs E] [--context C] [--dim D]

Without --capture it makes `synth --profile telescope` days and embeds
them (each day starts from the previous one in darklens; gensim gets the
whole corpus, days one after the other, as one model). The corpus both
train on is the one `darklens embed --corpus` writes.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r


def timed(cmd):
    """Wall seconds and peak RSS (MiB) of one child process."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    peak_kib = int(r.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024.0, r


GENSIM = r'''
import sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
corpus, out, dim, ctx, neg, epochs, sample, threads, seed = sys.argv[1:10]
windows = sys.argv[10].split(",")
t0 = time.perf_counter()
m = Word2Vec(LineSentence(corpus), sg=1, hs=0, negative=int(neg), vector_size=int(dim), window=int(ctx),
             min_count=1, sample=float(sample), epochs=int(epochs), workers=int(threads), seed=int(seed))
train = time.perf_counter() - t0
with open(out, "w") as f:
    f.write("source,window_start," + ",".join(f"dv_{i}" for i in range(int(dim))) + "\n")
    for w in sorted(m.wv.key_to_index):
        f.write(w + "," + windows[-1] + "," + ",".join(repr(float(x)) for x in m.wv[w]) + "\n")
print(train)
'''


def evaluate(darklens, table, gt, k):
    r = run([darklens, "evaluate", table, "--gt", gt, "--min-class", "5", "--scale", "none", "--metric", "cosine",
             "--labelled-only", "-k", str(k), "--json"])
    j = json.loads(r.stdout)["knn"]
    return j["accuracy"], j.get("macro_f1")


def last_window_only(path, out):
    """The rows of the last window of each source (what gensim's one model gives)."""
    rows = {}
    with open(path) as f:
        header = f.readline()
        for line in f:
            src, win, rest = line.split(",", 2)
            if src not in rows or rows[src][0] < win:
                rows[src] = (win, rest)
    with open(out, "w") as f:
        f.write(header)
        for src in sorted(rows):
            f.write(f"{src},{rows[src][0]},{rows[src][1]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("darklens")
    ap.add_argument("--sources", type=int, default=5000)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--capture", nargs="*")
    ap.add_argument("--gt")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--context", type=int, default=5)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--window", default="7d",
                    help="darklens embed --window: 7d (the default) holds the synthetic days in one corpus, as gensim "
                         "gets them; 24h embeds day after day (incrementally)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.capture:
            captures, gt = a.capture, a.gt
        else:
            days = os.path.join(tmp, "days")
            run([a.darklens, "synth", "--profile", "telescope", "--sources", str(a.sources), "--days", str(a.days),
                 "--seed", "3", "-q", "-o", days])
            captures = sorted(os.path.join(days, f) for f in os.listdir(days) if f.endswith(".pcap"))
            gt = os.path.join(days, "ground_truth.csv")
        ours = os.path.join(tmp, "ours.csv")
        corpus = os.path.join(tmp, "corpus.txt")
        params = ["--dim", str(a.dim), "--context", str(a.context), "--negative", "5", "--epochs", str(a.epochs),
                  "--sample", str(a.sample), "--seed", str(a.seed), "-t", str(a.threads), "--window", a.window]
        wall, peak, r = timed([a.darklens, "embed", *captures, "-q", "--timings", "-o", ours, "--corpus", corpus] + params)
        train = float(r.stderr.split("training ")[1].split(" s")[0])
        ours_last = os.path.join(tmp, "ours_last.csv")
        last_window_only(ours, ours_last)
        windows = sorted({line.split(",", 2)[1] for line in open(ours_last).readlines()[1:]})
        theirs = os.path.join(tmp, "gensim.csv")
        g_wall, g_peak, r = timed(["/usr/bin/python3", "-c", GENSIM, corpus, theirs, str(a.dim), str(a.context), "5",
                                   str(a.epochs), str(a.sample), str(a.threads), str(a.seed), ",".join(windows)])
        g_train = float(r.stdout.strip().splitlines()[-1])
        tokens = sum(len(line.split()) for line in open(corpus))
        print(f"corpus: {tokens} tokens, {sum(1 for _ in open(corpus))} sentences; "
              f"dim {a.dim}, context {a.context}, epochs {a.epochs}, {a.threads} threads")
        print("| | wall s (whole run) | training s | peak MiB | 1-NN acc | 1-NN macro-F1 | 7-NN acc |")
        print("|---|---|---|---|---|---|---|")
        for name, table, w, t, p in (("darklens embed", ours_last, wall, train, peak),
                                     ("gensim Word2Vec", theirs, g_wall, g_train, g_peak)):
            acc1, f1 = evaluate(a.darklens, table, gt, 1)
            acc7, _ = evaluate(a.darklens, table, gt, 7)
            print(f"| {name} | {w:.2f} | {t:.2f} | {p:.0f} | {acc1:.3f} | {f1:.3f} | {acc7:.3f} |")
        print(f"training speed-up: {g_train / train:.1f}x; darklens' whole run (reading the captures, writing the "
              f"table) against gensim's training alone: {g_train / wall:.1f}x")


if __name__ == "__main__":
    main()
