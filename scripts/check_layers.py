#!/usr/bin/python3
"""Checks the layering of the library: every stage (a folder of src/ and
of include/darklens/) includes only its own headers and those of the
stages below it, as declared by the DEPS of its darklens_stage() call in
src/CMakeLists.txt (transitively). Also: each stage's sources are listed in
its own call and nowhere else, the stage graph has no cycle, and the tool,
examples, fuzz targets and benchmarks include only public headers.

    scripts/check_layers.py [--root DIR]

Prints one line per violation and exits 1 when there is any; else prints a
summary and exits 0."""
import argparse
import os
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
root = os.path.abspath(ap.parse_args().root)
errors = []

cmake = open(os.path.join(root, "src", "CMakeLists.txt")).read()
cmake = re.sub(r"#[^\n]*", "", cmake)
stages = {}  # name -> {"SOURCES": [...], "DEPS": [...]}
for m in re.finditer(r"darklens_stage\(\s*(\w+)([^)]*)\)", cmake):
    if m.group(1) == "name":
        continue  # the function's own definition
    fields, key = {"SOURCES": [], "DEPS": []}, None
    for tok in m.group(2).split():
        if tok in ("SOURCES", "DEPS", "PUBLIC_LIBS", "PRIVATE_LIBS"):
            key = tok
        elif key in fields:
            fields[key].append(tok)
    stages[m.group(1)] = fields
if not stages:
    sys.exit("check_layers: no darklens_stage() call found in src/CMakeLists.txt")

for name, f in stages.items():
    for d in f["DEPS"]:
        if d not in stages:
            errors.append(f"src/CMakeLists.txt: stage {name} depends on unknown stage {d}")


def below(name, seen=()):
    """The stages `name` may use: its DEPS, transitively."""
    out = set()
    for d in stages[name]["DEPS"]:
        if d in seen:
            errors.append(f"src/CMakeLists.txt: stages depend on each other in a cycle: {' -> '.join(seen + (d,))}")
            continue
        if d in stages:
            out |= {d} | below(d, seen + (d,))
    return out


allowed = {n: below(n, (n,)) | {n} for n in stages}

# Sources: listed in their own stage's call, each file of src/<stage>/ listed.
listed = {}
for name, f in stages.items():
    for src in f["SOURCES"]:
        listed[src] = name
        if src.split("/")[0] != name:
            errors.append(f"src/CMakeLists.txt: {src} is listed in stage {name}, not in its folder's stage")
for folder in sorted(os.listdir(os.path.join(root, "src"))):
    path = os.path.join(root, "src", folder)
    if not os.path.isdir(path):
        continue
    if folder not in stages:
        errors.append(f"src/{folder}/: a folder that is no stage (no darklens_stage({folder} ...))")
        continue
    for f in sorted(os.listdir(path)):
        if f.endswith(".cpp") and f"{folder}/{f}" not in listed:
            errors.append(f"src/{folder}/{f}: not listed in the SOURCES of stage {folder}")
for folder in sorted(os.listdir(os.path.join(root, "include", "darklens"))):
    if os.path.isdir(os.path.join(root, "include", "darklens", folder)) and folder not in stages:
        errors.append(f"include/darklens/{folder}/: public headers of a stage that does not exist")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
TOP = {"darklens/types.hpp": "core", "darklens/error.hpp": "core"}


def stage_of(inc, own):
    if inc in TOP:
        return TOP[inc]
    m = re.fullmatch(r"darklens/(\w+)/[\w./]+", inc) or re.fullmatch(r"\.\./(\w+)/[\w./]+", inc)
    if m:
        return m.group(1)
    if "/" not in inc:
        return own
    return None


checked = 0
for base in ("src", os.path.join("include", "darklens")):
    for st in sorted(stages):
        folder = os.path.join(root, base, st)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".cpp", ".hpp")):
                continue
            rel = os.path.join(base, st, f)
            for inc in INCLUDE.findall(open(os.path.join(root, rel), errors="replace").read()):
                checked += 1
                target = stage_of(inc, st)
                if target is None:
                    errors.append(f'{rel}: #include "{inc}": not a header of a stage')
                elif target not in stages:
                    errors.append(f'{rel}: #include "{inc}": no stage {target}')
                elif target not in allowed[st]:
                    errors.append(f'{rel}: #include "{inc}": stage {st} may not include stage {target} '
                                  f'(it is not below {st}: add it to DEPS only if the pipeline really flows that way)')

# The shells over the library see only its public headers.
for base in ("apps", "examples", "fuzz", "bench"):
    for dp, _, fs in os.walk(os.path.join(root, base)):
        for f in fs:
            if f.endswith((".cpp", ".hpp")):
                rel = os.path.relpath(os.path.join(dp, f), root)
                for inc in INCLUDE.findall(open(os.path.join(dp, f), errors="replace").read()):
                    checked += 1
                    if inc.startswith("../") or inc.startswith("src/"):
                        errors.append(f'{rel}: #include "{inc}": reaches a private header of the library')

for e in errors:
    print(e)
if errors:
    print(f"check_layers: {len(errors)} violations")
    sys.exit(1)
print(f"check_layers: {len(stages)} stages, {checked} includes, layering holds")
