#!/usr/bin/python3
"""darklens serve over real HTTP on loopback, with curl and Python's
urllib: every endpoint, a token, bad input, an oversize body, readers
while classify writes the database, and the refusals at start."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

darklens = sys.argv[1]
results = []


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(args, **kw):
    return subprocess.run([darklens] + args, capture_output=True, **kw)


def start(db, *extra, env=None):
    p = subprocess.Popen([darklens, "serve", "--db", db, "--listen", "127.0.0.1:0", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = p.stdout.readline().decode()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return p, f"http://127.0.0.1:{port}"


def get(url, token=None, timeout=20):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, timeout=30)
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code or 0), body


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    assert run(["synth", "--days", "2", "--sources", "2000", "--seed", "6", "-q", "-o", days]).returncode == 0
    day = [os.path.join(days, f"darknet-2021-05-0{i}.pcap") for i in (1, 2)]
    gt = os.path.join(days, "ground_truth.csv")
    db = os.path.join(tmp, "p.db")
    r = run(["analyze", day[0], "--gt", gt, "--db", db, "-q", "-o", os.path.join(tmp, "a")])
    assert r.returncode == 0, r.stderr
    clusters = {}
    for line in open(os.path.join(tmp, "a", "clusters.csv")).read().splitlines()[1:]:
        src, _, c = line.split(",")
        clusters[src] = int(c)
    labels = dict(line.split(",") for line in open(gt).read().splitlines()[1:])
    labelled = next(s for s in sorted(clusters) if s in labels)

    p, base = start(db)
    code, body = curl(base + "/v1/health")
    expect("curl /v1/health: 200 ok", code == 200 and json.loads(body) == {"status": "ok"}, body)
    code, body = curl(base + "/v1/ip/" + labelled)
    j = json.loads(body)
    expect("curl /v1/ip/ADDR: the label from the ground truth, one window, a pattern with an activity",
           code == 200 and j["label"] == labels[labelled] and j["windows"] == 1 and
           (j["patterns"][0]["activity"] if clusters[labelled] >= 0 else True), body[:300])
    status, ctype, raw = get(base + "/v1/runs")
    runs = json.loads(raw)
    expect("urllib /v1/runs: one analyze run, JSON", status == 200 and ctype.startswith("application/json") and
           [x["kind"] for x in runs] == ["analyze"], raw[:200])
    status, ctype, raw = get(base + "/v1/runs/1/report")
    expect("urllib /v1/runs/1/report: the HTML report", status == 200 and ctype.startswith("text/html") and
           b"<svg" in raw, ctype)
    status, _, raw = get(base + "/v1/patterns")
    pats = json.loads(raw)
    status2, _, raw2 = get(base + f"/v1/patterns/{pats[0]['id']}")
    expect("urllib /v1/patterns and /v1/patterns/ID", status == 200 and status2 == 200 and
           json.loads(raw2)["id"] == pats[0]["id"], raw2[:200])
    status, _, raw = get(base + "/v1/openapi.json")
    expect("urllib /v1/openapi.json: OpenAPI 3", status == 200 and json.loads(raw)["openapi"].startswith("3."))
    status, ctype, raw = get(base + "/")
    expect("urllib /: the lookup page", status == 200 and ctype.startswith("text/html") and b"v1/ip/" in raw)
    for path, want, words in [("/v1/ip/300.1.1.1", 400, "is not an IPv4 or IPv6 address"),
                              ("/v1/ip/203.0.113.250", 404, "is in no stored run"),
                              ("/v1/runs/7", 404, "no run 7"), ("/v1/runs/x", 400, "is not a run id"),
                              ("/v1/../../etc/passwd", 404, "no such resource")]:
        code, body = curl("--path-as-is", base + path)
        expect(f"curl {path}: {want}, a JSON error", code == want and words in json.loads(body)["error"]["message"],
               f"{code} {body[:200]}")
    code, body = curl("-X", "POST", "--data-binary", "@" + day[0], "-H", "Content-Type: application/octet-stream",
                      base + "/v1/runs")
    expect("curl POST of a 2 MB body: refused (413, body over 1 MiB), a JSON error", code == 413 and
           json.loads(body)["error"]["status"] == 413, f"{code} {body[:200]}")
    code, body = curl("-X", "DELETE", base + "/v1/runs/1")
    expect("curl DELETE: 405", code == 405, body)

    # Readers while classify writes the database.
    failures, answers = [], []

    def reader():
        for _ in range(40):
            try:
                s, _, raw = get(base + "/v1/runs")
                n = len(json.loads(raw))
                answers.append(n)
                if s != 200 or n not in (1, 2):
                    failures.append((s, raw[:100]))
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                failures.append(repr(e))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    r = run(["classify", "--db", db, day[1], "--gt", gt, "-q", "-o", os.path.join(tmp, "c")])
    for t in threads:
        t.join()
    status, _, raw = get(base + "/v1/runs")
    expect("6 readers x 40 requests during classify: every answer whole (1 or 2 runs), classify stored",
           r.returncode == 0 and not failures and len(answers) == 240 and len(json.loads(raw)) == 2,
           (r.stderr, failures[:3]))
    day2 = {line.split(",")[0] for line in open(os.path.join(tmp, "c", "assignments.csv")).read().splitlines()[1:]}
    both = next(s for s in sorted(clusters) if s in day2)
    code, body = curl(base + "/v1/ip/" + both)
    j = json.loads(body)
    expect("after classify: an address of both days seen in 2 windows, the classify run in its history",
           code == 200 and j["windows"] == 2 and [h["kind"] for h in j["history"]] == ["analyze", "classify"],
           body[:300])
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    expect("SIGTERM: stops, exit 0, one log line per request", p.returncode == 0 and
           b"GET /v1/health 200" in err, err[-300:])

    # A token.
    token_file = os.path.join(tmp, "token")
    open(token_file, "w").write("t0ken-123\n")
    p, base = start(db, "--token-file", token_file)
    code, body = curl(base + "/v1/runs")
    expect("token: none sent, 401", code == 401 and "needs a token" in body, body)
    code, body = curl("-H", "Authorization: Bearer wrong", base + "/v1/runs")
    expect("token: a wrong one, 401", code == 401 and "not this server's" in body, body)
    code, _ = curl("-H", "Authorization: Bearer t0ken-123", base + "/v1/runs")
    expect("token: the right one, 200", code == 200)
    code, _ = curl(base + "/v1/health")
    expect("token: /v1/health without it, 200", code == 200)
    # Jobs: a capture uploaded with curl, classified, stored, its report served.
    auth = ["-H", "Authorization: Bearer t0ken-123"]
    code, body = curl(*auth, "-X", "POST", "--data-binary", "@" + day[1], "-H",
                      "Content-Type: application/octet-stream", base + "/v1/jobs?kind=classify")
    job = json.loads(body) if code == 202 else {}
    expect("POST /v1/jobs: 202, queued", code == 202 and job.get("status") == "queued", body[:300])
    deadline = time.time() + 120
    while job and job.get("status") in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        code, body = curl(*auth, base + job["href"])
        job = json.loads(body)
    expect("GET /v1/jobs/{id}: done, with its run", job.get("status") == "done" and job.get("run", 0) > 1, job)
    code, body = curl(*auth, base + "/v1/runs/" + str(job.get("run")))
    expect("the job's run is stored: a classify run", code == 200 and json.loads(body)["kind"] == "classify")
    code, _ = curl(*auth, base + job.get("report", "/none"))
    expect("the job's report is served", code == 200)
    octet = ["-H", "Content-Type: application/octet-stream"]
    code, body = curl("-X", "POST", "--data-binary", "@" + day[1], *octet, base + "/v1/jobs?kind=classify")
    expect("POST /v1/jobs without the token: 401", code == 401, body)
    code, body = curl(*auth, base + "/v1/events?since=0")
    expect("GET /v1/events: JSON with events and next", code == 200 and json.loads(body) == {"events": [],
                                                                                              "next": 0}, body)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    p, base = start(db, "--token-file", token_file, "--max-upload", "1K")
    code, body = curl(*auth, "-X", "POST", "--data-binary", "@" + day[1], *octet, base + "/v1/jobs?kind=classify")
    expect("POST /v1/jobs over --max-upload: 413", code == 413, body[:300])
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=20)
    p, base = start(db)
    code, body = curl("-X", "POST", "--data-binary", "@" + day[1], *octet, base + "/v1/jobs?kind=classify")
    expect("POST /v1/jobs on a server without a token: 403, says why", code == 403 and "need a token" in body,
           body[:300])
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=20)
    env = dict(os.environ, DARKLENS_TOKEN="from-env")
    p, base = start(db, env=env)
    code, _ = curl("-H", "Authorization: Bearer from-env", base + "/v1/runs")
    code2, _ = curl(base + "/v1/runs")
    expect("token from $DARKLENS_TOKEN", code == 200 and code2 == 401)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=20)

    # Refusals at start.
    r = run(["serve", "--db", db, "--listen", "0.0.0.0:0"], timeout=20, env={k: v for k, v in os.environ.items()
                                                                              if k != "DARKLENS_TOKEN"})
    expect("serve on 0.0.0.0 without a token: exit 2, says what to give", r.returncode == 2 and
           b"needs a token: --token-file FILE or $DARKLENS_TOKEN" in r.stderr, r.stderr)
    r = run(["serve", "--db", os.path.join(tmp, "none.db")], timeout=20)
    expect("serve a missing database: exit 3, the file named", r.returncode == 3 and
           b"none.db: no such pattern database" in r.stderr, r.stderr)
    r = run(["serve", "--db", db, "--listen", "127.0.0.1"], timeout=20)
    expect("serve --listen without a port: exit 2", r.returncode == 2 and b"expected HOST:PORT" in r.stderr, r.stderr)
    r = run(["serve", "--db", gt], timeout=20)
    expect("serve a file that is not a database: exit 4", r.returncode == 4, r.stderr)
    open(token_file, "w").write("")
    r = run(["serve", "--db", db, "--token-file", token_file], timeout=20)
    expect("serve with an empty token file: exit 4, the file named", r.returncode == 4 and
           b"the token file is empty" in r.stderr, r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"\n     {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
