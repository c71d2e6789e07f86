#!/usr/bin/env bash
# Set up coupadl on a fresh Debian/Ubuntu machine: the browser and its driver
# (Debian's chromium + chromium-driver, when missing), the DejaVu font for .msg
# PDFs, a virtual environment in .venv, and the package with its test tools.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
# The Unicode font embedded in the PDFs made from Outlook .msg files.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
# Xvfb, for the test that signs in through a visible browser window. Only installed
# as root (as in CI, where that test is then required); without it the test skips.
if [ "$(id -u)" -eq 0 ]; then command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb); fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}." >&2
    echo "       Install them as root: sudo apt-get install ${need_apt[*]}" >&2
    echo "       (on Windows/macOS use Edge or Chrome: see README, 'Your own browser')" >&2
    exit 1
  fi
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: coupadl needs Python 3.11 or newer, this is {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "setup: ready. Try: .venv/bin/coupadl demo"
