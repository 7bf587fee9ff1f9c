#!/usr/bin/env bash
# Put a corpus under data/corpus and track it with DVC, so that every run -- queued
# experiments in .dvc/tmp/exps included -- finds it inside the repo and its cache.
# Usage: scripts/get_corpus.sh [SOURCE_FOLDER]   (default: ../shared/data/ravdess-song)
# The tracked corpus always equals SOURCE_FOLDER: an older corpus in data/corpus is
# replaced, never mixed with the new one. Without SOURCE_FOLDER present, data/corpus
# (e.g. from dvc pull) is tracked as it is.
set -euo pipefail
src=${1:-../shared/data/ravdess-song}
dest=data/corpus
if [ ! -d "$src" ] && [ ! -d "$dest" ]; then
  echo "error: corpus folder '$src' does not exist" >&2; exit 1
fi
if [ -d "$src" ]; then
  src_real=$(cd "$src" && pwd -P)
  mkdir -p "$(dirname "$dest")"
  dest_real=$(mkdir -p "$dest" && cd "$dest" && pwd -P)
  case "$src_real/" in
    "$dest_real"/*) echo "error: corpus folder '$src' is inside $dest; pass the original folder" >&2; exit 1;;
  esac
  old=$(find "$dest" -type f | wc -l)
  staging=$(mktemp -d "$(dirname "$dest")/.corpus.tmp-XXXXXX")  # copy first: a failed copy leaves the old corpus
  trap 'rm -rf "$staging"' EXIT
  cp -R "$src"/. "$staging"/
  if [ "$old" -gt 0 ]; then
    echo "corpus: replacing the $old files in $dest with $src"
  fi
  rm -rf "$dest"
  mv "$staging" "$dest"
  trap - EXIT
fi
dvc add -q "$dest"
echo "corpus: $(find "$dest" -type f | wc -l) files tracked as $dest.dvc"
