#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (redis-server and chromium, from Debian), checks formatting, vet and
# staticcheck, runs every test with the race detector, then fuzzes every
# fuzz target for a bounded time (FUZZTIME, default 15s each; FUZZTIME=0
# skips it). The tests start their own services (Qelos-compatible server,
# redis-server, headless Chromium) on loopback and stop them when done.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -run Storm # extra flags go to `go test`
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Tests that need these services fail instead of skipping when they are missing.
export QELOS_TEST_REQUIRE_SERVICES=1

echo "==> gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "==> go vet"
go vet ./...

echo "==> staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "==> go test -race"
go test -race -count=1 "$@" ./...

if [ "${FUZZTIME:-15s}" != "0" ]; then
  echo "==> fuzz"
  bash scripts/fuzz.sh
fi
