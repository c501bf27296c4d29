#!/usr/bin/python3
"""darklens installed and moved as a user would: `cmake --install` into a
prefix, the installed tool run from there with its shipped data (signature
catalog) found beside it, the binary moved alone (a clear error naming
DARKLENS_DATA_DIR), the variable honoured, `--version` telling the build,
and the Debian package built by CPack holding the tool and its data."""
import os
import shutil
import subprocess
import sys
import tempfile

build, cmake, cpack = sys.argv[1], sys.argv[2], sys.argv[3]
results = []


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(cmd, env=None):
    e = dict(os.environ)
    e.pop("DARKLENS_DATA_DIR", None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, env=e)


with tempfile.TemporaryDirectory() as tmp:
    prefix = os.path.join(tmp, "usr")
    r = run([cmake, "--install", build, "--prefix", prefix])
    expect("cmake --install succeeds", r.returncode == 0, r.stderr)
    tool = os.path.join(prefix, "bin", "darklens")
    data = os.path.join(prefix, "share", "darklens")
    for f in ["signatures.txt", "rdns_rules.txt"]:
        expect(f"installed data: share/darklens/{f}", os.path.isfile(os.path.join(data, f)))
    for f in ["README.md", "CHANGELOG.md", "analyze.md", "cli.md"]:
        expect(f"installed docs: share/doc/darklens/{f}", os.path.isfile(os.path.join(prefix, "share", "doc",
                                                                                       "darklens", f)))

    r = run([tool, "--version"])
    out = r.stdout.decode()
    expect("--version: version, build and the data folder found beside the binary",
           r.returncode == 0 and out.startswith("darklens 0.") and "\nbuild       " in out and
           ("\nallocator   jemalloc (transparent huge pages)\n" in out or "\nallocator   system malloc\n" in out)
           and f"\ndata        {data}\n" in out, out)

    day = os.path.join(tmp, "day")
    r = run([tool, "synth", "--sources", "600", "--seed", "3", "-o", day])
    expect("installed tool: synth", r.returncode == 0, r.stderr)
    pcap = os.path.join(day, "darknet-2021-05-01.pcap")
    r = run([tool, "analyze", pcap, "-q", "-o", os.path.join(tmp, "a1")])
    expect("installed tool: analyze with the shipped signature catalog", r.returncode == 0 and
           os.path.isfile(os.path.join(tmp, "a1", "profiles.json")), r.stderr)

    # The Python module, when the build has one (docs/python.md).
    if os.path.isdir(os.path.join(build, "python", "darklens")):
        site = os.path.join(prefix, "lib", "python3", "dist-packages")
        r = run(["/usr/bin/python3", "-c", "import sys, darklens; t = darklens.features(sys.argv[1], frame=False); "
                 "print(darklens.__file__, t['values'].shape[0])", pcap], {"PYTHONPATH": site})
        expect("installed Python module: import darklens from lib/python3/dist-packages and read a day",
               r.returncode == 0 and r.stdout.decode().startswith(os.path.join(site, "darklens", "__init__.py")) and
               int(r.stdout.split()[-1]) > 500, r.stderr)

    # The binary alone, away from its data.
    lone = os.path.join(tmp, "lone", "bin")
    os.makedirs(lone)
    shutil.copy(tool, lone)
    r = run([os.path.join(lone, "darklens"), "analyze", pcap, "-q", "-o", os.path.join(tmp, "a2")])
    looked = os.path.join(tmp, "lone", "share", "darklens", "signatures.txt")
    expect("a binary moved without its data: exit 3 naming the file, where it looked, and DARKLENS_DATA_DIR",
           r.returncode == 3 and r.stderr.decode() ==
           f"darklens: signatures.txt: shipped data file not found (looked in {looked}); set DARKLENS_DATA_DIR "
           "to the folder that holds it (share/darklens of an installed tree, data/ of the sources)\n"
           and not os.path.exists(os.path.join(tmp, "a2", "summary.json")), r.stderr)
    r = run([os.path.join(lone, "darklens"), "analyze", pcap, "-q", "-o", os.path.join(tmp, "a3")],
            {"DARKLENS_DATA_DIR": data})
    expect("DARKLENS_DATA_DIR points a moved binary at its data", r.returncode == 0, r.stderr)
    r = run([os.path.join(lone, "darklens"), "--version"], {"DARKLENS_DATA_DIR": data})
    expect("--version names the data folder of DARKLENS_DATA_DIR", f"\ndata        {data}\n" in r.stdout.decode(),
           r.stdout)
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    r = run([tool, "analyze", pcap, "-q", "-o", os.path.join(tmp, "a4")], {"DARKLENS_DATA_DIR": empty})
    expect("a DARKLENS_DATA_DIR without the file is an error, not passed over", r.returncode == 3 and
           r.stderr.decode() == f"darklens: signatures.txt: shipped data file not found (looked in "
           f"{empty}/signatures.txt); DARKLENS_DATA_DIR names a folder without it\n", r.stderr)
    r = run([tool, "analyze", pcap, "-q", "--signatures", os.path.join(data, "signatures.txt"), "-o",
             os.path.join(tmp, "a5")], {"DARKLENS_DATA_DIR": empty})
    expect("--signatures given: the shipped data is not needed", r.returncode == 0, r.stderr)

    # The Debian package (dpkg-dev from scripts/setup.sh).
    out = os.path.join(tmp, "deb")
    r = run([cpack, "-G", "DEB", "-B", out, "--config", os.path.join(build, "CPackConfig.cmake")])
    debs = [f for f in os.listdir(out) if f.endswith(".deb")] if r.returncode == 0 else []
    expect("cpack -G DEB builds a package", len(debs) == 1, (r.stdout[-2000:], r.stderr[-2000:]))
    if debs:
        deb = os.path.join(out, debs[0])
        listing = run(["dpkg-deb", "-c", deb]).stdout.decode()
        expect("the package holds the tool and its data", "./usr/bin/darklens" in listing and
               "./usr/share/darklens/signatures.txt" in listing, listing)
        depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.decode()
        expect("the package depends on the libraries the tool links", "libpcap" in depends and
               "libsqlite3" in depends, depends)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
