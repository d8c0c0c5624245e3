// The compatibility run with Esri's JavaScript REST client (@esri/arcgis-rest-request, -portal,
// -feature-service 4.x, pinned in tests/compat/js/package.json) against `orgpack sandbox --tls
// --demo`, as scripts/compat runs it: the client signs in, gets a token for the hosted server the
// standard way (server/rest/info, then generateToken with serverUrl), pages and filters features,
// computes statistics, edits features and attachments, copies a service as solution.js does
// (createFeatureService, addToServiceDefinition, applyEdits), shares and unshares as an
// administrator without disturbing anyone's group membership, is refused what the portal refuses,
// and brings an item back from the recycle bin. One line per check.
//
// Usage: node arcgis_rest_js.mjs path/to/orgpack   (run from the directory holding node_modules)

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { check, expect, results, startSandbox } from "./checks.mjs";


// The parent starts the sandbox, then runs this script again as a child that trusts the
// sandbox's certificate (NODE_EXTRA_CA_CERTS is read when Node starts).
if (!process.env.ORGPACK_COMPAT_CHILD) {
  const orgpack = process.argv[2];
  const password = "compat-" + randomBytes(6).toString("hex");
  const data = mkdtempSync(join(tmpdir(), "orgpack-compat-js-"));
  let sandbox, urls, cert;
  try {
    ({ sandbox, urls, cert } = await startSandbox(
      orgpack,
      ["--tls", "--demo", "--data", join(data, "sandbox"), "--org", "target"],
      { ...process.env, ORGPACK_SANDBOX_PASSWORD: password },
      ["demo", "target"],
    ));
  } catch (e) {
    console.log(`FAIL  start the sandbox: ${e.message}`);
    process.exit(1);
  }
  const child = spawn(process.execPath, [process.argv[1]], {
    env: {
      ...process.env,
      ORGPACK_COMPAT_CHILD: "1",
      NODE_EXTRA_CA_CERTS: cert,
      ORGPACK_COMPAT_URLS: JSON.stringify(urls),
      ORGPACK_COMPAT_PASSWORD: password,
    },
    stdio: "inherit",
  });
  const code = await new Promise((resolve) => child.on("exit", resolve));
  sandbox.kill("SIGINT");
  await new Promise((resolve) => sandbox.on("exit", resolve));
  rmSync(data, { recursive: true, force: true });
  process.exit(code ?? 1);
}

const {
  ArcGISIdentityManager,
  request,
} = await import("@esri/arcgis-rest-request");
const portalApi = await import("@esri/arcgis-rest-portal");
const { searchItems, getItem } = portalApi;
const fs = await import("@esri/arcgis-rest-feature-service");
const { createFeatureService, addToServiceDefinition } = fs;
const pkg = JSON.parse(readFileSync(new URL("./node_modules/@esri/arcgis-rest-feature-service/package.json", import.meta.url)));

const urls = JSON.parse(process.env.ORGPACK_COMPAT_URLS);
const password = process.env.ORGPACK_COMPAT_PASSWORD;
const portal = `${urls.demo}/sharing/rest`;
const state = {};

await check("sign in with a password (generateToken)", async () => {
  state.auth = await ArcGISIdentityManager.signIn({ username: "admin", password, portal });
  expect(state.auth.token, "no token");
  return `as ${state.auth.username}`;
});

await check("find the hosted service and read its layers through a server token", async () => {
  const found = await searchItems({ q: 'title:"City" AND type:"Feature Service"', authentication: state.auth });
  const city = found.results.find((i) => i.title === "City" && !i.typeKeywords.includes("View Service"));
  expect(city, `City not among ${found.results.map((r) => r.title)}`);
  state.city = city;
  state.layer = `${city.url}/0`;
  const service = await fs.getService({ url: city.url, authentication: state.auth });
  expect(service.layers.length === 2, `layers ${JSON.stringify(service.layers)}`);
  expect(Object.keys(state.auth.federatedServers).length === 1, "the server token came from generateToken with serverUrl");
  const layer = await fs.getLayer({ url: state.layer, authentication: state.auth });
  expect(layer.objectIdField === "OBJECTID", `objectIdField ${layer.objectIdField}`);
  return `${service.layers.map((l) => l.name).join(", ")}; token for ${Object.keys(state.auth.federatedServers)}`;
});

