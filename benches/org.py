#!/usr/bin/env python3
"""Backup and restore of a 1,000-item organization, end to end through the `orgpack` binary,
side by side with the official ArcGIS API for Python's OfflineContentManager.

Prints a table, not a pass/fail: wall time, items/s, MB/s, the peak memory of each client process
and the requests each run made of the sandboxes. Python's standard library only; the official
client runs from the virtual environment scripts/compat makes (skipped when it is missing).

    cargo build --release -p orgpack-cli && ./scripts/compat && python3 benches/org.py

Sandboxes (`orgpack sandbox --data …`, one process per organization, as separate portals would
be; their memory is not counted) serve an organization seeded through the REST API with 1,000 items: 20 File Geodatabases of 1 to 50 MB
and the 20 hosted services published from them, 200 web maps of those services, 100 apps (50 with
resources), 100 dashboards, 200 CSV files and 360 links and documents, shared as organizations
share (30 % private, 30 % with the organization, 10 % public, 30 % with one or two of eight
groups). Then:

1. `orgpack backup --all --repo R` (the first, full backup: every service exported);
2. the same again with nothing changed (must export nothing and download no payload), and
   again after 1 % of the items were edited, with what each added to the repository against the
   first snapshot's manifest;
3. `orgpack restore R --to one` into an empty organization (services rebuilt from their
   definition), and the same with `--republish` into another (services republished from their
   export), the two paths' times side by side;
4. `orgpack restore R --to a --to b --to c` into three empty organizations at once;
5. 1, 3 and 4 again with portals that answer every request LATENCY ms late (`--faults
   delay_ms=…`, the source's set for the one backup through `POST /_sandbox/faults`), as portals
   across a network do: the runs then wait on the portal, not on this machine's two cores, and the
   three-target run shows what the fan-out costs;
6. 1 and the 1-target restore of 3 with the repository in a bucket of moto's S3 server on this
   machine (`s3://…`, when scripts/object-stores has installed it), beside the local directory;
   and both again through a proxy that delays every request to the bucket S3_LATENCY ms, as a
   bucket across a network does;

and, with the official client (arcgis 2.4.4): `gis.content.offline.export_items` of every item of
the same organization (after orgpack's backups, so both see the same content), and
`import_content` of that package into an empty organization, beside orgpack's 1-target restore.
Every sandbox serves HTTPS (the official client needs it).

Environment: ORGPACK_BIN (default release/orgpack in cargo's target directory), ORGPACK_BENCH_ITEMS (default 1000),
ORGPACK_BENCH_MAX_MB (largest payload, default 50), ORGPACK_BENCH_LATENCY_MS (step 5's delay,
default 50; 0 skips step 5), ORGPACK_BENCH_RESTORE_FLAGS (added to every `orgpack restore`, e.g.
`--concurrency 8`), ORGPACK_BENCH_RESTORES (`one`: only the 1-target restore, and no official client, for 100,000 items),
ORGPACK_BENCH_S3 (`0`: no S3 rows; they run when scripts/object-stores has made
target/storage-venv), ORGPACK_BENCH_S3_LATENCY_MS (step 6's delay, default 20; 0 skips those rows), ORGPACK_BENCH_PYTHON (the official client's
interpreter, default target/compat-venv/bin/python), ORGPACK_BENCH_WRAP (a command to run orgpack
under, e.g. `perf record -g -o /tmp/restore.perf --`, to profile a run; its figures then include
the wrapper's cost).

Each row's notes give the CPU seconds orgpack (or the official client) used and, as "portal cpu",
what the sandboxes it talked to used meanwhile: on a 2-core machine the two compete, so a run
whose sum nears twice its wall time is bound by the machine, not by waiting.
"""

import concurrent.futures
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def target_dir():
    """Where cargo builds: `target/` unless CARGO_TARGET_DIR (or a config) says otherwise."""
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)["target_directory"]


