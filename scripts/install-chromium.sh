#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the site browser tests (tests/integration/test_site_browser*.py).
# Idempotent: exits 0 at once when a chromium binary is already on PATH (or at $CHROMIUM).
set -euo pipefail

find_chromium() {
    if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]]; then echo "${CHROMIUM}"; return 0; fi
    for name in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}

if path="$(find_chromium)"; then
    echo "chromium already installed: $path"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: apt-get not found; install Chromium yourself and set CHROMIUM=/path/to/chromium" >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-chromium: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
path="$(find_chromium)"
echo "chromium installed: $path"
"$path" --version || true