await check("query with paging, a where clause and statistics", async () => {
  const ids = [];
  let offset = 0;
  for (;;) {
    const page = await fs.queryFeatures({ url: state.layer, where: "1=1", outFields: ["hydrant_id"], resultOffset: offset, resultRecordCount: 100, authentication: state.auth });
    ids.push(...page.features.map((f) => f.attributes.OBJECTID));
    offset += page.features.length;
    if (!page.exceededTransferLimit) break;
  }
  expect(ids.length === 250 && new Set(ids).size === 250, `${ids.length} hydrants`);
  const ok = await fs.queryFeatures({ url: state.layer, where: "status = 'ok'", returnCountOnly: true, authentication: state.auth });
  expect(ok.count === 84, `count ${ok.count}`);
  const stats = await fs.queryFeatures({
    url: state.layer,
    outStatistics: [{ statisticType: "count", onStatisticField: "OBJECTID", outStatisticFieldName: "n" }, { statisticType: "avg", onStatisticField: "flow_gpm", outStatisticFieldName: "mean" }],
    groupByFieldsForStatistics: "status",
    orderByFields: "status",
    authentication: state.auth,
  });
  const counts = stats.features.map((f) => `${f.attributes.status}=${f.attributes.n}`).join(" ");
  expect(counts === "ok=84 repair=83 retired=83", counts);
  const inBox = await fs.queryFeatures({
    url: state.layer,
    geometry: { xmin: -117.2001, ymin: 34.0499, xmax: -117.1879, ymax: 34.0541, spatialReference: { wkid: 4326 } },
    geometryType: "esriGeometryEnvelope",
    spatialRel: "esriSpatialRelIntersects",
    returnCountOnly: true,
    authentication: state.auth,
  });
  expect(inBox.count === 8, `envelope count ${inBox.count}`);
  return `250 hydrants in pages of 100; ${counts}; 8 in an envelope`;
});

await check("a query parameter the sandbox does not implement is refused, not ignored", async () => {
  try {
    await fs.queryFeatures({ url: state.layer, where: "1=1", params: { havingClause: "COUNT(*) > 1" }, authentication: state.auth });
  } catch (e) {
    const details = JSON.stringify(e.response?.error?.details ?? []);
    expect(details.includes("havingClause"), `${e.message} ${details}`);
    return `${e.message} ${details}`;
  }
  throw new Error("havingClause was accepted");
});

