"""/docs in a real browser: headless Chromium renders the operations with no internet access.

Chromium resolves no host but 127.0.0.1 here, so a page that still loads an asset from a CDN
renders nothing and fails. CI installs Chromium (.ci/run) and fails without it; elsewhere the
test is skipped, saying how to install it.
"""

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Swagger UI renders after fetching the document; virtual time lets it finish before the dump.
RENDER_BUDGET_MS = 20_000


def _chromium() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing in CI: .ci/run installs it (apt-get install chromium).")
    pytest.skip("Chromium is not installed: `apt-get install -y chromium` to run this test.")


async def _dump_dom(browser: str, url: str, profile: Path) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # No network but this machine: a CDN asset would fail to load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--virtual-time-budget={RENDER_BUDGET_MS}",
        "--dump-dom",
        url,
    ]
    completed = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=90, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", ["/docs", "/api/docs/"])
async def test_swagger_ui_renders_the_operations_offline(
    contract_server: str, tmp_path: Path, path: str
) -> None:
    browser = _chromium()
    dom = await _dump_dom(browser, contract_server + path, tmp_path / "profile")
    assert "swagger-ui" in dom, dom[:2000]
    # One block per operation, e.g. the freelancers collection, both of its methods.
    operations = re.findall(r'class="opblock opblock-(\w+)', dom)
    assert len(operations) > 20, dom[:2000]
    freelancers = re.findall(r'data-path="/v1/freelancers"', dom)
    assert len(freelancers) >= 2, "no operations of /v1/freelancers rendered"
    assert "Worksible API" in dom
    # The document's description rendered too, and the deprecated alias is shown as such.
    assert "Idempotency" in dom
    assert 'class="opblock-summary-path__deprecated"' in dom
