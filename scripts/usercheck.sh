#!/usr/bin/env bash
# Checks what a user's module gets from this repository. It creates four
# fresh user apps outside the repository, each with a replace to this
# checkout (as a user testing a local copy would), from the README's
# snippets verbatim: each app's main.go is the README's snippet of that
# name (<!-- snippet: NAME -->) and its main_test.go the README's
# "app-test" snippet. It fails unless each app builds and its test passes,
# and:
#
#   nethttp: imports only middleware: no go-redis, gin, echo or chromedp in
#            `go list -deps`, nor their modules in `go list -m all`;
#   chi:     imports only middleware and chi: no go-redis, gin, echo or
#            chromedp;
#   gin:     imports adapters/qelosgin: no echo, go-redis or chromedp;
#   echo:    imports adapters/qelosecho (echo v4): no gin, go-redis or
#            chromedp;
#
# and `go mod tidy` leaves each app's go directive alone when it is the
# root module's own or above; and the gin app can move to the oldest gin
# adapters/qelosgin supports (the gin in its go.mod) with `go get`. It prints, per app, the counts docs/RELEASING.md
# quotes (packages in `go list -deps`, modules in `go list -m all`) and the
# stripped binary size.
#
# It runs with GOWORK=off and GOFLAGS=-mod=mod, so it needs no network once
# the module cache holds the repository's dependencies (the tests of every
# module have put them there); otherwise it downloads them through GOPROXY.
#
#   bash scripts/usercheck.sh          # check
#   KEEP=1 bash scripts/usercheck.sh   # and keep the apps (path printed)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=github.com/qelos-io/integrator-go
rootgo=$(awk '$1 == "go" { print $2; exit }' go.mod)
above=1.26.0 # a go directive above the root's, which must stay as it is

export GOWORK=off GOFLAGS=-mod=mod
tmp=$(mktemp -d)
if [ -z "${KEEP:-}" ]; then trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT; else echo "apps kept in $tmp"; fi

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# snippet NAME prints the ```go block of README.md after the line
# "<!-- snippet: NAME -->", verbatim.
snippet() {
  grep -qx "<!-- snippet: $1 -->" README.md || { echo "FAIL: README.md has no snippet $1" >&2; return 1; }
  awk -v want="<!-- snippet: $1 -->" '
    $0 == want { armed = 1; next }
    armed && $0 == "```go" { inside = 1; next }
    inside && $0 == "```" { exit }
    inside { print }
  ' README.md
}
snippet app-test >"$tmp/main_test.go"

# app NAME GOVERSION "NESTED MODULES" "FORBIDDEN PATTERNS" < main.go
# Creates the app, tidies it, and checks it. With $uses set ("module@version"),
# the app requires that module itself, as an app that picked its framework's
# version would; with $downgrade set, it must then be able to go get that
# older version.
app() {
  local name=$1 gover=$2 nested=$3 forbidden=$4
  local dir=$tmp/$name-go$gover
  mkdir -p "$dir"
  cat >"$dir/main.go"
  cp "$tmp/main_test.go" "$dir/main_test.go"
  {
    printf 'module example.com/%s\n\ngo %s\n\n' "$name" "$gover"
    printf 'require %s v0.0.0-00010101000000-000000000000\n' "$root"
    printf 'replace %s => %s\n' "$root" "$repo"
    [ -n "${uses:-}" ] && printf 'require %s %s\n' "${uses%@*}" "${uses#*@}"
    for m in $nested; do
      printf 'require %s/%s v0.0.0-00010101000000-000000000000\n' "$root" "$m"
      printf 'replace %s/%s => %s/%s\n' "$root" "$m" "$repo" "$m"
    done
  } >"$dir/go.mod"
  (
    cd "$dir"
    if ! go mod tidy; then
      echo "FAIL: go mod tidy in the $name app" >&2
      exit 1
    fi
    got=$(awk '$1 == "go" { print $2; exit }' go.mod)
    if [ "$got" != "$gover" ]; then
      echo "FAIL: $name app: go mod tidy changed its go directive from $gover to $got" >&2
      exit 1
    fi
    # (errexit does not hold inside a subshell tested with ||: each step
    # checks its own status.)
    if ! go build -ldflags='-s -w' -o app .; then
      echo "FAIL: go build of the $name app" >&2
      exit 1
    fi
    if ! go test -count=1 . >test.log 2>&1; then
      echo "FAIL: the README's app test fails in the $name app:" >&2
      sed 's/^/    /' test.log >&2
      exit 1
    fi
    deps=$(go list -deps .) && mods=$(go list -m all) || {
      echo "FAIL: go list in the $name app" >&2
      exit 1
    }
    bad=0
    for pat in $forbidden; do
      if grep -q "$pat" <<<"$deps"; then
        echo "FAIL: $name app links $(grep -c "$pat" <<<"$deps") package(s) of $pat:" >&2
        grep "$pat" <<<"$deps" | head -5 | sed 's/^/    /' >&2
        bad=1
      fi
      if grep -q "$pat" <<<"$mods"; then
        echo "FAIL: $name app's module graph lists $(grep "$pat" <<<"$mods" | tr '\n' ' ')" >&2
        bad=1
      fi
    done
    printf '%-8s go %-7s  go list -deps: %4d packages   go list -m all: %3d modules   stripped binary: %s bytes\n' \
      "$name" "$gover" "$(wc -l <<<"$deps")" "$(wc -l <<<"$mods")" "$(stat -c %s app)"
    # (-mod=readonly: go get has written what the build needs; -mod=mod
    # would go looking for the test dependencies of gin's dependencies.)
    if [ -n "${downgrade:-}" ] && ! { go get "$downgrade" && GOFLAGS=-mod=readonly go build -o /dev/null . &&
      [ "$(GOFLAGS=-mod=readonly go list -m -f '{{.Path}}@{{.Version}}' "${downgrade%@*}")" = "$downgrade" ]; }; then
      echo "FAIL: $name app: go get $downgrade, then go build" >&2
      exit 1
    fi
    exit $bad
  ) || fail "$name app (go $gover)"
}

redis=github.com/redis/go-redis
gin=github.com/gin-gonic/gin
echo=github.com/labstack/echo
chromedp=github.com/chromedp
chi=github.com/go-chi/chi/v5

for gover in "$rootgo" "$above"; do
  app nethttp "$gover" "" "$redis $gin $echo $chromedp" < <(snippet nethttp)

  uses=$chi@$(awk '$1 == "github.com/go-chi/chi/v5" { print $2 }' examples/go.mod) \
    app chi "$gover" "" "$redis $gin $echo $chromedp" < <(snippet chi)

  # the newest gin the repository uses (the examples'), then the oldest
  # that adapters/qelosgin supports (its go.mod's)
  uses=$gin@$(awk '$1 == "github.com/gin-gonic/gin" { print $2 }' examples/go.mod) \
    downgrade=$gin@$(awk '$1 == "github.com/gin-gonic/gin" { print $2 }' adapters/qelosgin/go.mod) \
    app gin "$gover" "adapters/qelosgin" "$redis $echo $chromedp" < <(snippet gin)

  app echo "$gover" "adapters/qelosecho" "$redis $gin $chromedp" < <(snippet echo)
done

if [ "$failures" -gt 0 ]; then
  echo "usercheck: $failures app(s) failed" >&2
  exit 1
fi
echo "usercheck: every app links only what it imports"
