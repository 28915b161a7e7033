#!/usr/bin/env bash
# The demo's first run and the import of a whole tracker release, timed on release builds of
# this tree and, side by side in the same run, of an earlier revision (issue 10; the figures
# are in BENCHMARKS.md).
#
#   scripts/bench-demo.sh [BEFORE_REV] [RUNS]     # defaults: 29bf87a (before issue 10) 5
#
# Each run starts from a new, empty directory on the same disk: `steadfast demo` creates the
# ledger and loads everything (that is the first run a new user sees); then
# `steadfast import tracker` loads Release 29 once more as a new dataset on top of it, and
# once into an empty ledger. BEFORE_REV is built in a temporary git worktree with its own
# target directory (removed afterwards); it has no tracker import, so only its demo is timed.
#
# Environment: CARGO_TARGET_DIR (where this tree's release binary is built; default target/).
# Needs: cargo, git, GNU time at /usr/bin/time, awk.
set -euo pipefail

BEFORE=${1:-29bf87a}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
NOW_BIN=$TARGET_DIR/release/steadfast
TRACKER=$ROOT/data/kiel-ust-r29/data_explorer.csv

die() { echo "bench-demo.sh: $*" >&2; exit 1; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ -x /usr/bin/time ]] || die "GNU time is not installed at /usr/bin/time (apt-get install time)"

W=$(mktemp -d "${TMPDIR:-/tmp}/steadfast-bench-demo.XXXXXX")
OLD_TREE=$W/before-tree
cleanup() {
    git -C "$ROOT" worktree remove --force "$OLD_TREE" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT

echo "building this tree (release) ..." >&2
(cd "$ROOT" && cargo build --release --locked --bin steadfast -q)
echo "building $BEFORE (release, in a worktree) ..." >&2
git -C "$ROOT" worktree add --detach "$OLD_TREE" "$BEFORE" >/dev/null 2>&1
(cd "$OLD_TREE" && CARGO_TARGET_DIR=$W/before-target cargo build --release --locked --bin steadfast -q)
OLD_BIN=$W/before-target/release/steadfast

# Runs a command in a fresh directory; prints "seconds peak_MiB".
timed() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && /usr/bin/time -f '%e %M' -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err") ||
        die "failed in $dir: $* ($(cat "$dir/err"))"
    awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$dir/time"
}

summary() { # label, then lines "seconds MiB"
    local label=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v label="$label" '
        { s[NR] = $1; m[NR] = $2 }
        END { printf "| %s | %s | %s-%s | %s MiB |\n", label, s[int((NR + 1) / 2)], s[1], s[NR], m[NR] }'
}

old_demo=() new_demo=() tracker_demo=() tracker_empty=()
for i in $(seq 1 "$RUNS"); do
    echo "run $i of $RUNS ..." >&2
    old_demo+=("$(timed "$W/old-$i" "$OLD_BIN" demo)")
    new_demo+=("$(timed "$W/new-$i" "$NOW_BIN" demo)")
    tracker_demo+=("$(timed "$W/new-$i" "$NOW_BIN" import tracker "$TRACKER" --dataset kiel-again)")
    tracker_empty+=("$(timed "$W/empty-$i" "$NOW_BIN" import tracker "$TRACKER" --dataset kiel)")
done

echo
echo "$(nproc) CPUs, $(uname -srm); this tree at $(git -C "$ROOT" rev-parse --short HEAD), before = $BEFORE; $RUNS runs each"
echo
echo "| what | median s | range s | peak RSS |"
echo "|---|---|---|---|"
summary "demo, first run, before ($BEFORE)" "${old_demo[@]}"
summary "demo, first run, now" "${new_demo[@]}"
summary "import tracker (1,079 rows) onto the demo's ledger" "${tracker_demo[@]}"
summary "import tracker (1,079 rows) into an empty ledger" "${tracker_empty[@]}"