BIN = os.environ.get("ORGPACK_BIN") or os.path.join(target_dir(), "release", "orgpack")
ITEMS = int(os.environ.get("ORGPACK_BENCH_ITEMS", "1000"))
MAX_MB = int(os.environ.get("ORGPACK_BENCH_MAX_MB", "50"))
PYTHON = os.environ.get("ORGPACK_BENCH_PYTHON", os.path.join(ROOT, "target", "compat-venv", "bin", "python"))
PASSWORD = "bench-" + uuid.uuid4().hex[:12]
LATENCY_MS = int(os.environ.get("ORGPACK_BENCH_LATENCY_MS", "50"))
RESTORE_FLAGS = os.environ.get("ORGPACK_BENCH_RESTORE_FLAGS", "").split()
# `one`: only the 1-target restore (the --republish and 3-target runs take long at 100,000 items).
RESTORES = os.environ.get("ORGPACK_BENCH_RESTORES", "all")
# moto's S3 server (scripts/object-stores makes it): the first backup and the 1-target restore
# again with the repository in a bucket, beside the local directory. ORGPACK_BENCH_S3=0 skips.
MOTO = os.path.join(ROOT, "target", "storage-venv", "bin", "moto_server")
S3 = os.environ.get("ORGPACK_BENCH_S3", "1") != "0" and os.path.exists(MOTO)
# The same again through a proxy that delays every request to the bucket this long, as a bucket
# across a network does (0 skips those two rows).
S3_LATENCY_MS = int(os.environ.get("ORGPACK_BENCH_S3_LATENCY_MS", "20"))
TARGETS = (["one", "rep", "py", "a", "b", "c"] + (["far", "far_a", "far_b", "far_c"] if LATENCY_MS else [])
           + (["s3"] if S3 else []) + (["s3_far"] if S3 and S3_LATENCY_MS else []))
TLS = ssl.create_default_context()  # trusts each sandbox's certificate once it is started


def call(url, fields, files=None):
    """POST a form (multipart when files are given) and return the JSON answer."""
    fields = dict(fields, f="json")
    if files:
        boundary = uuid.uuid4().hex
        body = bytearray()
        for k, v in fields.items():
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, (name, data) in files.items():
            body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                     'Content-Type: application/octet-stream\r\n\r\n').encode()
            body += data + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        req = urllib.request.Request(url, data=bytes(body), method="POST")
        req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    else:
        req = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=600, context=TLS) as r:
        answer = json.loads(r.read())
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(f"{url}: {answer['error']}")
    return answer


class Org:
    def __init__(self, portal):
        self.rest = portal + "/sharing/rest"
        self.token = call(self.rest + "/generateToken",
                          {"username": "admin", "password": PASSWORD, "referer": "bench"})["token"]
        self.made = []
        self.lock = threading.Lock()

    def post(self, path, fields, files=None):
        return call(f"{self.rest}/{path}", dict(fields, token=self.token), files)

    def add(self, fields, files=None):
        made = self.post("content/users/admin/addItem", fields, files)["id"]
        with self.lock:
            self.made.append(made)
        return made


