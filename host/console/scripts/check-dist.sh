#!/usr/bin/env bash
# CI's check that the committed dist/ is what the sources build to:
# a locked install, a build, then no difference (changed, added or removed
# files) under dist/. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm run build
npm test
changes="$(git status --porcelain -- dist)"
if [ -n "$changes" ]; then
  echo "host/console/dist differs from its sources; run 'npm run build' in host/console and commit dist/:" >&2
  echo "$changes" >&2
  exit 1
fi
echo "host/console/dist matches its sources"
