// What the Node compatibility scripts share: one line per check, and the list of outcomes.

import { spawn } from "node:child_process";

/** [name, passed] of every check run so far. */
export const results = [];

/** Run one check: `fn` throws to fail, or returns a detail to print. */
export async function check(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    results.push([name, true]);
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)${detail ? `: ${detail}` : ""}`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL  ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

/** Fail the check with `what` unless `cond`. */
export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/**
 * Start `orgpack sandbox ARGS` and wait for its banner: resolves to `{ sandbox, urls, cert }`
 * (the process; each organization's URL by name; the certificate to trust with `--tls`) once it
 * says it is serving and the URLs of every organization of `orgs` have come (they come on stdout,
 * the rest on stderr: either may be read first), or rejects when it exits or has not started in
 * 60 s.
 */
export function startSandbox(orgpack, args, env, orgs) {
  const sandbox = spawn(orgpack, ["sandbox", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const urls = {};
  let cert = null;
  let serving = false;
  let buffered = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the sandbox did not start in 60 s")), 60000);
    sandbox.on("exit", (code) => reject(new Error(`orgpack sandbox exited with ${code}`)));
    // The banner (URLs, certificate) comes on stdout and stderr alike: read both.
    const read = (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        const url = line.match(/^(https?:\/\/127\.0\.0\.1:\d+\/([\w-]+))$/);
        if (url) urls[url[2]] = url[1];
        const c = line.match(/the certificate to trust is (\S+)/);
        if (c) cert = c[1];
        if (line.startsWith("serving until interrupted")) serving = true;
      }
      if (serving && orgs.every((o) => urls[o])) {
        clearTimeout(timer);
        resolve({ sandbox, urls, cert });
      }
    };
    sandbox.stdout.on("data", read);
    sandbox.stderr.on("data", read);
  });
}
