"""The official client's side of benches/org.py: OfflineContentManager export and import.

    python arcgis_offline.py export PORTAL OUTPUT_DIR   # every item of the org → one .contentexport
    python arcgis_offline.py import PORTAL PACKAGE      # that package → the org at PORTAL

Run with the virtual environment scripts/compat makes (target/compat-venv), the sandbox's
certificate in SSL_CERT_FILE and the admin password in ORGPACK_SANDBOX_PASSWORD. Prints one JSON
line: what was done and how long the client's own call took.
"""

import json
import os
import sys
import time
import warnings

warnings.simplefilter("ignore")


def main():
    from arcgis.gis import GIS

    op, portal, path = sys.argv[1:4]
    gis = GIS(portal, "admin", os.environ["ORGPACK_SANDBOX_PASSWORD"])
    started = time.monotonic()
    if op == "export":
        items = gis.content.search("*", max_items=10000)
        package = gis.content.offline.export_items(items, output_folder=path, package_name="bench")
        listed = gis.content.offline.list_items(package)
        answer = {"items": len(items), "listed": len(listed), "package": package,
                  "bytes": os.path.getsize(package)}
    elif op == "import":
        created = gis.content.offline.import_content(path)
        answer = {"created": len(created)}
    else:
        sys.exit(f"unknown operation {op!r}")
    answer["seconds"] = time.monotonic() - started
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
