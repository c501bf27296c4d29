#!/usr/bin/python3
"""darklens embed against the reference word2vec: gensim's Word2Vec
(skip-gram, negative sampling; Debian python3-gensim) trained on the very
corpus darklens writes with --corpus, with the same parameters. The
embeddings cannot be equal bit for bit (different random draws), so the
check is what a user compares: leave-one-out kNN accuracy of the labelled
sources (darklens evaluate, cosine), averaged over three seeds each, must be
within 0.02 of gensim's or better; and the same embedding on any thread
count."""
import json
import os
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []
SEEDS = (1, 2, 3)
GENSIM = r'''
import sys
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
corpus, out, window_start, seed = sys.argv[1:5]
m = Word2Vec(LineSentence(corpus), sg=1, hs=0, negative=5, vector_size=50, window=5, min_count=1, sample=1e-3,
             epochs=10, workers=1, seed=int(seed))
with open(out, "w") as f:
    f.write("source,window_start," + ",".join(f"dv_{i}" for i in range(50)) + "\n")
    for w in sorted(m.wv.key_to_index):
        f.write(w + "," + window_start + "," + ",".join(repr(float(x)) for x in m.wv[w]) + "\n")
'''


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    assert r.returncode == 0, (args, r.stderr)
    return r


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def knn(table, gt, k):
    r = run([darklens, "evaluate", table, "--gt", gt, "--min-class", "5", "--scale", "none", "--metric", "cosine",
             "--labelled-only", "-k", str(k), "--json"])
    return json.loads(r.stdout)["knn"]["accuracy"]


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    run([darklens, "synth", "--profile", "telescope", "--sources", "4000", "--days", "2", "--seed", "5", "-q",
         "-o", days])
    captures = sorted(os.path.join(days, f) for f in os.listdir(days) if f.endswith(".pcap"))
    gt = os.path.join(days, "ground_truth.csv")
    ours, theirs = {1: [], 7: []}, {1: [], 7: []}
    for seed in SEEDS:
        table = os.path.join(tmp, f"ours{seed}.csv")
        corpus = os.path.join(tmp, "corpus.txt")
        run([darklens, "embed", *captures, "--window", "7d", "--seed", str(seed), "-q", "-o", table,
             "--corpus", corpus])
        start = open(table).readlines()[1].split(",")[1]
        ref = os.path.join(tmp, f"gensim{seed}.csv")
        run(["/usr/bin/python3", "-c", GENSIM, corpus, ref, start, str(seed)], env={**os.environ, "PYTHONHASHSEED": "0"})
        for k in (1, 7):
            ours[k].append(knn(table, gt, k))
            theirs[k].append(knn(ref, gt, k))
    for k in (1, 7):
        a, b = sum(ours[k]) / len(SEEDS), sum(theirs[k]) / len(SEEDS)
        print(f"{k}-NN accuracy: darklens {a:.3f} {ours[k]}, gensim {b:.3f} {theirs[k]}")
        expect(f"{k}-NN accuracy within 0.02 of gensim's or better", a >= b - 0.02, (a, b))
        expect(f"{k}-NN accuracy: the embedding finds structure (above 0.3)", a > 0.3, a)
    # Same bits on any thread count; a different seed gives other vectors.
    outs = []
    for t in ("1", "2", "5"):
        out = os.path.join(tmp, f"t{t}.csv")
        run([darklens, "embed", captures[0], "-t", t, "-q", "-o", out])
        outs.append(open(out).read())
    expect("the same table on 1, 2 and 5 threads", outs[0] == outs[1] == outs[2])

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "  " + str(detail)[:600]))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
