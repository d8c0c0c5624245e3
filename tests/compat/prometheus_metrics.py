"""`--metrics FILE` read by the Prometheus text-format parser of `prometheus_client` (PyPI).

Starts `orgpack sandbox --demo --org target`, backs the demo organization up and restores it into
the empty one with `--metrics`, and checks that each file parses with
`prometheus_client.parser.text_string_to_metric_families` and says what the run's `--json` output
says; then a backup that fails (an unknown portal) must record the failure and keep the time of
the last success. Every check prints one line; the run exits non-zero when any check fails.

Run by scripts/compat (which makes the virtual environment with the pinned parser), not by hand.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

PASSWORD = "metrics-" + os.urandom(6).hex()
RESULTS = []


def check(name, cond, detail=""):
    RESULTS.append((name, bool(cond)))
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + (f": {detail}" if not cond and detail else ""))


def samples(path):
    """{(name, frozenset(labels)): value} of the metrics file at `path`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found, name, **labels):
    matches = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls]
    return matches[0] if len(matches) == 1 else None


def main():
    orgpack = sys.argv[1]
    work = tempfile.mkdtemp(prefix="orgpack-metrics-")
    env = dict(os.environ, ORGPACK_SANDBOX_PASSWORD=PASSWORD, ORGPACK_NO_PROGRESS="1")
    env.pop("ORGPACK_JSON", None)
    config = os.path.join(work, "orgpack.toml")
    proc = subprocess.Popen(
        [orgpack, "--json", "sandbox", "--demo", "--org", "target", "--write-config", config],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        text, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"orgpack sandbox exited with {proc.wait()}")
            text += line
            try:
                json.loads(text)
                break
            except ValueError:
                continue
        run_checks(orgpack, config, work, env)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} metrics checks passed")
    sys.exit(1 if failed else 0)


def orgpack_json(orgpack, config, env, *args):
    out = subprocess.run([orgpack, "--config", config, "--json", *args], env=env,
                         capture_output=True, text=True, check=False)
    doc = json.loads(out.stdout) if out.stdout.strip() else None
    return out.returncode, doc, out.stderr


def run_checks(orgpack, config, work, env):
    repo = os.path.join(work, "repo")
    backup_prom = os.path.join(work, "textfile", "orgpack-backup.prom")
    restore_prom = os.path.join(work, "textfile", "orgpack-restore.prom")

    code, doc, err = orgpack_json(orgpack, config, env, "backup", "--from", "demo", "--all",
                                  "--repo", repo, "--metrics", backup_prom)
    check("backup exits 0", code == 0, err)
    found = samples(backup_prom)
    check("backup metrics parse", len(found) > 10, found)
    check("items as the JSON says",
          value(found, "orgpack_backup_items", portal="demo") == doc["items"], found)
    check("exports as the JSON says",
          value(found, "orgpack_backup_exports", portal="demo") == doc["exports"])
    check("bytes stored as the JSON says",
          value(found, "orgpack_backup_bytes_stored", portal="demo") == doc["bytesStored"])
    check("verdict complete",
          value(found, "orgpack_backup_last_run_verdict", verdict="complete") == 1
          and value(found, "orgpack_backup_last_run_verdict", verdict="failed") == 0)
    check("requests counted", (value(found, "orgpack_backup_requests") or 0) > 10)
    check("plan and capture timed",
          value(found, "orgpack_backup_phase_duration_seconds", phase="plan") is not None
          and value(found, "orgpack_backup_phase_duration_seconds", phase="capture") is not None)
    success = value(found, "orgpack_backup_last_success_timestamp_seconds")
    check("last success now", success is not None and abs(success - time.time()) < 120, success)

    code, doc, err = orgpack_json(orgpack, config, env, "restore", repo, "--to", "target",
                                  "--metrics", restore_prom)
    check("restore exits 0", code == 0, err)
    found = samples(restore_prom)
    counts = doc["targets"][0]["counts"]
    check("created as the JSON says",
          value(found, "orgpack_restore_items", target="target", status="created")
          == counts["created"] and counts["created"] > 0, (found, counts))
    check("failed as the JSON says",
          value(found, "orgpack_restore_items", target="target", status="failed")
          == counts["failed"])
    check("target complete", value(found, "orgpack_restore_complete", target="target") == 1)
    check("restore requests counted",
          (value(found, "orgpack_restore_requests", target="target") or 0) > 10)

    time.sleep(1.1)
    code, _, err = orgpack_json(orgpack, config, env, "backup", "--from", "nowhere", "--all",
                                "--repo", repo, "--metrics", backup_prom)
    check("a failing backup exits non-zero", code not in (0, 3), err)
    found = samples(backup_prom)
    check("its verdict is failed",
          value(found, "orgpack_backup_last_run_verdict", portal="nowhere", verdict="failed") == 1,
          found)
    check("the last success is kept",
          value(found, "orgpack_backup_last_success_timestamp_seconds") == success, found)
    last_run = value(found, "orgpack_backup_last_run_timestamp_seconds")
    check("the last run is later", last_run is not None and last_run > success, last_run)


if __name__ == "__main__":
    main()
