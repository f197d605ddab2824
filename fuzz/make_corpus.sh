#!/usr/bin/env bash
# Regenerates the committed seed corpus, fuzz/corpus/<target>/seed-*, from our own fixtures
# (examples/make_corpus.rs says which). Entries the fuzzers added are left alone.
set -euo pipefail
cd "$(dirname "$0")"
find corpus -name 'seed-*' -delete 2>/dev/null || true
cargo run --quiet --example make_corpus -- corpus