await check("add, update and delete features and attachments", async () => {
  const admin = state.city.url.replace("/rest/services/", "/rest/admin/services/");
  await fs.updateServiceDefinition(admin, { updateDefinition: { capabilities: "Create,Delete,Query,Update,Editing" }, authentication: state.auth });
  await request(`${admin}/0/updateDefinition`, { params: { updateDefinition: { hasAttachments: true } }, authentication: state.auth });
  const added = await fs.addFeatures({ url: state.layer, features: [{ geometry: { x: -117.15, y: 34.1, spatialReference: { wkid: 4326 } }, attributes: { hydrant_id: "H-JS", status: "ok", flow_gpm: 640 } }], authentication: state.auth });
  expect(added.addResults[0].success, JSON.stringify(added));
  const oid = added.addResults[0].objectId;
  const updated = await fs.updateFeatures({ url: state.layer, features: [{ attributes: { OBJECTID: oid, flow_gpm: 700 } }], authentication: state.auth });
  expect(updated.updateResults[0].success, JSON.stringify(updated));
  const photo = new File([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], "front.jpg", { type: "image/jpeg" });
  const attached = await fs.addAttachment({ url: state.layer, featureId: oid, attachment: photo, authentication: state.auth });
  expect(attached.addAttachmentResult.success, JSON.stringify(attached));
  const listed = await fs.getAttachments({ url: state.layer, featureId: oid, authentication: state.auth });
  expect(listed.attachmentInfos.length === 1 && listed.attachmentInfos[0].name === "front.jpg", JSON.stringify(listed));
  const notes = new File(["valve replaced"], "notes.txt", { type: "text/plain" });
  const replaced = await fs.updateAttachment({ url: state.layer, featureId: oid, attachmentId: attached.addAttachmentResult.objectId, attachment: notes, authentication: state.auth });
  expect(replaced.updateAttachmentResult.success, JSON.stringify(replaced));
  const removed = await fs.deleteAttachments({ url: state.layer, featureId: oid, attachmentIds: [attached.addAttachmentResult.objectId], authentication: state.auth });
  expect(removed.deleteAttachmentResults[0].success, JSON.stringify(removed));
  const deleted = await fs.deleteFeatures({ url: state.layer, where: "status = 'retired'", authentication: state.auth });
  expect(deleted.deleteResults.length === 83, `${deleted.deleteResults.length} deleted`);
  const left = await fs.queryFeatures({ url: state.layer, where: "1=1", returnCountOnly: true, authentication: state.auth });
  expect(left.count === 250 + 1 - 83, `count ${left.count}`);
  const layer = await fs.getLayer({ url: state.layer, authentication: state.auth });
  const item = await getItem(state.city.id, { authentication: state.auth });
  expect(layer.editingInfo.dataLastEditDate > item.modified, "the edits moved the layer's dataLastEditDate, not the item's modified");
  return `feature ${oid} added, updated, its attachment added, replaced and removed; 83 deleted by where`;
});

await check("copy a service as solution.js does: createFeatureService, addToServiceDefinition, applyEdits", async () => {
  const created = await createFeatureService({
    item: { name: "CityCopy", title: "City copy", capabilities: "Create,Delete,Query,Update,Editing", spatialReference: { wkid: 4326 }, maxRecordCount: 1000 },
    authentication: state.auth,
  });
  expect(created.success && created.serviceurl, JSON.stringify(created));
  const source = await fs.getLayer({ url: state.layer, authentication: state.auth });
  const layer = { ...source, id: 0, name: "Hydrants" };
  for (const k of ["currentVersion", "serviceItemId", "editingInfo", "extent", "isView"]) delete layer[k];
  const added = await addToServiceDefinition(created.serviceurl, { layers: [layer], authentication: state.auth });
  expect(added.success, JSON.stringify(added));
  const page = await fs.queryFeatures({ url: state.layer, where: "1=1", outFields: "*", resultRecordCount: 50, authentication: state.auth });
  const adds = page.features.map((f) => ({ geometry: f.geometry, attributes: Object.fromEntries(Object.entries(f.attributes).filter(([k]) => k !== "OBJECTID")) }));
  const applied = await fs.applyEdits({ url: `${created.serviceurl}/0`, adds, authentication: state.auth });
  expect(applied.addResults.length === 50 && applied.addResults.every((r) => r.success), JSON.stringify(applied.addResults.slice(0, 2)));
  const count = await fs.queryFeatures({ url: `${created.serviceurl}/0`, where: "1=1", returnCountOnly: true, authentication: state.auth });
  expect(count.count === 50, `count ${count.count}`);
  const copy = await fs.getLayer({ url: `${created.serviceurl}/0`, authentication: state.auth });
  expect(JSON.stringify(copy.fields) === JSON.stringify(source.fields), "the copy's fields are the source's");
  expect(JSON.stringify(copy.drawingInfo) === JSON.stringify(source.drawingInfo), "and its drawing info");
  return `50 features copied into ${created.serviceurl.split("/").slice(-2, -1)}`;
});

