"""Where the browser tests find Chromium and how they start it (Debian's build, never a download)."""

import os

CHROMIUM = os.environ.get("SPOTCHECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
