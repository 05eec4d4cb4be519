#!/bin/sh
# Draws the book's sequence diagrams from real runs: each scenario here is
# run with its socket events traced, and the trace drawn as
# book/src/figures/trace-NAME.svg, titled by the scenario's first line
# ("// diagram: TITLE"). Run from the repository's top folder:
#     sh book/diagrams/draw.sh
# tests/book.rs checks that the figures are what this draws
# (SOCKREPL_BLESS=1 cargo test --test book does the same as this script).
set -eu
cargo build --quiet --bin repl
repl=target/debug/repl
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
for scenario in book/diagrams/*.rhai; do
    name=$(basename "$scenario" .rhai)
    title=$(sed -n '1s|^// diagram: ||p' "$scenario")
    "$repl" --trace-to "$trace" "$scenario" > /dev/null
    "$repl" --diagram "$trace" --title "$title" > "book/src/figures/trace-$name.svg"
    echo "book/src/figures/trace-$name.svg"
done
