#!/usr/bin/env bash
# What the browser suite needs besides Python: Debian's Chromium and CJK fonts (Playwright's own browser
# download is not used) and axe-core, pinned in tests/browser/package-lock.json. Installed once, quietly;
# nothing is fetched when they are present. Called by `make test`, so the README's test command works on
# a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# grep reads all of fc-list's output (no -q): with pipefail, an early exit would fail the pipe by SIGPIPE.
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
if ((${#missing[@]})); then
  echo "== installing ${missing[*]} for the browser suite"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

axe_pinned=$(node -p "require('./tests/browser/package.json').dependencies['axe-core']")
axe_present=$(node -p "require('./tests/browser/node_modules/axe-core/package.json').version" 2>/dev/null || true)
if [ "$axe_pinned" != "$axe_present" ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