async function memberships() {
  const out = {};
  for (const username of ["admin", "editor", "viewer", "crew.lead"]) {
    const user = await portalApi.getUser({ username, authentication: state.auth });
    out[username] = (user.groups ?? []).map((g) => `${g.title}:${g.userMembership.memberType}`).sort().join(",");
  }
  return JSON.stringify(out);
}

async function demoItem(title) {
  const found = await searchItems({ q: `title:"${title}"`, authentication: state.auth });
  const item = found.results.find((i) => i.title === title);
  expect(item, `${title} not found`);
  return item;
}

async function demoGroup(title) {
  const found = await portalApi.searchGroups({ q: `title:"${title}"`, authentication: state.auth });
  const group = found.results.find((g) => g.title === title);
  expect(group, `group ${title} not found`);
  return group;
}

await check("shareItemWithGroup and unshareItemWithGroup as an administrator leave every membership as it was", async () => {
  const before = await memberships();
  expect(before.includes("Field Crews:member"), `the administrator is a member of Field Crews: ${before}`);
  const map = await demoItem("City overview");
  const crews = await demoGroup("Field Crews");
  expect(!(await portalApi.isItemSharedWithGroup({ id: map.id, groupId: crews.id, authentication: state.auth })), "not shared yet");
  const shared = await portalApi.shareItemWithGroup({ id: map.id, groupId: crews.id, owner: map.owner, authentication: state.auth });
  expect(shared.notSharedWith.length === 0, JSON.stringify(shared));
  expect(await portalApi.isItemSharedWithGroup({ id: map.id, groupId: crews.id, authentication: state.auth }), "shared (found by `id: X AND group: Y`)");
  const unshared = await portalApi.unshareItemWithGroup({ id: map.id, groupId: crews.id, owner: map.owner, authentication: state.auth });
  expect(!unshared.shortcut && unshared.notUnsharedFrom.length === 0, JSON.stringify(unshared));
  expect(!(await portalApi.isItemSharedWithGroup({ id: map.id, groupId: crews.id, authentication: state.auth })), "unshared");
  const after = await memberships();
  expect(after === before, `memberships changed: ${before} → ${after}`);
  return after;
});

await check("a private item is refused a group its owner cannot reach, and nothing changes", async () => {
  const before = await memberships();
  const csv = await demoItem("Hydrant list");
  const council = await demoGroup("Council Briefings");
  try {
    await portalApi.shareItemWithGroup({ id: csv.id, groupId: council.id, owner: csv.owner, authentication: state.auth });
  } catch (e) {
    expect(/could not be shared/.test(e.message), e.message);
    const item = await getItem(csv.id, { authentication: state.auth });
    expect(item.access === "private", `access ${item.access}`);
    expect((await memberships()) === before, "memberships changed");
    return e.message;
  }
  throw new Error("shared");
});

await check("the demo's recycled map is listed in the recycle bin and restored with its id", async () => {
  const bin = await request(`${portal}/content/users/editor`, { params: { inRecycleBin: true }, authentication: state.auth });
  const old = bin.items.find((i) => i.title === "Hydrants 2019 (retired)");
  expect(old && old.recycledDate, JSON.stringify(bin.items.map((i) => i.title)));
  let hidden = false;
  try {
    await getItem(old.id, { authentication: state.auth });
  } catch {
    hidden = true;
  }
  expect(hidden, "a recycled item is not served");
  const can = await request(`${portal}/content/users/editor/items/${old.id}/canRestore`, { httpMethod: "GET", authentication: state.auth });
  expect(can.success, JSON.stringify(can));
  const restored = await request(`${portal}/content/users/editor/items/${old.id}/restore`, { authentication: state.auth });
  expect(restored.success, JSON.stringify(restored));
  const back = await getItem(old.id, { authentication: state.auth });
  expect(back.id === old.id && back.title === old.title, JSON.stringify(back));
  return `${old.id} back`;
});

const failed = results.filter(([, ok]) => !ok);
console.log(`\n${results.length - failed.length} of ${results.length} checks passed with @esri/arcgis-rest-feature-service ${pkg.version}`);
process.exit(failed.length ? 1 : 0);
