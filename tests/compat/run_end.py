"""What a backup or restore leaves when it ends: `--metrics FILE`, read by the Prometheus
text-format parser of `prometheus_client` (PyPI), and `--notify URL`, received by a webhook
receiver this script starts.

Starts `orgpack sandbox --demo --org target`, backs the demo organization up and restores it into
the empty one with `--metrics` and `--notify`, and checks that each metrics file parses with
`prometheus_client.parser.text_string_to_metric_families` and says what the run's `--json` output
says, and that the receiver got the summary in the format asked for (JSON, Slack, Teams); then a
backup that fails (an unknown portal) must record the failure, keep the time of the last success
and notify with `--notify-on problems`; a receiver that answers 500 must not fail the backup, and
the warning must not show the webhook's secret path. Every check prints one line; the run exits
non-zero when any check fails.

Run by scripts/compat (which makes the virtual environment with the pinned parser), not by hand.
"""

import http.server
import json
import os
import threading
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


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records every POST: (path, JSON body); answers 500 under /broken/."""

    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append((self.path, json.loads(body)))
        self.send_response(500 if self.path.startswith("/broken/") else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def posted(path):
    return [body for p, body in Receiver.received if p == path]


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
        server, hook = start_receiver()
        try:
            run_checks(orgpack, config, work, env, hook)
        finally:
            server.shutdown()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} checks of metrics and notifications passed")
    sys.exit(1 if failed else 0)


def orgpack_json(orgpack, config, env, *args):
    out = subprocess.run([orgpack, "--config", config, "--json", *args], env=env,
                         capture_output=True, text=True, check=False)
    doc = json.loads(out.stdout) if out.stdout.strip() else None
    return out.returncode, doc, out.stderr


def run_checks(orgpack, config, work, env, hook):
    repo = os.path.join(work, "repo")
    backup_prom = os.path.join(work, "textfile", "orgpack-backup.prom")
    restore_prom = os.path.join(work, "textfile", "orgpack-restore.prom")

    code, doc, err = orgpack_json(orgpack, config, env, "backup", "--from", "demo", "--all",
                                  "--repo", repo, "--metrics", backup_prom,
                                  "--notify", f"{hook}/json", "--notify", f"{hook}/quiet",
                                  "--notify-on", "always")
    check("backup exits 0", code == 0, err)
    sent = posted("/json")
    check("the receiver got one summary", len(sent) == 1, Receiver.received)
    if sent:
        body = sent[0]
        check("the summary says complete",
              body.get("tool") == "orgpack" and body.get("command") == "backup"
              and body.get("verdict") == "complete", body)
        check("the summary's figures are the run's",
              body["details"].get("items") == doc["items"]
              and body["details"].get("snapshot") == doc["snapshot"]
              and body["details"].get("portal") == "demo", body)
        check("the title names the portal and the verdict",
              body.get("title") == "orgpack backup of demo: complete", body)
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
                                  "--metrics", restore_prom, "--notify", f"{hook}/teams",
                                  "--notify-format", "teams")
    check("restore exits 0", code == 0, err)
    sent = posted("/teams")
    card = sent[0]["attachments"][0] if sent and sent[0].get("attachments") else {}
    check("Teams gets an Adaptive Card naming the restore",
          card.get("contentType") == "application/vnd.microsoft.card.adaptive"
          and card["content"]["type"] == "AdaptiveCard"
          and card["content"]["body"][0]["text"] == "orgpack restore of target: complete", sent)
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
                                "--repo", repo, "--metrics", backup_prom,
                                "--notify", f"{hook}/problems", "--notify-on", "problems",
                                "--notify-format", "slack")
    check("a failing backup exits non-zero", code not in (0, 3), err)
    sent = posted("/problems")
    check("problems are notified, in Slack's form",
          len(sent) == 1 and sent[0]["text"].startswith("orgpack backup of nowhere: failed")
          and "error: no portal `nowhere`" in sent[0]["text"]
          and sent[0]["blocks"][0]["type"] == "header", sent)
    found = samples(backup_prom)
    check("its verdict is failed",
          value(found, "orgpack_backup_last_run_verdict", portal="nowhere", verdict="failed") == 1,
          found)
    check("the last success is kept",
          value(found, "orgpack_backup_last_success_timestamp_seconds") == success, found)
    last_run = value(found, "orgpack_backup_last_run_timestamp_seconds")
    check("the last run is later", last_run is not None and last_run > success, last_run)

    # A complete run with --notify-on problems sends nothing; a receiver that fails does not
    # fail the backup, and the warning shows only the webhook's host.
    code, _, err = orgpack_json(orgpack, config, env, "backup", "--from", "demo", "--all",
                                "--repo", repo, "--notify", f"{hook}/quiet",
                                "--notify-on", "problems")
    check("no notification when nothing is wrong", code == 0 and len(posted("/quiet")) == 1,
          (code, err, Receiver.received))
    code, _, err = orgpack_json(orgpack, config, env, "backup", "--from", "demo", "--all",
                                "--repo", repo, "--notify", f"{hook}/broken/T0/B0/SECRET")
    check("a receiver answering 500 does not fail the backup", code == 0, err)
    check("the warning names the host, not the secret path",
          "was not delivered: answered 500" in err and "127.0.0.1" in err
          and "SECRET" not in err, err)
    check("the failing receiver was tried twice", len(posted("/broken/T0/B0/SECRET")) == 2)


if __name__ == "__main__":
    main()
