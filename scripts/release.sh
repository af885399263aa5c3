#!/usr/bin/env bash
# Releases every module of the repository at one VERSION: the nested
# modules' go.mod files require the root (and, for examples, the sibling
# modules) at VERSION, keeping their `replace` to the local tree; then the
# root is tagged VERSION and each nested module DIR/VERSION, a module after
# the modules it requires. examples is not tagged (it is not for import).
#
#   scripts/release.sh VERSION            dry run: prints what it would do, changes nothing
#   scripts/release.sh --apply VERSION    commits the go.mod changes (if any) and tags, locally
#   scripts/release.sh --push VERSION     --apply, then pushes the commit and the tags, root tag first
#
# REMOTE (default origin) is where --push pushes. See docs/RELEASING.md.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=dry
version=
for arg in "$@"; do
  case $arg in
  --apply) mode=apply ;;
  --push) mode=push ;;
  -h | --help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  -*)
    echo "release.sh: unknown option $arg (want --apply or --push)" >&2
    exit 2
    ;;
  *) version=$arg ;;
  esac
done
if ! [[ $version =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "release.sh: want a semantic version such as v0.1.0, got '${version}'" >&2
  echo "usage: scripts/release.sh [--apply|--push] VERSION" >&2
  exit 2
fi
if [[ ! $version =~ ^v[01]\. ]]; then
  echo "release.sh: $version needs a /vN module path (Go's major version rule); this script releases v0 and v1 only" >&2
  exit 2
fi
remote=${REMOTE:-origin}

modpath() { awk '$1 == "module" { print $2; exit }' "$1/go.mod"; }
# requires DIR: the module paths DIR's go.mod requires, one a line.
requires() {
  awk '$1 == "require" && $2 != "(" { print $2; next }
    $1 == "require" { inside = 1; next }
    inside && $1 == ")" { inside = 0; next }
    inside { print $1 }' "$1/go.mod"
}

root=$(modpath .)
list=$(bash scripts/modules.sh) # fails when go.work and the go.mod files disagree
mapfile -t dirs <<<"$list"
nested=()
for d in "${dirs[@]}"; do
  [ "$d" = . ] || nested+=("$d")
done

# The latest root tag, by version order, so VERSION can be checked to be newer.
latest=$(git tag --list 'v*' | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+' | sort -V | tail -n 1 || true)
if [ -n "$latest" ]; then
  newest=$(printf '%s\n%s\n' "$latest" "$version" | sort -V | tail -n 1)
  if [ "$latest" = "$version" ] || [ "$newest" != "$version" ]; then
    echo "release.sh: $version is not newer than the latest tag $latest" >&2
    exit 1
  fi
fi

# Tag order: the root, then each nested module once every module of this
# repository it requires is tagged. examples, and any module outside
# go.work, is never tagged.
order=(.)
pending=()
for d in "${nested[@]}"; do
  [ "$d" = examples ] || pending+=("$d")
done
while [ ${#pending[@]} -gt 0 ]; do
  progress=0
  rest=()
  for d in "${pending[@]}"; do
    ready=1
    for p in $(requires "$d"); do
      for o in "${pending[@]}"; do
        if [ "$o" != "$d" ] && [ "$p" = "$(modpath "$o")" ]; then ready=0; fi
      done
    done
    if [ $ready = 1 ]; then order+=("$d"); progress=1; else rest+=("$d"); fi
  done
  if [ $progress = 0 ]; then
    echo "release.sh: the nested modules require each other in a cycle: ${rest[*]}" >&2
    exit 1
  fi
  pending=(${rest[@]+"${rest[@]}"})
done
tagof() { if [ "$1" = . ]; then echo "$version"; else echo "$1/$version"; fi; }

for d in "${order[@]}"; do
  if git rev-parse -q --verify "refs/tags/$(tagof "$d")" >/dev/null; then
    echo "release.sh: tag $(tagof "$d") exists already" >&2
    exit 1
  fi
done
if [ $mode != dry ] && [ -n "$(git status --porcelain)" ]; then
  echo "release.sh: the work tree has uncommitted changes; commit or stash them first" >&2
  exit 1
fi

# run prints a command and, unless this is a dry run, runs it.
run() {
  printf '+ %s\n' "$*"
  if [ $mode != dry ]; then "$@"; fi
}

case $mode in
dry) echo "release $version: dry run, nothing is changed (--apply to commit and tag here, --push to push as well)" ;;
*) echo "release $version: $mode" ;;
esac
echo "latest tag: ${latest:-none}"
echo "tag order: ${order[*]} (examples: not tagged)"

# 1. Every nested module requires this repository's modules at VERSION.
changed=0
for d in "${nested[@]}"; do
  for p in $(requires "$d"); do
    case $p in "$root" | "$root"/*) ;; *) continue ;; esac
    have=$(awk -v p="$p" '$1 == p && $2 ~ /^v[0-9]/ { print $2 } $1 == "require" && $2 == p { print $3 }' "$d/go.mod")
    if [ "$have" != "$version" ]; then
      run go mod edit -require="$p@$version" "$d/go.mod"
      changed=1
    fi
  done
done

# 2. Each module builds on its own go.mod (the replaces keep it offline).
for d in "${dirs[@]}"; do
  printf '+ (cd %s && GOWORK=off go build ./...)\n' "$d"
  if [ $mode != dry ]; then (cd "$d" && GOWORK=off go build ./...); fi
done

# 3. One commit holds the requirements; every tag points at it.
if [ $changed = 1 ]; then
  run git commit -q -m "release $version: the nested modules require $root $version" -- $(for d in "${nested[@]}"; do echo "$d/go.mod"; done)
fi
for d in "${order[@]}"; do
  run git tag -a "$(tagof "$d")" -m "$(modpath "$d") $version"
done

# 4. Push the commit, then the tags in order: the root first, so a nested
# module's requirement resolves as soon as its own tag is visible.
if [ $mode = push ]; then
  run git push "$remote" HEAD
  for d in "${order[@]}"; do
    run git push "$remote" "refs/tags/$(tagof "$d")"
  done
else
  echo "push: git push $remote HEAD, then $(for d in "${order[@]}"; do printf '%s ' "$(tagof "$d")"; done)(or run with --push)"
fi
