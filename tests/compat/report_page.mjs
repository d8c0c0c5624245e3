// The HTML report in a real browser: Debian's Chromium, headless, driven by playwright-core (pinned
// in tests/compat/js/package.json), as scripts/compat runs it. A backup of the demo organization
// with one map's data refused, a fan-out restore into two organizations with every hosted service's
// creation refused, and `orgpack report` of the past snapshot each write `--report x.json --report
// x.html`; each page must open with no console error and no request beyond its own file, show the
// JSON report's verdict and figures, sort and filter its items table, draw the failed items, and
// fit a phone's width. One line per check.
//
// Usage: node report_page.mjs path/to/orgpack   (run from the directory holding node_modules;
// ORGPACK_PAGES_KEEP=1 keeps the pages)

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { check, expect, results, startSandbox } from "./checks.mjs";

const orgpack = process.argv[2];

const password = "pages-" + randomBytes(6).toString("hex");
const work = mkdtempSync(join(tmpdir(), "orgpack-pages-"));
const config = join(work, "orgpack.toml");
const repo = join(work, "repo");
const env = { ...process.env, ORGPACK_SANDBOX_PASSWORD: password, ORGPACK_CONFIG: config };

/// Run orgpack to its end; its exit code, stdout and stderr.
function run(...args) {
  const r = spawnSync(orgpack, args, { env, encoding: "utf8", timeout: 300000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const starting = startSandbox(
  orgpack,
  ["--demo", "--org", "target-a", "--org", "target-b", "--write-config", config],
  env,
  ["demo", "target-a", "target-b"],
);
let sandbox = null;
let root = null;

async function faults(spec) {
  const r = await fetch(`${root}/_sandbox/faults`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ spec }),
  });
  expect(r.ok, `setting faults ${spec}: ${r.status}`);
}

const json = (path) => JSON.parse(readFileSync(path, "utf8"));
/// The JSON report's value behind a page's `data-key`: a backup's figure (an array counts its
/// entries), or for a restore `targets.<i>.<status>`, the items of that target with that status.
function reported(doc, key) {
  const t = key.match(/^targets\.(\d+)\.(\w+)$/);
  if (t) {
    const target = doc.targets[Number(t[1])];
    return t[2] === "seconds" ? target.seconds : target.items.filter((e) => e.status === t[2]).length;
  }
  const v = doc[key];
  return Array.isArray(v) ? v.length : v;
}

let browser = null;
/// Open a report page as a phone would; the page, its console errors and any request it made.
async function open(path) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto("file://" + path);
  await page.waitForLoadState("load");
  return { page, errors, requests };
}

/// The checks every page gets: no errors, no requests, the verdict and figures of its JSON report,
/// a phone's width.
async function common(name, html, doc, verdict, count) {
  const { page, errors, requests } = await open(html);
  await check(`${name}: opens with no console error and fetches nothing`, async () => {
    expect(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    const others = requests.filter((u) => u !== "file://" + html);
    expect(others.length === 0, `requests: ${others.join(", ")}`);
  });
  await check(`${name}: the verdict is first and says ${verdict}`, async () => {
    const first = await page.$eval("body > section", (s) => s.id);
    expect(first === "verdict", `first section: ${first}`);
    const v = await page.$eval("#verdict", (s) => [s.dataset.verdict, Number(s.dataset.count)]);
    expect(v[0] === verdict && v[1] === count, `verdict ${v} (expected ${verdict}, ${count})`);
  });
  await check(`${name}: every figure equals the JSON report's`, async () => {
    const facts = await page.$$eval(".fact", (fs) => fs.map((f) => [f.dataset.key, f.dataset.value]));
    expect(facts.length >= 4, `${facts.length} figures`);
    for (const [key, value] of facts) {
      const want = reported(doc, key);
      expect(want !== undefined, `${key} is not in the JSON report`);
      expect(Number(value) === Number(want), `${key}: page ${value}, JSON ${want}`);
    }
    return `${facts.length} figures`;
  });
  await check(`${name}: fits a phone's width (the table scrolls in its own box)`, async () => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 390, `the page is ${width} px wide`);
  });
  return page;
}

/// The table's rows as shown: [id, cell texts].
const shownRows = (page) =>
  page.$$eval("#items-table tbody tr:not([hidden])", (rs) =>
    rs.map((r) => [r.dataset.id, Array.from(r.cells).map((c) => c.dataset.value ?? c.textContent)]),
  );