def padded_gdb(size_mb, seed):
    """City.gdb.zip with an incompressible file inside the .gdb folder, `size_mb` in all."""
    src = zipfile.ZipFile(os.path.join(ROOT, "fixtures", "payloads", "City.gdb.zip"))
    path = os.path.join(tempfile.gettempdir(), f"orgpack-bench-{seed}.gdb.zip")
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for n in src.namelist():
            z.writestr(src.getinfo(n), src.read(n))
        z.writestr("City.gdb/a000000ff.gdbtable.pad", rng.randbytes(max(size_mb << 20, 1) - 30000))
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def seed(org):
    rng = random.Random(7)
    n_services = 20
    services = []  # (item id, url)
    for i in range(n_services):
        size = 1 + (MAX_MB - 1) * i // max(n_services - 1, 1)
        file_id = org.add({"title": f"Data {i}", "type": "File Geodatabase"},
                          {"file": (f"data{i}.gdb.zip", padded_gdb(size, i))})
        published = org.post("content/users/admin/publish", {
            "itemId": file_id, "fileType": "fileGeodatabase",
            "publishParameters": json.dumps({"name": f"Layer{i}"})})["services"][0]
        services.append((published["serviceItemId"], published["serviceurl"]))
    made = 2 * n_services
    maps = []
    for i in range(200):
        chosen = rng.sample(services, rng.randint(1, 3))
        data = {"operationalLayers": [{"id": f"l{j}", "itemId": sid, "url": f"{url}/{j % 2}", "title": f"L{j}"}
                                      for j, (sid, url) in enumerate(chosen)],
                "baseMap": {"baseMapLayers": [], "title": "None"}, "version": "2.31"}
        maps.append(org.add({"title": f"Map {i}", "type": "Web Map", "text": json.dumps(data)}))
    made += 200
    for i in range(100):
        app = org.add({"title": f"App {i}", "type": "Web Mapping Application",
                       "text": json.dumps({"values": {"webmap": rng.choice(maps)}})})
        if i < 50:
            org.post(f"content/users/admin/items/{app}/addResources",
                     {"resourcesPrefix": "config"},
                     {"file": ("settings.json", json.dumps({"map": rng.choice(maps)}).encode())})
            org.post(f"content/users/admin/items/{app}/addResources",
                     {"resourcesPrefix": "images"}, {"file": ("logo.png", rng.randbytes(4096))})
    made += 100
    for i in range(100):
        sid, _ = rng.choice(services)
        data = {"version": 27, "widgets": [
            {"type": "mapWidget", "id": "m", "itemId": rng.choice(maps)},
            {"type": "indicatorWidget", "id": "i", "datasets": [{"type": "serviceDataset", "dataSource": {
                "type": "featureServiceDataSource", "itemId": sid, "layerId": 0}}]}]}
        org.add({"title": f"Dashboard {i}", "type": "Dashboard", "text": json.dumps(data)})
    made += 100
    for i in range(200):
        rows = "\n".join(f"{k},{rng.random():.6f},{rng.random():.6f}" for k in range(200))
        org.add({"title": f"Table {i}", "type": "CSV"},
                {"file": (f"table{i}.csv", f"id,x,y\n{rows}\n".encode())})
    made += 200
    rest = max(ITEMS - made, 0)
    # The links, most of a large organization, four requests at a time (a portal serves several).
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: org.add({"title": f"Link {i}", "type": "Document Link",
                                         "url": f"https://example.com/doc/{i}"}), range(rest)))
    share(org, rng)
    return made + rest


def share(org, rng):
    """Sharing as organizations have it: of the items added, 30 % private, 30 % shared with the
    organization, 10 % public, 30 % with one or two of eight groups (a third of those with the
    organization too)."""
    groups = [org.post("community/createGroup", {"title": f"Team {g}", "access": "org"})["group"]["id"]
              for g in range(8)]
    shares = []
    for n, item in enumerate(list(org.made)):
        kind = n % 10
        if kind < 3:
            continue
        fields = {"everyone": "false", "org": "false", "groups": ""}
        if kind < 6:
            fields["org"] = "true"
        elif kind == 6:
            fields["everyone"] = "true"
        else:
            fields["groups"] = ",".join(rng.sample(groups, rng.randint(1, 2)))
            fields["org"] = "true" if kind == 9 else "false"
        shares.append((item, fields))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: org.post(f"content/users/admin/items/{s[0]}/share", s[1]), shares))


def run(args, command=None, env=None):
    """Run orgpack (or `command`); return (seconds, its peak RSS in MiB, its parsed JSON stdout)."""
    command = command or (os.environ.get("ORGPACK_BENCH_WRAP", "").split() + [BIN, "--json"])
    env = dict(os.environ, ORGPACK_SANDBOX_PASSWORD=PASSWORD, **(env or {}))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        started = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", peak.name] + command + args,
                                stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"{command[0]} {' '.join(args)} exited {proc.returncode}: {err.read().decode()[-2000:]}")
        run.cpu = usage.ru_utime + usage.ru_stime
        lines = out.read().decode().strip().splitlines()
        return seconds, int(peak.read().strip().splitlines()[-1]) / 1024, json.loads(lines[-1] if command[0] == PYTHON else "\n".join(lines))


