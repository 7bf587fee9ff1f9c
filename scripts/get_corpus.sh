#!/usr/bin/env bash
# Put a corpus under data/corpus and track it with DVC, so that every run -- queued
# experiments in .dvc/tmp/exps included -- finds it inside the repo and its cache.
# Usage: scripts/get_corpus.sh [SOURCE_FOLDER]   (default: ../shared/data/ravdess-song)
set -euo pipefail
src=${1:-../shared/data/ravdess-song}
dest=data/corpus
if [ ! -d "$src" ] && [ ! -d "$dest" ]; then
  echo "error: corpus folder '$src' does not exist" >&2; exit 1
fi
if [ -d "$src" ]; then
  mkdir -p "$dest"
  cp -R "$src"/. "$dest"/
fi
dvc add -q "$dest"
echo "corpus: $(find "$dest" -type f | wc -l) files tracked as $dest.dvc"
