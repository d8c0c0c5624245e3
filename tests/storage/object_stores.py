"""Repositories on object storage, against real servers this script starts: moto's S3 server
(PyPI, `moto[server]`) and Azurite, Azure's own emulator (npm).

Starts `orgpack sandbox --demo --org target`, then runs every repository command on `s3://` and
`az://` repositories: init, backup (full and incremental), snapshots, ls, cat, diff, verify
--read-data, export, import (local -> S3 -> Azure), restore into the empty organization straight
from the bucket, prune, doctor; an encrypted repository copied local -> S3 -> Azure (`copy`),
verified at each end, whose objects hold no item id or title. Then what object storage makes hard: two backups into one bucket
at once (both committed), a backup killed mid-upload (the repository verifies, its lock is seen
as stale, prune --break-stale-lock removes what it left), a lock of a live process never broken,
and a backup and a verify through a proxy that answers 503 SlowDown and drops connections
(retried). Every check prints one line; the run exits non-zero when any check fails.

Usage: object_stores.py ORGPACK AZURITE_BLOB (scripts/object-stores makes the environment).
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import boto3
from azure.storage.blob import BlobServiceClient

from faults import Faults

PASSWORD = "objects-" + os.urandom(6).hex()
RESULTS = []
BUCKET = "orgpack-backups"
CONTAINER = "orgpack-backups"
# Azurite's documented development account (public, the same in every emulator).
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==")


def check(name, cond, detail=""):
    RESULTS.append((name, bool(cond)))
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + (f": {detail}" if not cond and detail else ""),
          flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def main():
    orgpack, azurite = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="orgpack-objects-")
    procs = []
    try:
        s3_port, az_port = free_port(), free_port()
        moto_bin = os.path.join(os.path.dirname(sys.executable), "moto_server")
        procs.append(subprocess.Popen([moto_bin, "-H", "127.0.0.1", "-p", str(s3_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(s3_port, procs[-1], "moto_server")
        procs.append(subprocess.Popen(
            [azurite, "--silent", "--skipApiVersionCheck", "--blobHost", "127.0.0.1",
             "--blobPort", str(az_port), "--location", os.path.join(work, "azurite")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(az_port, procs[-1], "azurite-blob")

        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}",
                          aws_access_key_id="test-key", aws_secret_access_key="test-secret",
                          region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        az_endpoint = f"http://127.0.0.1:{az_port}/{AZ_ACCOUNT}"
        az = BlobServiceClient.from_connection_string(
            f"DefaultEndpointsProtocol=http;AccountName={AZ_ACCOUNT};AccountKey={AZ_KEY};"
            f"BlobEndpoint={az_endpoint};").get_container_client(CONTAINER)
        az.create_container()

        env = dict(os.environ, ORGPACK_SANDBOX_PASSWORD=PASSWORD, ORGPACK_NO_PROGRESS="1",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}", AWS_ALLOW_HTTP="true",
                   AWS_ACCESS_KEY_ID="test-key", AWS_SECRET_ACCESS_KEY="test-secret",
                   AWS_DEFAULT_REGION="us-east-1", AZURE_STORAGE_USE_EMULATOR="true",
                   AZURITE_BLOB_STORAGE_URL=f"http://127.0.0.1:{az_port}")
        env.pop("ORGPACK_JSON", None)
        config = os.path.join(work, "orgpack.toml")
        sandbox = subprocess.Popen(
            [orgpack, "--json", "sandbox", "--demo", "--org", "target", "--write-config", config],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        procs.append(sandbox)
        text, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline:
            line = sandbox.stdout.readline()
            if not line:
                raise RuntimeError(f"orgpack sandbox exited with {sandbox.wait()}")
            text += line
            try:
                json.loads(text)
                break
            except ValueError:
                continue
        Run(orgpack, config, env, work, s3, az, s3_port).all()
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} checks of repositories on object "
          "storage passed")
    sys.exit(1 if failed else 0)


class Run:
    def __init__(self, orgpack, config, env, work, s3, az, s3_port):
        self.orgpack, self.config, self.env, self.work = orgpack, config, env, work
        self.s3, self.az, self.s3_port = s3, az, s3_port

    def run(self, *args, env=None, json_out=True):
        cmd = [self.orgpack, "--config", self.config] + (["--json"] if json_out else []) + list(args)
        out = subprocess.run(cmd, env=env or self.env, capture_output=True, text=True,
                             check=False, timeout=600)
        doc = None
        if json_out and out.stdout.strip():
            try:
                doc = json.loads(out.stdout)
            except ValueError:
                doc = None
        return out.returncode, doc, out.stdout, out.stderr

    def cat(self, repo, item, part, env=None):
        out = subprocess.run([self.orgpack, "cat", repo, item, "--part", part],
                             env=env or self.env,
                             capture_output=True, check=False, timeout=120)
        return out.returncode, out.stdout

    def s3_names(self, prefix):
        names = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                       Prefix=prefix + "/"):
            names += [o["Key"][len(prefix) + 1:] for o in page.get("Contents", [])]
        return names

    def s3_index(self, prefix):
        body = self.s3.get_object(Bucket=BUCKET, Key=f"{prefix}/index.json")["Body"].read()
        return json.loads(body)

    def all(self):
        self.commands_on_s3()
        self.mirror_and_restore_from_azure()
        self.encrypted_copies()
        self.concurrent_backups()
        self.killed_backup()
        self.locks_of_live_and_dead_runs()
        self.throttled_and_dropped()

    def commands_on_s3(self):
        repo = f"s3://{BUCKET}/town"
        code, doc, _, err = self.run("init", repo)
        check("init makes a repository under an S3 prefix", code == 0
              and sorted(self.s3_names("town")) == ["index.json", "orgpack-layout"],
              err or self.s3_names("town"))
        code, _, _, err = self.run("init", repo)
        check("init refuses a prefix that holds a repository", code != 0 and "not empty" in err,
              err)
        code, first, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo)
        check("backup into s3:// exits 0", code == 0, err)
        check("its objects are in the bucket, nothing left in a lock",
              any(n.startswith("blobs/sha256/") for n in self.s3_names("town"))
              and not any(n.startswith("locks/") for n in self.s3_names("town")),
              self.s3_names("town")[:10])
        code, second, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo)
        check("a second backup is incremental (nothing exported again)",
              code == 0 and second and second.get("exports") == 0
              and second.get("bytesStored", 1) < first.get("bytesStored", 0), (second, err))
        code, snaps, _, err = self.run("snapshots", repo)
        check("snapshots lists both", code == 0 and len((snaps or {}).get("snapshots", [])) == 2,
              (snaps, err))
        code, items, _, err = self.run("ls", repo)
        check("ls lists the demo organization's items",
              code == 0 and items and len(items.get("items", [])) >= 20, err)
        item = next(i for i in items.get("items", []) if i.get("type") == "Web Map")
        code, _, data, err = self.run("cat", repo, item["id"], "--part", "data", json_out=False)
        check("cat prints a web map's data from the bucket",
              code == 0 and "operationalLayers" in data, err)
        self.web_map = (item["id"], hashlib.sha256(data.encode()).hexdigest())
        code, _, _, err = self.run("diff", repo, first["snapshot"], second["snapshot"])
        check("diff compares two snapshots in the bucket", code == 0, err)
        code, doc, _, err = self.run("verify", "--read-data", repo)
        check("verify --read-data finds no problem", code == 0 and doc and doc.get("ok") is True,
              (doc, err))
        exported = os.path.join(self.work, "town.orgpack")
        code, _, _, err = self.run("export", repo, "-s", "latest", "-o", exported)
        check("export writes a single-file archive from the bucket",
              code == 0 and os.path.getsize(exported) > 1000, err)
        code, doc, _, err = self.run("doctor", "demo", "--repo", repo, "--for", "backup")
        check("doctor reaches the repository and takes its lock",
              code == 0 and any(c.get("check") == "lock" and c.get("status") == "ok"
                                for c in (doc or {}).get("checks", [])), (doc, err))
        code, doc, _, err = self.run("prune", repo, "--keep-last", "1")
        check("prune forgets the older snapshot and keeps what the newer needs",
              code == 0 and len(self.s3_index("town")["snapshots"]) == 1, (doc, err))
        code, doc, _, err = self.run("verify", "--read-data", repo)
        check("the pruned repository verifies", code == 0 and doc.get("ok") is True, err)
        profile_dir = os.path.join(self.work, "aws")
        os.makedirs(profile_dir)
        with open(os.path.join(profile_dir, "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = wrong\n[orgpack]\n"
                    "aws_access_key_id = test-key\naws_secret_access_key = test-secret\n")
        with open(os.path.join(profile_dir, "config"), "w") as f:
            f.write("[profile orgpack]\nregion = us-east-1\n")
        by_profile = {k: v for k, v in self.env.items()
                      if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
        by_profile.update(AWS_PROFILE="orgpack", AWS_SHARED_CREDENTIALS_FILE=os.path.join(
            profile_dir, "credentials"), AWS_CONFIG_FILE=os.path.join(profile_dir, "config"))
        code, snaps, _, err = self.run("snapshots", repo, env=by_profile)
        check("the keys and region of an AWS profile (~/.aws/credentials, AWS_PROFILE) are used",
              code == 0 and len((snaps or {}).get("snapshots", [])) == 1, err)
        bad = dict(self.env, AWS_SECRET_ACCESS_KEY="not-the-secret-" + "x" * 8)
        code, _, _, err = self.run("snapshots", f"s3://missing-bucket-{os.getpid()}/x", env=bad)
        check("a missing bucket is a clear error that shows no credential",
              code != 0 and "missing-bucket" in err and "not-the-secret" not in err
              and "test-key" not in err, err)

    def mirror_and_restore_from_azure(self):
        local = os.path.join(self.work, "local-repo")
        code, first, _, err = self.run("backup", "--from", "demo", "--all", "--repo", local)
        check("a local backup to mirror", code == 0, err)
        code, doc, _, err = self.run("import", local, "--repo", f"s3://{BUCKET}/mirror")
        check("import copies local -> S3", code == 0 and doc.get("blobs", 0) > 0, err)
        code, doc, _, err = self.run("import", f"s3://{BUCKET}/mirror", "--repo",
                                     f"az://{CONTAINER}/mirror")
        check("import copies S3 -> Azure", code == 0 and doc.get("blobs", 0) > 0, err)
        code, doc, _, err = self.run("import", local, "--repo", f"az://{CONTAINER}/mirror")
        check("importing again copies nothing", code == 0 and doc.get("blobs") == 0
              and doc.get("blobsPresent", 0) > 0, doc)
        code, doc, _, err = self.run("verify", "--read-data", f"az://{CONTAINER}/mirror")
        check("the Azure copy verifies", code == 0 and doc.get("ok") is True, err)
        same = True
        code, items, _, _ = self.run("ls", local)
        for item in items.get("items", []):
            for part in ("item", "data"):
                if self.cat(local, item["id"], part) != self.cat(f"az://{CONTAINER}/mirror",
                                                                 item["id"], part):
                    same = False
        check("every item and its data read back byte-identical from Azure", same and items)
        names = [b.name for b in self.az.list_blobs(name_starts_with="mirror/")]
        check("the Azure container holds the repository's layout",
              "mirror/orgpack-layout" in names and "mirror/index.json" in names
              and any(n.startswith("mirror/blobs/sha256/") for n in names), names[:5])
        code, doc, out, err = self.run("restore", f"az://{CONTAINER}/mirror", "--to", "target",
                                       "--journal-dir", self.work)
        restored = (doc or {}).get("targets", [{}])[0] if isinstance(doc, dict) else {}
        check("restore from az:// into the empty organization", code == 0,
              (err + out)[:3000])
        check("the journal of a restore from a bucket goes to --journal-dir",
              os.path.exists(os.path.join(self.work, "mirror.restore-target.sqlite")))
        counts = restored.get("counts", {})
        check("every item was restored from the bucket",
              counts.get("failed", 1) == 0 and counts.get("created", 0) >= 20, counts)

    def encrypted_copies(self):
        env = dict(self.env, ORGPACK_REPOSITORY_PASSPHRASE="a long passphrase " + PASSWORD)
        local = os.path.join(self.work, "sealed-repo")
        code, _, _, err = self.run("init", "--encrypt", local, env=env)
        check("init --encrypt makes an encrypted repository", code == 0, err)
        code, doc, _, err = self.run("backup", "--from", "demo", "--all", "--repo", local, env=env)
        check("a backup into it", code == 0, err)
        code, doc, _, err = self.run("copy", local, f"s3://{BUCKET}/sealed", env=env)
        check("copy makes the S3 copy like the source (encrypted, same keys)",
              code == 0 and doc.get("created") is True and doc.get("blobs", 0) > 0, err)
        code, doc, _, err = self.run("copy", f"s3://{BUCKET}/sealed", f"az://{CONTAINER}/sealed",
                                     env=env)
        check("and S3 -> Azure", code == 0 and doc.get("blobs", 0) > 0, err)
        code, doc, _, err = self.run("copy", local, f"az://{CONTAINER}/sealed", env=env)
        check("copying again moves nothing", code == 0 and doc.get("snapshots") == []
              and doc.get("snapshotsPresent") == 1, doc)
        for repo in (f"s3://{BUCKET}/sealed", f"az://{CONTAINER}/sealed"):
            code, doc, _, err = self.run("verify", "--read-data", repo, env=env)
            check(f"verify --read-data authenticates every byte of {repo}",
                  code == 0 and doc.get("ok") is True, err)
        code, _, _, err = self.run("snapshots", f"az://{CONTAINER}/sealed")
        check("without the passphrase: a clear error", code != 0 and "is encrypted" in err, err)
        wrong = dict(self.env, ORGPACK_REPOSITORY_PASSPHRASE="not it")
        code, _, _, err = self.run("snapshots", f"s3://{BUCKET}/sealed", env=wrong)
        check("with a wrong one: a clear error", code != 0 and "no key" in err, err)
        code, items, _, _ = self.run("ls", local, env=env)
        items = (items or {}).get("items", [])
        secrets = [i["id"] for i in items] + [i["title"] for i in items if len(i["title"]) >= 8]
        stored = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                       Prefix="sealed/"):
            for o in page.get("Contents", []):
                stored.append((o["Key"], self.s3.get_object(Bucket=BUCKET,
                                                            Key=o["Key"])["Body"].read()))
        for b in self.az.list_blobs(name_starts_with="sealed/"):
            stored.append((b.name, self.az.download_blob(b.name).readall()))
        found = [(name, x) for name, body in stored for x in secrets
                 if x.encode() in body or x in name]
        check("no object in S3 or Azure holds an item id or title",
              len(items) >= 20 and len(stored) > 40 and not found, found[:5])
        same = all(self.cat(local, i["id"], "data", env) == self.cat(f"az://{CONTAINER}/sealed",
                                                                    i["id"], "data", env)
                   for i in items)
        check("every item's data reads back byte-identical from the encrypted Azure copy", same)

    def concurrent_backups(self):
        repo = f"s3://{BUCKET}/shared"
        procs = [subprocess.Popen([self.orgpack, "--config", self.config, "--json", "backup",
                                   "--from", "demo", "--all", "--full", "--repo", repo,
                                   "--tag", f"machine-{n}"],
                                  env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for n in (1, 2)]
        outs = [p.communicate(timeout=600) for p in procs]
        codes = [p.returncode for p in procs]
        ids = [json.loads(o[0]).get("snapshot") if o[0].strip() else None for o in outs]
        check("two backups into one prefix at once both exit 0", codes == [0, 0],
              [o[1][-500:] for o in outs])
        index = [e["id"] for e in self.s3_index("shared")["snapshots"]]
        check("both snapshots are committed in the index", all(i in index for i in ids)
              and len(index) == 2, (ids, index))
        code, doc, _, err = self.run("verify", "--read-data", repo)
        check("the shared repository verifies", code == 0 and doc.get("ok") is True, err)

    def killed_backup(self):
        repo = f"s3://{BUCKET}/killed"
        faults = Faults(self.s3_port)
        faults.delay = 0.05
        slow = dict(self.env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{faults.port}")
        code, _, _, err = self.run("init", repo)
        proc = subprocess.Popen([self.orgpack, "--config", self.config, "--json", "backup",
                                 "--from", "demo", "--all", "--repo", repo], env=slow,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(1 for n in self.s3_names("killed") if n.startswith("blobs/")) >= 3:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        faults.server.shutdown()
        check("the backup was killed mid-upload, before its commit",
              self.s3_index("killed")["snapshots"] == []
              and any(n.startswith("blobs/") for n in self.s3_names("killed")),
              self.s3_names("killed")[:5])
        check("its lock object is left behind",
              any(n.startswith("locks/") for n in self.s3_names("killed")))
        code, doc, _, err = self.run("verify", "--read-data", repo)
        check("the repository it left verifies", code == 0 and doc.get("ok") is True, err)
        code, _, _, err = self.run("prune", repo, "--keep-last", "1")
        check("prune refuses while the killed run's lock is there, and says it is stale",
              code != 0 and "locked" in err and "stale" in err, err)
        code, doc, _, err = self.run("prune", repo, "--keep-last", "1", "--break-stale-lock")
        check("prune --break-stale-lock removes the lock and the unreferenced objects",
              code == 0 and not any(n.startswith(("blobs/", "locks/", "snapshots/"))
                                    for n in self.s3_names("killed")),
              (err, self.s3_names("killed")[:5]))
        code, doc, _, err = self.run("verify", "--read-data", repo)
        check("and the repository still verifies", code == 0 and doc.get("ok") is True, err)
        code, doc, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo)
        check("the next backup into it completes", code == 0, err)

    def locks_of_live_and_dead_runs(self):
        repo = f"s3://{BUCKET}/town"
        now = time.time()

        def stamp(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        live = {"kind": "writer", "purpose": "backup", "host": "other-machine", "pid": 4242,
                "created": stamp(now - 60), "refreshed": stamp(now - 60)}
        self.s3.put_object(Bucket=BUCKET, Key="town/locks/live.json", Body=json.dumps(live))
        code, _, _, err = self.run("prune", repo, "--keep-last", "1", "--break-stale-lock")
        check("a live backup's lock on another machine is never broken",
              code != 0 and "other-machine" in err and "locked" in err, err)
        code, _, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo)
        check("a backup runs beside another backup's lock", code == 0, err)
        old = dict(live, refreshed=stamp(now - 7200), kind="exclusive", purpose="prune")
        self.s3.put_object(Bucket=BUCKET, Key="town/locks/live.json", Body=json.dumps(old))
        code, _, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo)
        check("a prune's lock not refreshed for two hours blocks a backup, said stale",
              code != 0 and "stale" in err and "--break-stale-lock" in err, err)
        code, _, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo,
                                   "--break-stale-lock")
        check("backup --break-stale-lock removes it and runs", code == 0
              and "locks/live.json" not in self.s3_names("town"), err)

    def throttled_and_dropped(self):
        repo = f"s3://{BUCKET}/throttled"
        faults = Faults(self.s3_port)
        faults.slow_down, faults.drop = 4, 9
        env = dict(self.env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{faults.port}")
        code, doc, _, err = self.run("backup", "--from", "demo", "--all", "--repo", repo, env=env)
        check("a backup through 503 SlowDown and dropped connections completes", code == 0,
              err[-1500:])
        code, doc, _, err = self.run("verify", "--read-data", repo, env=env)
        check("so does verify --read-data, and the repository is whole",
              code == 0 and doc and doc.get("ok") is True, err[-1500:])
        check("the proxy did throttle and drop",
              faults.slowed >= 5 and faults.dropped >= 2, (faults.slowed, faults.dropped))
        faults.server.shutdown()


if __name__ == "__main__":
    main()