def start_sandbox(work, name, orgs):
    """One sandbox process (a portal of its own) serving `orgs`; returns (process, portal URLs).
    The `far…` ones answer every request LATENCY_MS late."""
    proc = subprocess.Popen(
        [BIN, "--json", "sandbox", "--tls", "--data", os.path.join(work, f"sandbox-{name}")]
        + sum((["--org", o] for o in orgs), [])
        + (["--faults", f"delay_ms={LATENCY_MS}"] if name.startswith("far") else []),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, ORGPACK_SANDBOX_PASSWORD=PASSWORD))
    text = ""
    while True:
        line = proc.stdout.readline()
        if not line:
            sys.exit("a sandbox stopped before printing its portals")
        text += line.decode()
        try:
            return proc, json.loads(text)["portals"]
        except json.JSONDecodeError:
            continue


PIDS = {}


def portal_cpu(names):
    """CPU seconds the sandboxes serving `names` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for name in names:
        with open(f"/proc/{PIDS[name]}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def set_faults(url, spec):
    """Replace a sandbox's fault plan (`POST /_sandbox/faults`)."""
    root = urllib.parse.urlsplit(url)
    req = urllib.request.Request(f"{root.scheme}://{root.netloc}/_sandbox/faults",
                                 data=urllib.parse.urlencode({"spec": spec}).encode(), method="POST")
    with urllib.request.urlopen(req, context=TLS) as r:
        json.loads(r.read())


def requests_made(urls, names):
    """How many requests the sandboxes serving `names` have received so far."""
    total = 0
    for name in names:
        root = urllib.parse.urlsplit(urls[name])
        with urllib.request.urlopen(f"{root.scheme}://{root.netloc}/_sandbox/stats", context=TLS) as r:
            total += json.loads(r.read())["requests"]
    return total


