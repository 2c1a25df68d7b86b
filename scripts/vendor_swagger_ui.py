"""Vendors Swagger UI from the npm package `swagger-ui-dist` into the service's package data.

    python scripts/vendor_swagger_ui.py              # the pinned version below
    python scripts/vendor_swagger_ui.py --version 5.36.0

`/docs` must work with no internet access, so the service serves Swagger UI's assets itself.
No PyPI package ships a maintained Swagger UI 5 build without pulling in another web framework
(Flask, Django) or a one-release fork, so the files come from the upstream npm package, fetched
with `npm pack` (which checks the registry's integrity hash). The script replaces
src/worksible_api/static/swagger-ui/ wholesale: never edit those files by hand, rerun this.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "swagger-ui-dist"
# Swagger UI 5 renders OpenAPI 3.1; 4 does not. Bump deliberately, then run the docs tests.
VERSION = "5.35.0"
# What /docs needs, plus the licence and notice Apache-2.0 asks us to ship with them.
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE")
TARGET = Path(__file__).resolve().parents[1] / "src" / "worksible_api" / "static" / "swagger-ui"


def _npm_pack(spec: str, into: Path) -> dict[str, str]:
    completed = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    )
    packed: list[dict[str, str]] = json.loads(completed.stdout)
    return packed[0]


def vendor(version: str) -> Path:
    if not version.startswith("5."):
        raise SystemExit(f"Swagger UI {version} is not 5.x: only 5.x renders OpenAPI 3.1.")
    with tempfile.TemporaryDirectory() as tmp:
        packed = _npm_pack(f"{PACKAGE}@{version}", Path(tmp))
        staging = Path(tmp) / "swagger-ui"
        staging.mkdir()
        checksums: dict[str, str] = {}
        with tarfile.open(Path(tmp) / packed["filename"]) as archive:
            for name in FILES:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise SystemExit(f"{PACKAGE}@{version} has no {name}")
                data = member.read()
                (staging / name).write_bytes(data)
                checksums[name] = hashlib.sha256(data).hexdigest()
        source = {
            "package": PACKAGE,
            "version": packed["version"],
            "integrity": packed["integrity"],
            "generated_by": "scripts/vendor_swagger_ui.py",
            "sha256": checksums,
        }
        (staging / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n")
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, TARGET)
    return TARGET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help=f"{PACKAGE} version (default {VERSION})")
    target = vendor(parser.parse_args().version)
    sys.stdout.write(f"{PACKAGE} vendored into {target}\n")


if __name__ == "__main__":
    main()
