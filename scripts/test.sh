#!/usr/bin/env bash
# The one test command (README and .ci/run call it): every *.test.ts of the library, the demo app
# and the examples, through node:test with tsx, resolving `sessionkeeper` to its TypeScript source.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find packages apps examples -name node_modules -prune -o -name '*.test.ts' -print | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# A test that hangs fails after 10 minutes (the slowest suite takes ~1.5 minutes on two idle cores)
# instead of holding the run until CI's own limit. Not --test-force-exit: it ends a file as soon as
# the tests known so far are done, silently dropping suites declared after a top-level await.
exec node --import tsx --conditions=sessionkeeper-source --test --test-concurrency=2 \
  --test-timeout=600000 "$@" "${files[@]}"
