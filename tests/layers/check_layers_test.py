#!/usr/bin/python3
"""scripts/check_layers.py catches what it is for: on a copy of the tree
with one planted violation at a time (a stage including a higher stage's
public header, or a private one through ../, a source listed under the
wrong stage or not at all, a cycle of DEPS, the tool reaching a private
header), it exits 1 naming the file and the rule; on the real tree it
passes."""
import os
import shutil
import subprocess
import sys
import tempfile

repo = sys.argv[1]
script = os.path.join(repo, "scripts", "check_layers.py")
results = []


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def check(root):
    return subprocess.run([sys.executable, script, "--root", root], capture_output=True, text=True)


def tree(tmp):
    root = os.path.join(tmp, "t")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("src", "include", "apps"):
        shutil.copytree(os.path.join(repo, d), os.path.join(root, d))
    return root


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def replace(path, old, new):
    s = open(path).read()
    assert old in s, (path, old)
    open(path, "w").write(s.replace(old, new, 1))


r = check(repo)
expect("the real tree's layering holds", r.returncode == 0 and "layering holds" in r.stdout, r.stdout)

with tempfile.TemporaryDirectory() as tmp:
    root = tree(tmp)
    append(os.path.join(root, "src", "features", "options.cpp"), '\n#include "darklens/pipeline/pipeline.hpp"\n')
    r = check(root)
    expect("a lower stage including a higher stage's public header fails",
           r.returncode == 1 and 'src/features/options.cpp: #include "darklens/pipeline/pipeline.hpp": stage features '
           "may not include stage pipeline" in r.stdout, r.stdout)

    root = tree(tmp)
    append(os.path.join(root, "src", "evaluate", "knn.cpp"), '\n#include "../cluster/private.hpp"\n')
    r = check(root)
    expect("a private header of a sibling stage (../cluster/) fails",
           r.returncode == 1 and "stage evaluate may not include stage cluster" in r.stdout, r.stdout)

    root = tree(tmp)
    append(os.path.join(root, "include", "darklens", "ingest", "ingest.hpp"), '\n#include "darklens/features/features.hpp"\n')
    r = check(root)
    expect("a public header including a higher stage fails",
           r.returncode == 1 and "include/darklens/ingest/ingest.hpp" in r.stdout, r.stdout)

    root = tree(tmp)
    replace(os.path.join(root, "src", "CMakeLists.txt"), "features/table_io.cpp", "")
    r = check(root)
    expect("a source of a stage left out of its SOURCES fails",
           r.returncode == 1 and "src/features/table_io.cpp: not listed in the SOURCES of stage features" in r.stdout,
           r.stdout)

    root = tree(tmp)
    replace(os.path.join(root, "src", "CMakeLists.txt"), "report/html.cpp", "")
    replace(os.path.join(root, "src", "CMakeLists.txt"), "SOURCES core/types.cpp", "SOURCES core/types.cpp report/html.cpp")
    r = check(root)
    expect("a source listed under another stage fails",
           r.returncode == 1 and "report/html.cpp is listed in stage core, not in its folder's stage" in r.stdout,
           r.stdout)

    root = tree(tmp)
    replace(os.path.join(root, "src", "CMakeLists.txt"), "SOURCES core/types.cpp",
            "SOURCES core/types.cpp\n  DEPS analyze")
    r = check(root)
    expect("a cycle of stage dependencies fails", r.returncode == 1 and "in a cycle" in r.stdout, r.stdout)

    root = tree(tmp)
    append(os.path.join(root, "apps", "darklens", "main.cpp"), '\n#include "../../src/core/rng.hpp"\n')
    r = check(root)
    expect("the tool reaching a private header fails",
           r.returncode == 1 and "reaches a private header of the library" in r.stdout, r.stdout)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
