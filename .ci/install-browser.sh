#!/usr/bin/env bash
# Installs Debian's chromium and the Liberation fonts for the classroom browser tests
# (test/classroom/browser.test.ts), only when they are missing. Called from .ci/run before `npm test`.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Liberation Sans"; then
  chromium --version 2>/dev/null || true
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-liberation >/dev/null
chromium --version 2>/dev/null || true