def repo_size(repo):
    """Bytes of every file of a repository directory."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(repo) for f in files)


def manifest_added(repo, snapshot, parent):
    """Bytes of `snapshot`'s manifest and of its item pages that `parent` does not list: what the
    manifest itself added to the repository (the rest of a nightly's growth is changed content)."""
    def pages(s):
        with open(os.path.join(repo, "snapshots", s.split(":")[-1] + ".json")) as f:
            manifest = json.load(f)
        return {p["digest"] for layer in manifest.get("itemLayers", []) for p in layer["pages"]}
    new = pages(snapshot) - pages(parent)
    total = os.path.getsize(os.path.join(repo, "snapshots", snapshot.split(":")[-1] + ".json"))
    for d in new:
        hexd = d.split(":")[-1]
        total += os.path.getsize(os.path.join(repo, "blobs", "sha256", hexd[:2], hexd))
    return total


def human(n):
    """Bytes as kB or MB."""
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def manifest_size(repo, snapshot):
    """Bytes a snapshot's manifest takes in the repository: its file (`snapshots/<hex>.json`) and,
    for a 2.x manifest, the item pages it lists (as stored, compressed)."""
    path = os.path.join(repo, "snapshots", snapshot.split(":")[-1] + ".json")
    with open(path) as f:
        manifest = json.load(f)
    pages = 0
    for layer in manifest.get("itemLayers", []):
        for page in layer["pages"]:
            hexd = page["digest"].split(":")[-1]
            pages += os.path.getsize(os.path.join(repo, "blobs", "sha256", hexd[:2], hexd))
    return os.path.getsize(path) + pages


def endpoints_made(urls, name):
    """The requests the sandbox serving `name` has received so far, by endpoint."""
    root = urllib.parse.urlsplit(urls[name])
    with urllib.request.urlopen(f"{root.scheme}://{root.netloc}/_sandbox/stats", context=TLS) as r:
        return json.loads(r.read()).get("endpoints", {})


def print_endpoints(title, before, after, items):
    """The endpoints a run asked most, with their requests per item, on stderr."""
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    total = sum(delta.values())
    print(f"{title}: {total} requests, {total / items:.2f} per item; by endpoint:", file=sys.stderr)
    for k, v in sorted(delta.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {v:8d}  {v / items:5.2f}/item  {k}", file=sys.stderr)


def s3_rows(work, config, counted, local_backup, local_restore):
    """The first backup into, and the 1-target restore from, a repository on moto's S3 server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/orgpack-bench",
                                                              method="PUT")).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("moto_server did not start")
                time.sleep(0.2)
        env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ALLOW_HTTP": "true",
               "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
        repo = "s3://orgpack-bench/repo"
        rows = []
        tb, mb, backup, rb = counted(["source"], ["--config", config, "backup", "--from", "source", "--repo", repo, "--all"], env=env)
        rows.append(("first backup into S3 (moto)", tb, mb, backup["items"], backup["bytesIn"], rb,
                     f"{tb / local_backup:.2f}x the local directory's, {backup['exports']} exports, {run.cpu_note}"))
        tr, mr, restored, rr = counted(["s3"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--to", "s3",
                                               "--journal-dir", work], env=env)
        created = sum(x["counts"]["created"] for x in restored["targets"])
        rows.append(("restore from S3 into 1 target", tr, mr, created, None, rr,
                     ("complete" if restored["complete"] else "INCOMPLETE")
                     + f", {tr / local_restore:.2f}x the local directory's, {run.cpu_note}"))
        if S3_LATENCY_MS:
            sys.path.insert(0, os.path.join(ROOT, "tests", "storage"))
            from faults import Faults  # noqa: E402 (tests/storage, standard library only)

            proxy = Faults(port)
            proxy.delay = S3_LATENCY_MS / 1000
            far = dict(env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            try:
                repo = "s3://orgpack-bench/far"
                tb, mb, backup, rb = counted(["source"], ["--config", config, "backup", "--from", "source", "--repo", repo, "--all"], env=far)
                rows.append((f"first backup into S3, {S3_LATENCY_MS} ms away", tb, mb, backup["items"], backup["bytesIn"], rb,
                             f"{proxy.count} bucket requests, at most {proxy.most_in_flight} at once, {tb / local_backup:.2f}x the local directory's, {run.cpu_note}"))
                before = proxy.count
                proxy.most_in_flight = 0
                tr, mr, restored, rr = counted(["s3_far"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--to", "s3_far",
                                                           "--journal-dir", work], env=far)
                created = sum(x["counts"]["created"] for x in restored["targets"])
                rows.append((f"restore from S3, {S3_LATENCY_MS} ms away", tr, mr, created, None, rr,
                             ("complete" if restored["complete"] else "INCOMPLETE")
                             + f", {proxy.count - before} bucket requests, at most {proxy.most_in_flight} at once, {tr / local_restore:.2f}x the local directory's, {run.cpu_note}"))
            finally:
                proxy.server.shutdown()
        return rows
    finally:
        moto.terminate()
        moto.wait()


def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: cargo build --release -p orgpack-cli")
    work = tempfile.mkdtemp(prefix="orgpack-org-bench-")
    config = os.path.join(work, "orgpack.toml")
    # The source and each target are portals of their own, each a sandbox process: three targets
    # at once must not queue behind one sandbox's database.
    sandboxes = []
    urls = {}
    for name in ["source"] + TARGETS:
        if name != "source":
            # One certificate for all: the first sandbox's, which a sandbox finds in its data
            # directory and serves (OpenSSL picks one of several same-named self-signed ones).
            os.makedirs(os.path.join(work, f"sandbox-{name}"))
            for f in ["sandbox-cert.pem", "sandbox-key.pem"]:
                shutil.copy(os.path.join(work, "sandbox-source", f), os.path.join(work, f"sandbox-{name}", f))
        proc, portals = start_sandbox(work, name, [name])
        PIDS[name] = proc.pid
        sandboxes.append(proc)
        urls[name] = portals[0]
    certs = os.path.join(work, "sandbox-source", "sandbox-cert.pem")
    TLS.load_verify_locations(certs)
    with open(config, "w") as f:
        for name, url in urls.items():
            f.write(f'[portal.{name}]\nurl = "{url}"\nusername = "admin"\npassword_env = "ORGPACK_SANDBOX_PASSWORD"\n'
                    f'ca_cert = "{certs}"\n\n')
    official = os.path.exists(PYTHON) and RESTORES != "one"
    if not os.path.exists(PYTHON):
        print(f"{PYTHON} not found: the official client's runs are skipped (./scripts/compat makes it)", file=sys.stderr)
    elif not official:
        # Its export of a 100,000-item organization runs for hours (one request at a time).
        print("ORGPACK_BENCH_RESTORES=one: the official client's runs are skipped", file=sys.stderr)
    try:
        portals = [urls["source"]]
        started = time.monotonic()
        org = Org(portals[0])
        items = seed(org)
        print(f"seeded {items} items in {time.monotonic() - started:.1f}s", file=sys.stderr)
        repo = os.path.join(work, "repo")
        rows = []

        def counted(names, args, **kw):
            before, cpu = requests_made(urls, names), portal_cpu(names)
            result = run(args, **kw)
            run.cpu_note = f"cpu {run.cpu:.1f}s, portal cpu {portal_cpu(names) - cpu:.1f}s"
            return result + (requests_made(urls, names) - before,)

        endpoints = endpoints_made(urls, "source")
        t, m, first, r = counted(["source"], ["--config", config, "backup", "--from", "source", "--repo", repo, "--all"])
        print_endpoints("first backup", endpoints, endpoints_made(urls, "source"), first["items"])
        rows.append(("first backup", t, m, first["items"], first["bytesIn"], r, f"{first['exports']} exports, {run.cpu_note}"))
        first_bytes, first_manifest = repo_size(repo), manifest_size(repo, first["snapshot"])
        t2, m2, second, r2 = counted(["source"], ["--config", config, "backup", "--from", "source", "--repo", repo, "--all"])
        grew = repo_size(repo) - first_bytes
        rows.append(("second backup, nothing changed", t2, m2, second["items"], second["bytesIn"], r2,
                     f"{second['exports']} exports, {second['reused']} reused, {100 * t2 / t:.1f} % of the first, "
                     f"repository +{human(grew)} ({100 * grew / first_manifest:.2f} % of the first manifest, {human(first_manifest)}), {run.cpu_note}"))
        # A nightly after 1 % of the items (not the services) were edited.
        edited = [i for n, i in enumerate(org.made) if n % 100 == 50]
        for item in edited:
            org.post(f"content/users/admin/items/{item}/update", {"snippet": "edited since the last backup"})
        before = repo_size(repo)
        t5, m5, third, r5 = counted(["source"], ["--config", config, "backup", "--from", "source", "--repo", repo, "--all"])
        grew = repo_size(repo) - before
        rows.append((f"nightly, {len(edited)} items changed", t5, m5, third["items"], third["bytesIn"], r5,
                     f"{third['reused']} reused, repository +{human(grew)} "
                     f"({100 * grew / first_manifest:.2f} % of the first manifest), of which the manifest "
                     f"+{human(manifest_added(repo, third['snapshot'], second['snapshot']))}, {run.cpu_note}"))
        py_env = {"SSL_CERT_FILE": certs}
        if official:
            tp, mp, exported, rp = counted(["source"], ["export", urls["source"], os.path.join(work, "offline")],
                                           command=[PYTHON, os.path.join(ROOT, "benches", "arcgis_offline.py")], env=py_env)
            rows.append(("OfflineContentManager export", tp, mp, exported["items"], exported["bytes"], rp,
                         f"{tp / t:.1f}x orgpack's first backup, {exported['listed']} in the package, {run.cpu_note}"))
        t3, m3, one, r3 = counted(["one"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--to", "one", "--journal-dir", work])
        created = sum(x["counts"]["created"] for x in one["targets"])
        rows.append(("restore into 1 target", t3, m3, created, None, r3,
                     ("complete" if one["complete"] else "INCOMPLETE") + f", services rebuilt, {run.cpu_note}"))
        if RESTORES != "one":
            tr, mr, rep, rr = counted(["rep"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--republish", "--to", "rep",
                                              "--journal-dir", work])
            created = sum(x["counts"]["created"] for x in rep["targets"])
            rows.append(("restore into 1 target, --republish", tr, mr, created, None, rr,
                         ("complete" if rep["complete"] else "INCOMPLETE") + f", {tr / t3:.2f}x the rebuild's time, {run.cpu_note}"))
            if official:
                ti, mi, imported, ri = counted(["py"], ["import", urls["py"], exported["package"]],
                                               command=[PYTHON, os.path.join(ROOT, "benches", "arcgis_offline.py")], env=py_env)
                rows.append(("OfflineContentManager import", ti, mi, imported["created"], None, ri,
                             f"{ti / t3:.1f}x orgpack's 1-target restore, {run.cpu_note}"))
            t4, m4, three, r4 = counted(["a", "b", "c"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--to", "a", "--to", "b", "--to", "c",
                                                          "--journal-dir", work])
            created = sum(x["counts"]["created"] for x in three["targets"])
            rows.append(("restore into 3 targets at once", t4, m4, created, None, r4,
                         f"{t4 / t3:.2f}x the time of one" + ("" if three["complete"] else ", INCOMPLETE") + f", {run.cpu_note}"))
        if S3:
            rows += s3_rows(work, config, counted, t, t3)
        if LATENCY_MS:
            set_faults(urls["source"], f"delay_ms={LATENCY_MS}")
            tf, mf, far_backup, rf = counted(["source"], ["--config", config, "backup", "--from", "source",
                                                          "--repo", os.path.join(work, "repo-far"), "--all"])
            set_faults(urls["source"], "none")
            rows.append((f"first backup, {LATENCY_MS} ms away", tf, mf, far_backup["items"], far_backup["bytesIn"], rf,
                         f"{far_backup['exports']} exports, {run.cpu_note}"))
            t5, m5, one, r5 = counted(["far"], ["--config", config, "restore", repo, *RESTORE_FLAGS, "--to", "far", "--journal-dir", work])
            created = sum(x["counts"]["created"] for x in one["targets"])
            rows.append((f"1 target, {LATENCY_MS} ms away", t5, m5, created, None, r5,
                         ("complete" if one["complete"] else "INCOMPLETE") + f", {run.cpu_note}"))
            far = ["far_a", "far_b", "far_c"]
            t6, m6, three, r6 = counted(far, ["--config", config, "restore", repo, *RESTORE_FLAGS, "--journal-dir", work]
                                        + sum((["--to", f] for f in far), []))
            created = sum(x["counts"]["created"] for x in three["targets"])
            rows.append((f"3 targets at once, {LATENCY_MS} ms away", t6, m6, created, None, r6,
                         f"{t6 / t5:.2f}x the time of one" + ("" if three["complete"] else ", INCOMPLETE")
                         + f", {run.cpu_note}"))
    finally:
        for proc in sandboxes:
            proc.terminate()
            proc.wait()
    print(f"orgpack end to end: {items} items, payloads 1-{MAX_MB} MB, {os.cpu_count()} cores; source and targets each a sandbox process of its own, over HTTPS")
    print()
    print(f"{'run':34} {'seconds':>8} {'items/s':>8} {'MB/s':>7} {'peak MiB':>9} {'requests':>9}  notes")
    for name, secs, mem, n, nbytes, reqs, note in rows:
        mbs = f"{nbytes / secs / 1e6:7.1f}" if nbytes is not None else f"{'':7}"
        print(f"{name:34} {secs:8.2f} {n / secs:8.1f} {mbs} {mem:9.0f} {reqs:9}  {note}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
