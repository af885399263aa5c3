#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (redis-server and chromium, from Debian); then, in every Go module of the
# repository (scripts/modules.sh: the root and the nested modules of
# go.work), each on its own go.mod (GOWORK=off), checks that go.mod/go.sum
# are tidy, runs go vet and staticcheck, and runs every test with the race
# detector; checks that fresh user apps get only the dependencies they use
# (scripts/usercheck.sh); then fuzzes every fuzz target for a bounded time
# (FUZZTIME, default 15s each; FUZZTIME=0 skips it). The tests start their
# own services (Qelos-compatible server, redis-server, headless Chromium)
# on loopback and stop them when done; refresh/redisstore's also build a
# 3-master Redis Cluster and a Sentinel-watched master and replica from the
# same redis-server binary (cluster mode and --sentinel need nothing else:
# no redis-cli, no redis-sentinel package).
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

modules=$(bash scripts/modules.sh)
# Each module is checked against its own go.mod, as a user's build sees it
# (a nested module reaches the root through its replace directive).
export GOWORK=off

echo "==> gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

for m in $modules; do
  echo "==> module $m: go mod tidy -diff, go vet, staticcheck"
  (
    cd "$m"
    if ! go mod tidy -diff; then
      echo "go.mod/go.sum of module $m are not tidy: run go mod tidy in $m" >&2
      exit 1
    fi
    go vet ./...
    go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
  )
done

failed=()
for m in $modules; do
  echo "==> module $m: go test -race"
  (cd "$m" && go test -race -count=1 "$@" ./...) || failed+=("$m")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "go test -race failed in module(s): ${failed[*]}" >&2
  exit 1
fi

echo "==> user apps (scripts/usercheck.sh)"
bash scripts/usercheck.sh

if [ "${FUZZTIME:-15s}" != "0" ]; then
  echo "==> fuzz"
  bash scripts/fuzz.sh
fi
