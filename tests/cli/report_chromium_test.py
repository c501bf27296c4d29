#!/usr/bin/python3
"""report.html rendered in headless Chromium (Debian's chromium, driven by
chromedriver over the W3C WebDriver protocol with the standard library):
the page loads from a file with the network unused, logs no console error,
every chart is drawn (visible SVG shapes), and the screenshot is not blank.
Then darklens serve's lookup page: an address typed in and looked up shows
its record, and the report served at /v1/runs/1/report draws its charts.
Exit 77 (skipped) when chromium or chromedriver is not installed."""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

darklens = sys.argv[1]
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
    print("skipped: chromium / chromedriver not installed (scripts/setup.sh installs them)")
    sys.exit(77)
results = []


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["value"]


def png_pixels(png):
    """(width, height, distinct RGB colours, share of the most common colour) of an 8-bit RGB/RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    counts = {}
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            key = bytes(line[x:x + 3])
            counts[key] = counts.get(key, 0) + 1
        prev = line
    return w, h, len(counts), max(counts.values()) / (w * h)


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    subprocess.run([darklens, "synth", "--sources", "2000", "--seed", "3", "-o", days, "-q"], check=True)
    out = os.path.join(tmp, "out")
    # A SOM pipeline, so the U-matrix and hit map are drawn too.
    r = subprocess.run([darklens, "analyze", os.path.join(days, "darknet-2021-05-01.pcap"), "--gt",
                        os.path.join(days, "ground_truth.csv"), "--pipeline", "log1p|zscore|som:6x6|kmeans:k=auto",
                        "--db", os.path.join(tmp, "p.db"), "-o", out, "-q"], capture_output=True)
    expect("analyze with a SOM pipeline", r.returncode == 0, r.stderr)
    report = os.path.join(out, "report.html")

    port = free_port()
    driver = subprocess.Popen([DRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        profile = os.path.join(tmp, "chromium-profile")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,2400", f"--user-data-dir={profile}"]}}}}
        session = call(base, "POST", "/session", caps)["sessionId"]
        s = f"/session/{session}"
        try:
            call(base, "POST", s + "/url", {"url": "file://" + report})
            title = call(base, "GET", s + "/title")
            expect("the page loads with its title", title.startswith("darklens analysis"), title)
            charts = call(base, "POST", s + "/execute/sync", {"script": """
                const out = {};
                for (const svg of document.querySelectorAll('svg.chart')) {
                  const id = svg.id || 'unnamed';
                  const box = svg.getBoundingClientRect();
                  const shapes = [...svg.querySelectorAll('rect,circle,polyline')]
                    .filter(e => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
                  out[id] = (out[id] || 0) + (box.width > 0 && box.height > 0 ? shapes.length : 0);
                }
                return out;""", "args": []})
            for chart in ["projection", "confusion", "u_matrix", "hit_map"]:
                expect(f"chart '{chart}' drawn with visible shapes", charts.get(chart, 0) > 3, charts)
            expect("cluster sizes, hourly and silhouette bar charts drawn", charts.get("unnamed", 0) > 30, charts)
            logs = call(base, "POST", s + "/se/log", {"type": "browser"})
            errors = [e for e in logs if e.get("level") in ("SEVERE", "ERROR")]
            expect("no console errors", not errors, errors)
            png = base64.b64decode(call(base, "GET", s + "/screenshot"))
            open(os.path.join(tmp, "shot.png"), "wb").write(png)
            w, h, colours, top = png_pixels(png)
            expect("screenshot is not blank", colours > 20 and top < 0.95, (w, h, colours, top))
            # darklens serve's page in the same browser.
            server = subprocess.Popen([darklens, "serve", "--db", os.path.join(tmp, "p.db"), "--listen",
                                       "127.0.0.1:0", "-q"], stdout=subprocess.PIPE)
            try:
                site = server.stdout.readline().decode().split()[2]  # "listening on http://127.0.0.1:PORT/ ..."
                address = open(os.path.join(out, "clusters.csv")).read().splitlines()[1].split(",")[0]
                call(base, "POST", s + "/url", {"url": site})
                call(base, "POST", s + "/execute/sync", {"script": """
                    document.getElementById('ip').value = arguments[0];
                    document.getElementById('lookup').requestSubmit();""", "args": [address]})
                summary = ""
                for _ in range(100):
                    summary = call(base, "POST", s + "/execute/sync", {
                        "script": "return document.getElementById('summary').textContent;", "args": []})
                    if summary:
                        break
                    time.sleep(0.1)
                expect("serve's page: an address looked up shows its record",
                       summary.startswith(address + ": seen in 1 window(s)"), summary)
                call(base, "POST", s + "/url", {"url": site + "v1/runs/1/report"})
                shapes = call(base, "POST", s + "/execute/sync", {
                    "script": "return document.querySelectorAll('svg.chart rect, svg.chart circle').length;",
                    "args": []})
                expect("the report served at /v1/runs/1/report draws its charts", shapes > 30, shapes)
                logs = call(base, "POST", s + "/se/log", {"type": "browser"})
                errors = [e for e in logs if e.get("level") in ("SEVERE", "ERROR")]
                expect("serve's pages: no console errors", not errors, errors)
            finally:
                server.terminate()
                server.wait(timeout=20)
        finally:
            call(base, "DELETE", s)
    finally:
        driver.terminate()
        driver.wait(timeout=10)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
