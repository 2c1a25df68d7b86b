"""Vendors the service's front-end packages from npm into its package data.

    python scripts/vendor_assets.py                             # every package, at its pin
    python scripts/vendor_assets.py htmx.org                    # one package, at its pin
    python scripts/vendor_assets.py htmx.org --version 2.0.x    # one package, another version

Every page the service renders (`/docs`, the dashboard) must work with no internet access and
load nothing from a CDN, so the service serves these files itself. No PyPI package ships
maintained builds of them without pulling in another web framework, so they come from the
upstream npm packages, fetched with `npm pack` (which checks the registry's integrity hash).
Each package's folder under src/worksible_api/static/ is replaced wholesale and gets a
SOURCE.json recording the package, its version, the tarball's integrity and each file's
sha256 (tests/test_vendored_assets.py checks the files against it). Never edit vendored files
by hand: change PACKAGES below and rerun this.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "src" / "worksible_api" / "static"


@dataclass(frozen=True)
class Package:
    name: str
    # Bump deliberately; another version is accepted only within this one's major.
    version: str
    # Paths inside the tarball's `package/`, written flat into `target` under their own names.
    files: tuple[str, ...]
    # Relative to STATIC.
    target: str

    @property
    def major(self) -> int:
        return _major(self.version)


PACKAGES = (
    # Swagger UI 5 renders OpenAPI 3.1; 4 does not. What /docs needs, plus the licence and the
    # notice Apache-2.0 asks us to ship with them. swagger_ui.py serves this folder.
    Package(
        name="swagger-ui-dist",
        version="5.35.0",
        files=("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"),
        target="swagger-ui",
    ),
    # htmx 2 for the dashboard. npm's `latest` tag is already a later major: the pin keeps 2.x.
    Package(
        name="htmx.org",
        version="2.0.11",
        files=("dist/htmx.min.js", "LICENSE"),
        target="dashboard/vendor/htmx",
    ),
    # Pico 2; the classless build styles plain semantic HTML.
    Package(
        name="@picocss/pico",
        version="2.1.1",
        files=("css/pico.min.css", "css/pico.classless.min.css", "LICENSE.md"),
        target="dashboard/vendor/pico",
    ),
    # uPlot 1.6: the IIFE build defines the global `uPlot`, so pages need no bundler.
    Package(
        name="uplot",
        version="1.6.32",
        files=("dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"),
        target="dashboard/vendor/uplot",
    ),
)
BY_NAME = {package.name: package for package in PACKAGES}


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def _npm_pack(spec: str, into: Path) -> dict[str, str]:
    completed = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    )
    packed: list[dict[str, str]] = json.loads(completed.stdout)
    return packed[0]


def vendor(package: Package, version: str) -> tuple[Path, str]:
    """Replaces the package's folder with `version` (an npm version or range) of its files.

    Returns the folder and the version npm resolved.
    """
    target = STATIC / package.target
    with tempfile.TemporaryDirectory() as tmp:
        packed = _npm_pack(f"{package.name}@{version}", Path(tmp))
        # npm resolves a range or tag to one version: that is the one to check and record.
        if _major(packed["version"]) != package.major:
            raise SystemExit(
                f"{package.name} {packed['version']} is not {package.major}.x, the major the"
                " service is written for: change the pin in PACKAGES deliberately instead."
            )
        staging = Path(tmp) / "staging"
        staging.mkdir()
        checksums: dict[str, str] = {}
        with tarfile.open(Path(tmp) / packed["filename"]) as archive:
            for path in package.files:
                name = Path(path).name
                if name in checksums or name == "SOURCE.json":
                    raise SystemExit(f"{package.name}: two files would be written as {name}")
                member = archive.extractfile(f"package/{path}")
                if member is None:
                    raise SystemExit(f"{package.name}@{packed['version']} has no {path}")
                data = member.read()
                (staging / name).write_bytes(data)
                checksums[name] = hashlib.sha256(data).hexdigest()
        source = {
            "package": package.name,
            "version": packed["version"],
            "integrity": packed["integrity"],
            "generated_by": "scripts/vendor_assets.py",
            "sha256": checksums,
        }
        (staging / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, target)
    return target, packed["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help=f"npm names to vendor (default: all of {', '.join(BY_NAME)})",
    )
    parser.add_argument(
        "--version", help="an npm version or range for the one PACKAGE named (default: its pin)"
    )
    args = parser.parse_args()
    unknown = [name for name in args.packages if name not in BY_NAME]
    if unknown:
        parser.error(f"not in PACKAGES: {', '.join(unknown)}")
    if args.version is not None and len(args.packages) != 1:
        parser.error("--version needs exactly one PACKAGE")
    for package in [BY_NAME[name] for name in args.packages] or PACKAGES:
        target, resolved = vendor(package, args.version or package.version)
        print(f"{package.name} {resolved} -> {target.relative_to(STATIC.parents[2])}")
        if resolved != package.version:
            print(
                f"  the pin is {package.version}: set it to {resolved} in PACKAGES,"
                " or the next run without --version puts it back",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
