"""The compatibility run: the official ArcGIS API for Python against `orgpack sandbox`.

The sandbox is orgpack's stand-in for ArcGIS Online and Enterprise, and the official client is the
judge of whether it is faithful (shared/reference/peer-arcgis-python.md, section 5). This script
starts `orgpack sandbox --tls --demo`, trusts its certificate through SSL_CERT_FILE (the client
verifies certificates with the system store through `truststore`), and drives the client through
what GIS administrators do with it: the three sign-ins, search, items and their data, resources,
thumbnails, metadata, downloads, folders, file and JSON uploads, updates, sharing, groups, related
items, exports, and a whole OfflineContentManager export of the demo organization imported into an
empty one. Every check prints one line; the run exits non-zero when any check fails.

Run by scripts/compat (which makes the virtual environment with the pinned client), not by hand.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

PASSWORD = "compat-" + os.urandom(6).hex()
RESULTS = []


def check(name):
    """Runs the decorated function as one named check and records whether it passed."""

    def run(fn):
        started = time.monotonic()
        try:
            detail = fn()
            RESULTS.append((name, True, detail or ""))
            print(f"ok    {name} ({time.monotonic() - started:.1f}s){': ' + detail if detail else ''}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            RESULTS.append((name, False, repr(e)))
            print(f"FAIL  {name}: {e!r}")
            traceback.print_exc(limit=6, file=sys.stdout)
        return fn

    return run


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def start_sandbox(orgpack, data):
    env = dict(os.environ, ORGPACK_SANDBOX_PASSWORD=PASSWORD)
    proc = subprocess.Popen(
        [orgpack, "sandbox", "--tls", "--demo", "--data", data, "--org", "target",
         "--enterprise-org", "enterprise"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    urls, cert = {}, None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"orgpack sandbox exited with {proc.wait()}")
        m = re.match(r"^(https://127\.0\.0\.1:\d+/(\w+))\s*$", line.strip())
        if m:
            urls[m.group(2)] = m.group(1)
        m = re.search(r"the certificate to trust is (\S+)", line)
        if m:
            cert = m.group(1)
        if line.startswith("serving until interrupted"):
            break
    expect(cert and {"demo", "target", "enterprise"} <= set(urls), f"sandbox banner: {urls} {cert}")
    return proc, urls, cert


def main():
    orgpack = sys.argv[1]
    work = tempfile.mkdtemp(prefix="orgpack-compat-")
    proc, urls, cert = start_sandbox(orgpack, os.path.join(work, "sandbox"))
    # The client checks certificates through truststore, which reads the OpenSSL default paths:
    # SSL_CERT_FILE makes it trust the sandbox, as an administrator would with a private CA.
    os.environ["SSL_CERT_FILE"] = cert
    warnings.simplefilter("ignore")
    try:
        run_checks(urls, work)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed with arcgis "
          f"{__import__('arcgis').__version__}")
    sys.exit(1 if failed else 0)


def run_checks(urls, work):
    from arcgis.gis import GIS

    state = {}

    @check("sign in as the client does by default (OAuth sign-in page, token in the fragment)")
    def _():
        gis = GIS(urls["demo"], "admin", PASSWORD)
        state["gis"] = gis
        me = gis.users.me
        expect(me.username == "admin", f"users.me is {me.username}")
        expect(gis.properties.portalName == "ArcGIS Online", gis.properties.portalName)
        expect(gis.version[0] >= 2023, f"version {gis.version}")
        return f"version {gis.version}, role {me.role}"

    gis = state.get("gis")
    if gis is None:
        return

    @check("sign in through generateToken, and with a token")
    def _():
        by_token = GIS(urls["demo"], "editor", PASSWORD, use_gen_token=True)
        expect(by_token.users.me.username == "editor", "generateToken user")
        token = by_token._con.token
        expect(token, "no token after generateToken")
        again = GIS(urls["demo"], token=token)
        expect(again.users.me.username == "editor", "token sign-in user")

    @check("a wrong password is refused")
    def _():
        try:
            GIS(urls["demo"], "admin", "not-" + PASSWORD)
        except Exception as e:  # noqa: BLE001
            expect(PASSWORD not in str(e), "the error holds the password")
            return type(e).__name__
        raise AssertionError("signed in with a wrong password")

    @check("users and groups")
    def _():
        editor = gis.users.get("editor")
        expect(editor and editor.role in ("org_publisher", "account_publisher"), f"editor {editor}")
        folders = [f["title"] if isinstance(f, dict) else f.name for f in editor.folders]
        expect(sorted(folders) == ["Planning", "Root Folder", "Utilities"], f"folders {folders}")
        groups = gis.groups.search("title:Public Works")
        expect(len(groups) == 1, f"groups {groups}")
        members = groups[0].get_members()
        expect(members["owner"] == "editor" and "viewer" in members["users"], f"members {members}")
        return f"{len(folders)} folders, group members {members['users']}"

    @check("search: all items, by type, by owner, paged past the end")
    def _():
        everything = gis.content.search("*", max_items=1000)
        expect(len(everything) == 35, f"{len(everything)} items: {[i.title for i in everything]}")
        maps = gis.content.search("type:\"Web Map\"", max_items=100)
        expect(sorted(i.title for i in maps) == ["City overview", "Hydrant inspections",
                                                 "Hydrant repairs Dispatcher Map",
                                                 "Hydrant repairs Worker Map"],
               [i.title for i in maps])
        mine = gis.content.search("owner:editor", max_items=5)
        expect(len(mine) == 5, f"max_items=5 gave {len(mine)}")
        state["items"] = {i.title: i for i in everything}
        return f"{len(everything)} items"

    items = state.get("items", {})

    @check("item JSON, data, resources, thumbnail, metadata")
    def _():
        city_map = gis.content.get(items["City overview"].id)
        data = city_map.get_data()
        expect(isinstance(data, dict) and data.get("operationalLayers"), "web map data")
        thumb = city_map.download_thumbnail(os.path.join(work, "thumb"))
        expect(thumb and os.path.getsize(thumb) > 0, f"thumbnail {thumb}")
        app = gis.content.get(items["City viewer"].id)
        listed = sorted(r["resource"] for r in app.resources.list())
        expect(listed == ["config/settings.json", "images/logo.png"], f"resources {listed}")
        settings = app.resources.get("config/settings.json")
        expect(isinstance(settings, dict), f"resource read as {type(settings)}")
        gdb = gis.content.get(items["City data"].id)
        meta = gdb.download_metadata(os.path.join(work, "meta"))
        expect(meta and open(meta, "rb").read().lstrip().startswith(b"<"), f"metadata {meta}")
        expect(gis.content.get("0" * 32) is None, "a missing item is None")

    @check("download a file item (name from Content-Disposition)")
    def _():
        pdf = gis.content.get(items["Water utility brochure"].id)
        path = pdf.download(save_path=os.path.join(work, "dl"))
        expect(path and open(path, "rb").read(5) == b"%PDF-", f"download {path}")
        return os.path.basename(path)

    @check("related items in both directions")
    def _():
        service = items["City"]
        forward = service.related_items("Service2Data", "forward")
        expect([i.title for i in forward] == ["City data"], f"forward {forward}")
        back = items["City data"].related_items("Service2Data", "reverse")
        expect([i.title for i in back] == ["City"], f"reverse {back}")

    @check("a hosted feature service: layers and counts")
    def _():
        from arcgis.features import FeatureLayerCollection

        flc = FeatureLayerCollection.fromitem(items["City"])
        names = sorted(lyr.properties.name for lyr in flc.layers)
        expect(names == ["Hydrants", "Parcels"], f"layers {names}")
        counts = {lyr.properties.name: lyr.query(return_count_only=True) for lyr in flc.layers}
        expect(counts == {"Hydrants": 250, "Parcels": 12}, f"counts {counts}")
        return str(counts)

    @check("features: a layer's rows, filtered, and a 3,000-row table fetched by object ids in pages")
    def _():
        from arcgis.features import FeatureLayerCollection

        hydrants = FeatureLayerCollection.fromitem(items["City"]).layers[0]
        found = hydrants.query(where="1=1", out_fields="*")
        expect(len(found.features) == 250, f"{len(found.features)} hydrants")
        first = min(found.features, key=lambda f: f.attributes["OBJECTID"])
        expect(first.attributes["hydrant_id"] == "H-0000", f"first {first.attributes}")
        expect(abs(first.geometry["x"] + 117.2) < 1e-6 and abs(first.geometry["y"] - 34.05) < 1e-6,
               f"first at {first.geometry}")
        ok = hydrants.query(where="status = 'ok' AND flow_gpm >= 500", return_count_only=True)
        expect(ok == 84, f"{ok} hydrants are ok")
        repair = hydrants.query(where="status LIKE 'rep%'", out_fields="hydrant_id")
        expect(len(repair.features) == 83, f"{len(repair.features)} in repair")
        service = [i for i in gis.content.search('type:"Feature Service"', max_items=100)
                   if (i.url or "").endswith("/Inspections/FeatureServer")]
        expect(len(service) == 1, f"Inspections service: {service}")
        table = FeatureLayerCollection.fromitem(service[0]).tables[0]
        rows = table.query(where="1=1", out_fields="*")
        ids = sorted(r.attributes["OBJECTID"] for r in rows.features)
        expect(ids == list(range(1, 3001)), f"{len(ids)} rows, first {ids[:3]}, last {ids[-3:]}")
        return f"250 hydrants, 84 ok; {len(ids)} inspection rows past the 2,000-row page"

    @check("export a hosted feature service to a File Geodatabase, download it, delete it")
    def _():
        exported = items["City"].export("compat export", "File Geodatabase", wait=True)
        expect(exported.type == "File Geodatabase", exported.type)
        path = exported.download(save_path=os.path.join(work, "export"))
        expect(open(path, "rb").read(2) == b"PK", f"export download {path}")
        expect(exported.delete(), "delete the export")
        return f"{os.path.getsize(path)} bytes"

    @check("people: members' groups and roles, custom roles, a new member, a disabled one")
    def _():
        lead = gis.users.get("crew.lead")
        roles = {r.name: r for r in gis.users.roles.all()}
        expect({"Viewer", "Data Editor", "Field Lead"} <= set(roles), f"roles {sorted(roles)}")
        # The client shows a custom role by its name (it looks `roleId` up in the roles).
        expect(lead.role == "Field Lead" and lead.roleId == roles["Field Lead"].role_id,
               f"crew.lead is {lead.role} with {lead.get('roleId')}")
        expect("features:user:edit" in roles["Field Lead"].privileges,
               f"privileges {roles['Field Lead'].privileges}")
        expect(sorted(g.title for g in lead.groups) == ["Hydrant Editors", "Hydrant repairs"],
               f"groups {lead.groups}")
        expect(gis.users.get("former.staff").disabled, "former.staff is disabled")
        editors = gis.groups.search('title:"Hydrant Editors"')[0]
        expect("updateitemcontrol" in editors.capabilities, f"capabilities {editors.capabilities}")
        members = editors.get_members()
        expect(members["owner"] == "admin" and "editor" in members["admins"]
               and "crew.lead" in members["users"], f"members {members}")
        council = gis.groups.search('title:"Council Briefings"')[0]
        expect(council.isInvitationOnly, "Council Briefings is invitation only")
        made = gis.users.create(username="new.analyst", password=PASSWORD, firstname="New",
                                lastname="Analyst", email="new.analyst@example.org",
                                role="org_user", user_type="creatorUT")
        expect(made is not None and made.username == "new.analyst", f"created {made}")
        signed_in = GIS(urls["demo"], "new.analyst", PASSWORD, use_gen_token=True)
        expect(signed_in.users.me.fullName == "New Analyst", "the new member signs in")
        return (f"roles {sorted(roles)}; Hydrant Editors managers {members['admins']}; "
                f"new.analyst is {made.role}")

    @check("the recycle bin: the demo's retired map listed, restored with its id; a delete recycles")
    def _():
        editor = gis.users.get("editor")
        recycled = {i.properties["title"]: i for i in editor.recyclebin.content}
        old = recycled.get("Hydrants 2019 (retired)")
        expect(old is not None, f"recycled {sorted(recycled)}")
        expect(gis.content.get(old.properties["id"]) is None, "a recycled item is not served")
        back = old.restore(None)  # the root folder
        expect(back is not None and back.id == old.properties["id"], f"restored {back}")
        expect(gis.content.get(back.id).title == "Hydrants 2019 (retired)", "served again")
        expect(back.delete(), "delete again")
        again = [i for i in editor.recyclebin.content if i.properties["id"] == back.id]
        expect(len(again) == 1, "back in the bin")
        expect(again[0].delete(), "purged")
        expect(not any(i.properties["id"] == back.id for i in editor.recyclebin.content), "gone")
        return f"{back.id} restored, recycled and purged"

    @check("folders, JSON and file uploads, update, share, move, protect, delete")
    def _():
        folder = gis.content.folders.create("Compat")
        web_map = folder.add(
            {"type": "Web Map", "title": "Compat map", "tags": "compat,test",
             "text": json.dumps({"operationalLayers": [], "version": "2.31"})}
        ).result()
        expect(web_map.get_data().get("version") == "2.31", "web map data back")
        src = os.path.join(work, "upload.csv")
        with open(src, "w") as f:
            f.write("name,x,y\n" + "".join(f"h{i},{i % 90},{i % 45}\n" for i in range(2000)))
        csv_item = folder.add({"type": "CSV", "title": "Compat CSV", "tags": "compat"},
                              file=src).result()
        back = csv_item.download(save_path=os.path.join(work, "csv"))
        expect(open(back, "rb").read() == open(src, "rb").read(), "CSV bytes round-trip")
        expect(web_map.update(item_properties={"snippet": "updated"}), "update")
        expect(gis.content.get(web_map.id).snippet == "updated", "snippet after update")
        web_map.sharing.sharing_level = "ORGANIZATION"
        expect(gis.content.get(web_map.id).access == "org", "access after sharing")
        group = gis.groups.search("title:Public Works")[0]
        web_map.sharing.groups.add(group)
        expect(any(i.id == web_map.id for i in group.content()), "item in group content")
        # `item.move("/")` sends the folder id "Root Folder", which the portal refuses
        # (Esri/arcgis-python-api#2532); the Root Folder object is what works.
        expect(csv_item.move(gis.content.folders.get("/")), "move to root")
        expect(gis.content.get(csv_item.id).ownerFolder is None, "ownerFolder after the move")
        csv_item.protect(True)
        try:
            csv_item.delete()
            raise AssertionError("deleted a protected item")
        except Exception as e:  # noqa: BLE001
            expect("protect" in str(e).lower() or "delete" in str(e).lower(), str(e))
        csv_item.protect(False)
        web_map.sharing.groups.remove(group)
        expect(not any(i.id == web_map.id for i in group.content()), "unshared from the group")
        expect(csv_item.delete(), "delete")
        expect(gis.content.get(csv_item.id) is None, "deleted item gone")
        expect(folder.delete(), "delete the folder")
        expect(gis.content.get(web_map.id) is None, "the folder's items went with it")

    @check("OfflineContentManager: export the demo organization, import it into an empty one")
    def _():
        out = os.path.join(work, "offline")
        os.makedirs(out)
        all_items = list(gis.content.search("*", max_items=1000))
        package = gis.content.offline.export_items(all_items, output_folder=out,
                                                   package_name="demo")
        expect(package and os.path.getsize(package) > 0, f"package {package}")
        listed = gis.content.offline.list_items(package)
        target = GIS(urls["target"], "admin", PASSWORD)
        created = target.content.offline.import_content(package)
        from arcgis.features import FeatureLayerCollection

        there = target.content.search("*", max_items=1000)
        titles = sorted({i.title for i in there})
        expect(len(there) >= 20, f"{len(there)} items in the target: {titles}")
        # The client's offline package takes no Hub site, no Hub page, no QuickCapture project
        # and no tile layer published from a tile package (none is in the target after an import
        # that reports no error): its limits, reported.
        not_taken = sorted({i.title for i in all_items} - set(titles) - {"Hydrants in service"})
        expect(not_taken == ["Hydrant quick capture", "Hydrant service page", "Hydrant services",
                             "Relief"],
               f"not imported: {not_taken}")
        # The services were republished in the target, and the maps point at them.

        services = {i.title: i for i in there
                    if i.type == "Feature Service" and "View Service" not in i.typeKeywords}
        expect(sorted(services) == ["City", "Hydrant repairs", "Inspections"],
               f"services {sorted(services)}")
        # The view: the client's item graph looks for a view's source through the view's
        # forward Service2Service, but the portal records the source as the relationship's
        # origin (the REST reference's relationship types; Esri's tracker and workforce modules
        # read a layer's views as its forward Service2Service), so the client finds no source
        # and skips the view ("View Service does not have a valid data item"). Reported, not
        # failed; if it is imported, it must read its source with the definition query.
        views = [i for i in there if "View Service" in i.typeKeywords]
        view_note = ""
        if views:
            expect([v.title for v in views] == ["Hydrants in service"], f"views {views}")
            view_layer = FeatureLayerCollection.fromitem(views[0]).layers[0]
            expect(view_layer.properties.viewDefinitionQuery == "STATUS <> 'retired'",
                   f"view query {view_layer.properties.viewDefinitionQuery!r}")
        else:
            # The client publishes the Workforce service, which has no file of its own, from the
            # File Geodatabase it exported, and leaves that file in the target as an item.
            left = sorted(i.title for i in there if i.type == "File Geodatabase")
            expect(left == ["City data", "Hydrant repairs", "Inspection records"], f"files {left}")
            expect(len(there) == 31, f"only the view is missing beside those: {titles}")
            view_note = "; the client did not import the view (no forward Service2Service from it)"
        view_note += f"; nor {', '.join(not_taken)} (QuickCapture Project, Hub Page, Hub Site Application, Map Service from a tile package)"

        counts = {lyr.properties.name: lyr.query(return_count_only=True)
                  for lyr in FeatureLayerCollection.fromitem(services["City"]).layers}
        expect(counts == {"Hydrants": 250, "Parcels": 12}, f"republished counts {counts}")
        city_map = next(i for i in there if i.title == "City overview")
        text = json.dumps(city_map.get_data())
        expect(services["City"].id in text or services["City"].url in text,
               "the map does not point at the republished service")
        expect(services["City"].id in text, "the map's layers still name the source service")
        # The client's own limits are reported, not failed: its dependency graph does not read
        # Arcade expressions, so the map's FeatureSetByPortalItem reference to Inspections keeps
        # the source id (orgpack's graph finds it: crates/graph, corpus/EXPECTED.md).
        stale = [i.title for i in all_items if i.id in text]
        note = f"; the client left the map naming source items {stale}" if stale else ""
        note += view_note
        return (f"{len(listed)} listed, {len(created)} created, {len(there)} in the target: "
                + ", ".join(f"{t}×{n}" for t, n in sorted(
                    {t: sum(1 for i in there if i.type == t) for t in {i.type for i in there}}
                    .items()))) + note


if __name__ == "__main__":
    main()
