#!/usr/bin/env bash
# Prepare this machine for Yishi: Debian packages, a virtual environment in .venv and the Python
# packages from pyproject.toml. Safe to run again: each step is skipped when already done.
#
#   scripts/setup.sh          what `yishi demo` needs
#   scripts/setup.sh --test   also what the test suite needs (chromium, pdf tools, test extras)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
if [ "${1:-}" = "--test" ]; then want_test=1; fi

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
# fonts-wqy-microhei: without a CJK font Chinese in PDFs renders as empty boxes, with no error.
# libharfbuzz-subset0: without it WeasyPrint embeds whole fonts and is ~4.5x slower.
# libpango-1.0-0 / libpangoft2-1.0-0: WeasyPrint's text layout.
debs=(fonts-wqy-microhei libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
if [ $want_test = 1 ]; then debs+=(chromium poppler-utils); fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
    if [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; then
      say "installing Debian packages: ${missing[*]}"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      die "missing Debian packages: ${missing[*]} — run as root: apt-get install -y ${missing[*]}"
    fi
  else
    die "missing system packages (${missing[*]}) and no apt-get here: install their equivalents, then run again"
  fi
fi

# --- Python virtual environment --------------------------------------------------------------
py=${PYTHON:-python3}
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11 or newer is needed; found $("$py" --version 2>&1). Set PYTHON=/path/to/python3.11"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$py" -m venv .venv || die "could not create .venv with $py: on Debian install python3-venv (apt-get install -y python3-venv)"
fi

# Reinstall only when pyproject.toml (or the wanted extras) changed since the last install.
extras="" ; stamp=".venv/.yishi-installed"
if [ $want_test = 1 ]; then extras="[test]"; stamp="$stamp-test"; fi
# The bundled practice plugins (plugins/*/pyproject.toml) are ordinary packages: installed
# editable alongside core, so their entry points register them.
plugin_dirs=() ; plugin_projects=()
for d in plugins/*/; do
  if [ -f "${d}pyproject.toml" ]; then plugin_dirs+=("-e" "${d%/}"); plugin_projects+=("${d}pyproject.toml"); fi
done
digest=$(cat pyproject.toml "${plugin_projects[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  say "installing Python packages into .venv (pip install -e .$extras ${plugin_dirs[*]:-})"
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel >/dev/null
  .venv/bin/python -m pip install -q -e ".$extras" "${plugin_dirs[@]}"
  echo "$digest" > "$stamp"
fi
say "ready: $(.venv/bin/python --version), .venv/bin/yishi"