async function sorting(name, page) {
  await check(`${name}: the table sorts by size, both ways, and by title`, async () => {
    const headers = await page.$$eval("#items-table thead th", (hs) => hs.map((h) => h.textContent));
    const size = headers.indexOf("Size");
    await page.click(`#items-table thead th:nth-child(${size + 1})`);
    let rows = await shownRows(page);
    const up = rows.map((r) => Number(r[1][size]));
    expect(up.every((v, i) => i === 0 || up[i - 1] <= v), `ascending: ${up}`);
    await page.click(`#items-table thead th:nth-child(${size + 1})`);
    rows = await shownRows(page);
    const down = rows.map((r) => Number(r[1][size]));
    expect(down.every((v, i) => i === 0 || down[i - 1] >= v), `descending: ${down}`);
    expect(down[0] > down[down.length - 1], "every size is the same: nothing was sorted");
    await page.click("#items-table thead th:nth-child(1)");
    rows = await shownRows(page);
    const titles = rows.map((r) => r[1][0].toLowerCase());
    expect(titles.every((t, i) => i === 0 || titles[i - 1] <= t), `by title: ${titles}`);
  });
  await check(`${name}: the filter shows exactly the rows that match`, async () => {
    const all = await shownRows(page);
    const title = await page.$eval("#items-table tbody tr .title", (t) => t.textContent);
    await page.fill("#filter", title.toUpperCase());
    const rows = await shownRows(page);
    const want = all.filter((r) => r[1].join(" ").toLowerCase().includes(title.toLowerCase()));
    expect(rows.length === want.length && rows.length >= 1 && rows.length < all.length, `${rows.length} rows for ${title}`);
    const shown = await page.$eval("#shown", (s) => s.textContent);
    expect(shown === `${rows.length} of ${all.length} items`, shown);
    await page.fill("#filter", "");
    expect((await shownRows(page)).length === all.length, "clearing the filter shows every row");
  });
}

