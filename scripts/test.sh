#!/usr/bin/env bash
# The one test command (README and .ci/run call it): every *.test.ts of the library and the demo
# app, through node:test with tsx, resolving `sessionkeeper` to its TypeScript source.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find packages apps -name node_modules -prune -o -name '*.test.ts' -print | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --conditions=sessionkeeper-source --test --test-concurrency=2 "$@" "${files[@]}"
