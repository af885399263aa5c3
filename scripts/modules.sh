#!/usr/bin/env bash
# Prints the directory of every Go module of the repository, one per line,
# relative to the repository root, root module first (".", then the nested
# modules in go.work order). Fails if a go.mod in the tree is missing from
# go.work, or go.work names a directory without one, so that no module is
# left out of the checks that loop over this list.
set -euo pipefail
cd "$(dirname "$0")/.."

in_work=$(GOWORK="$PWD/go.work" go list -m -f '{{.Dir}}' | sed "s|^$PWD|.|; s|^\./||; s|^$|.|")
on_disk=$(find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' | sed 's|/go.mod$||; s|^\./||; s|^$|.|' | sort)
if [ "$(sort <<<"$in_work")" != "$on_disk" ]; then
  echo "go.work and the go.mod files disagree:" >&2
  diff <(sort <<<"$in_work") <(echo "$on_disk") >&2 || true
  echo "add the module with: go work use ./path/to/module" >&2
  exit 1
fi
echo "$in_work"