try {
  let urls;
  ({ sandbox, urls } = await starting);
  root = urls.demo.replace(/\/demo$/, "");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

  // A clean first backup, then a nightly with the data of the map "Hydrant inspections" refused.
  const first = run("backup", "--from", "demo", "--all", "--repo", repo);
  expect(first.code === 0, `first backup: ${first.code} ${first.err}`);
  const listing = JSON.parse(run("ls", repo, "--json").out);
  const map = listing.items.find((i) => i.title === "Hydrant inspections");
  expect(map, "the demo organization has the map Hydrant inspections");
  // The map is edited, so the nightly (incremental) backup reads it again, and its data is refused.
  const rest = `${root}/demo/sharing/rest`;
  const token = (await (await fetch(`${rest}/generateToken`, {
    method: "POST",
    body: new URLSearchParams({ username: "admin", password, referer: "http://localhost", f: "json" }),
  })).json()).token;
  expect(token, "signed in as admin");
  const edited = await (await fetch(`${rest}/content/users/${map.owner}/items/${map.id}/update`, {
    method: "POST",
    body: new URLSearchParams({ snippet: "Edited before the nightly backup", f: "json", token }),
  })).json();
  expect(edited.success, `editing the map: ${JSON.stringify(edited)}`);
  await faults(`refuse=/data,item=${map.id}`);
  const b = { json: join(work, "backup.json"), html: join(work, "backup.html") };
  const backup = run("backup", "--from", "demo", "--all", "--repo", repo, "--report", b.json, "--report", b.html);
  await faults("");
  await check("backup: a part refused is a part missing (exit 3), in both reports", async () => {
    expect(backup.code === 3, `exit ${backup.code}: ${backup.err}`);
    const doc = json(b.json);
    expect(doc.failures.length === 1 && doc.failures[0].id === map.id, JSON.stringify(doc.failures));
  });
  const bdoc = json(b.json);
  const bpage = await common("backup page", b.html, bdoc, "missing", bdoc.failures.length);
  await check("backup page: the failure's cause, what it held back and the retry command", async () => {
    const cause = await bpage.$eval("#failures .cause", (c) => [c.querySelector("h3").textContent, Number(c.dataset.items), Number(c.dataset.heldBack)]);
    expect(cause[0].startsWith("data: ") && cause[1] === 1 && cause[2] >= 1, `cause ${cause}`);
    const retry = await bpage.$eval("#retry code", (c) => c.textContent);
    expect(retry.includes("backup --from demo --all --repo") && !retry.includes(password), retry);
    const failed = await bpage.$$eval("#graph g.node.failed", (g) => g.map((n) => n.dataset.id));
    expect(failed.length === 1 && failed[0] === map.id, `failed nodes ${failed}`);
    const rows = await bpage.$$eval("#items-table tbody tr", (r) => r.length);
    expect(rows === bdoc.items, `${rows} rows, ${bdoc.items} items`);
    return `held back ${cause[2]}`;
  });
  await sorting("backup page", bpage);
  await check("backup page: the status filter shows the item with a part missing", async () => {
    await bpage.selectOption("#status", "part missing");
    const rows = await shownRows(bpage);
    expect(rows.length === 1 && rows[0][0] === map.id, JSON.stringify(rows));
    await bpage.selectOption("#status", "");
  });

  // A fan-out restore with every hosted service's creation refused: they fail in both targets,
  // and what needs them is held back.
  await faults("refuse=/createService");
  const r = { json: join(work, "restore.json"), html: join(work, "restore.html") };
  const restore = run("restore", repo, "--to", "target-a", "--to", "target-b", "--report", r.json, "--report", r.html);
  await faults("");
  const rdoc = json(r.json);
  const broken = rdoc.targets.flatMap((t) => t.items).filter((e) =>
    e.status === "failed" || e.status === "rolledBack" || (e.status === "skipped" && (e.reason ?? "").startsWith("depends on "))).length;
  await check("restore: refused services fail (exit 3) and hold back what needs them", async () => {
    expect(restore.code === 3, `exit ${restore.code}: ${restore.err}`);
    const failed = rdoc.targets[0].items.filter((e) => e.status === "failed").length;
    expect(failed >= 1 && broken > failed, `${failed} failed, ${broken} not restored`);
  });
  const rpage = await common("restore page", r.html, rdoc, "missing", broken);
  await check("restore page: one column group per target, causes per target, the retry command", async () => {
    const headers = await rpage.$$eval("#items-table thead th", (hs) => hs.map((h) => h.textContent));
    expect(headers.includes("target-a · Status") && headers.includes("target-b · Status"), headers.join(", "));
    const ids = new Set(rdoc.targets.flatMap((t) => t.items.map((e) => e.sourceId)));
    const rows = await rpage.$$eval("#items-table tbody tr", (r) => r.length);
    expect(rows === ids.size, `${rows} rows, ${ids.size} items`);
    const causes = await rpage.$$eval("#failures .cause h3", (h) => h.map((c) => c.textContent));
    expect(causes.some((c) => c.startsWith("target-a: ")) && causes.some((c) => c.startsWith("target-b: ")), causes.join(" | "));
    const retry = await rpage.$eval("#retry code", (c) => c.textContent);
    expect(retry.includes("restore") && retry.includes("--to target-a --to target-b"), retry);
    const failedNodes = await rpage.$$eval("#graph g.node.failed", (g) => g.length);
    const heldNodes = await rpage.$$eval("#graph g.node.held", (g) => g.length);
    expect(failedNodes >= 1 && heldNodes >= 1, `${failedNodes} failed, ${heldNodes} held back drawn`);
  });
  await sorting("restore page", rpage);
  await check("restore page: the status filter shows exactly the items that failed somewhere", async () => {
    await rpage.selectOption("#status", "failed");
    const rows = await shownRows(rpage);
    const want = new Set(rdoc.targets.flatMap((t) => t.items.filter((e) => e.status === "failed").map((e) => e.sourceId)));
    expect(rows.length === want.size && rows.every((r) => want.has(r[0])), `${rows.length} rows, ${want.size} failed`);
  });

  // The report of a past backup, from the repository alone.
  const p = { json: join(work, "past.json"), html: join(work, "past.html") };
  const past = run("report", repo, "-o", p.html, "-o", p.json);
  await check("report of a past snapshot: written", async () => {
    expect(past.code === 0, `exit ${past.code}: ${past.err}`);
  });
  const pdoc = json(p.json);
  const ppage = await common("past report page", p.html, pdoc, "missing", pdoc.failures.length);
  await check("past report page: what changed since the snapshot before", async () => {
    const first = await ppage.$eval("#changes li", (l) => l.textContent);
    const c = pdoc.changes;
    expect(first === `${c.added} items added, ${c.changed} changed, ${c.removed} removed, ${c.unchanged} unchanged`, first);
    expect(c.changed >= 1, "the refused data is a change from the first snapshot");
  });
} catch (e) {
  results.push(["run", false]);
  console.log(`FAIL  ${e && e.stack ? e.stack : e}`);
} finally {
  if (browser) await browser.close();
  if (sandbox) sandbox.kill("SIGTERM");
  // ORGPACK_PAGES_KEEP=1 keeps the pages and reports to look at.
  if (process.env.ORGPACK_PAGES_KEEP) console.log(`kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
const failed = results.filter(([, ok]) => !ok).length;
console.log(`${results.length - failed}/${results.length} report page checks passed`);
process.exit(failed ? 1 : 0);
