#!/usr/bin/env bash
# Whole-process benchmarks of the `steadfast` binary at scale, side by side with the sqlite3
# shell on the same CSV (issue 4; what the figures mean is in BENCHMARKS.md).
#
#   scripts/bench.sh [EVENTS] [SEED]        # defaults: 1000000 1
#
# Environment: CARGO_TARGET_DIR (where the release binary is built; default target/),
# BENCH_DIR (the working directory; default a new one under ${TMPDIR:-/tmp}, on a real disk:
# fsync must cost what it costs), KEEP=1 (keep the CSV, the ledger and the SQLite database),
# BENCH_COMMIT (how to name the build when the tree is not a git checkout).
#
# Needs: cargo, sqlite3 (3.32+ for `.import --csv --skip`), GNU time at /usr/bin/time, awk;
# python3 (optional) to check that both sides computed the same scoreboard.
set -euo pipefail

EVENTS=${1:-1000000}
SEED=${2:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/steadfast
FRAMEWORK=washington-2024
# The SQL peer computes literal counting over the scenario and the imported rows: the report is
# asked the same (the demo also loads the tracker's release as a third dataset, and the
# framework counts by stage reached by default; BENCHMARKS.md times that rule in process).
SCOPE=(--dataset ledger --dataset scenario-2024 --counting literal)

die() { echo "bench.sh: $*" >&2; exit 1; }
[[ $EVENTS =~ ^[0-9]+$ && $EVENTS -gt 0 ]] || die "EVENTS must be a positive integer, not '$EVENTS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer, not '$SEED'"
for tool in cargo sqlite3 awk; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ -x /usr/bin/time ]] || die "GNU time is not installed at /usr/bin/time (apt-get install time)"

W=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/steadfast-bench.XXXXXX")}
mkdir -p "$W"
CSV=$W/synthetic.csv
LEDGER=$W/ledger.sqlite
SQLDB=$W/sqlite3.db
RESULTS=$W/results.md

SAMPLER=""
cleanup() {
    local status=$?
    if [[ -n $SAMPLER ]]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [[ ${KEEP:-0} != 1 ]]; then
        rm -f "$CSV" "$LEDGER" "$LEDGER"-wal "$LEDGER"-shm "$SQLDB" "$SQLDB"-wal "$SQLDB"-shm \
            "$W/rates-long.csv"
    fi
    if [[ $status -ne 0 ]]; then
        echo "bench.sh: FAILED (exit $status); logs in $W" >&2
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Build and describe the machine
# ---------------------------------------------------------------------------------------------

echo "== building the release binary (target dir $TARGET_DIR)"
(cd "$ROOT" && cargo build --release --bin steadfast)
[[ -x $BIN ]] || die "no binary at $BIN after the build"

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
disk=$(findmnt -n -o SOURCE,FSTYPE -T "$W" 2>/dev/null | tr -s ' ' || echo unknown)
disk_free=$(df -h --output=avail "$W" | tail -1 | tr -d ' ')
os=$(awk -F= '/^PRETTY_NAME=/ { gsub(/"/, "", $2); print $2 }' /etc/os-release 2>/dev/null || true)
os=${os:-$(uname -s)}
commit=${BENCH_COMMIT:-$(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)}
others=$(pgrep -c -x 'rustc|cargo' 2>/dev/null || true)

MACHINE="| what | value |
|---|---|
| CPUs (nproc) | $(nproc) |
| CPU model | $cpu_model |
| RAM | $mem_total |
| OS, kernel | $os, $(uname -r) |
| rustc | $(rustc --version) |
| sqlite3 shell | $(sqlite3 --version | cut -d' ' -f1,2) |
| disk of the work dir | $disk ($disk_free free), $W |
| steadfast build | $commit, $BIN |
| load average at start | $(cut -d' ' -f1-3 /proc/loadavg) |
| other rustc/cargo processes at start | ${others:-0} |"
echo
echo "$MACHINE"

# Is anyone else busy on this machine meanwhile? Once a second: the 1-minute load average and
# how many rustc processes run (another build skews every figure on a small machine).
(while sleep 1; do
    echo "$(cut -d' ' -f1 /proc/loadavg) $(pgrep -c -x rustc 2>/dev/null || true)"
done) >"$W/sampler.log" &
SAMPLER=$!

# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

declare -A SECS RSS
ORDER=()

# measure NAME OUT CMD...: runs CMD with stdout to OUT and stderr to $W/NAME.err; records its
# wall time (date, nanoseconds) and peak RSS (GNU time, KiB). A failure stops the script.
measure() {
    local name=$1 out=$2
    shift 2
    local t0 t1
    t0=$(date +%s%N)
    if ! /usr/bin/time -f "%M" -o "$W/$name.rss" "$@" >"$out" 2>"$W/$name.err"; then
        echo "bench.sh: '$*' failed:" >&2
        tail -20 "$W/$name.err" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    RSS[$name]=$(tail -1 "$W/$name.rss")
    ORDER+=("$name")
    printf '   %-34s %9s s %8s MiB\n' "$name" "${SECS[$name]}" "$((RSS[$name] / 1024))"
}

# Drops the page cache (root only) so the next open reads the file from disk.
DROPPED=no
drop_caches() {
    sync
    if [[ -w /proc/sys/vm/drop_caches ]] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
        DROPPED=yes
    else
        DROPPED="no (not permitted)"
    fi
}
cached_mib() { awk '/^Cached:/ {printf "%d", $2 / 1024}' /proc/meminfo; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { echo $(($1 / 1024)); }

# ---------------------------------------------------------------------------------------------
# a. The synthetic CSV
# ---------------------------------------------------------------------------------------------

echo
echo "== a. synth: $EVENTS events, seed $SEED, in $W"
measure synth "$W/synth.json" "$BIN" synth --events "$EVENTS" --seed "$SEED" --out "$CSV" --format json
csv_bytes=$(stat -c %s "$CSV")

# ---------------------------------------------------------------------------------------------
# b. Steadfast: demo (rates, framework, scenario), then the durable import
# ---------------------------------------------------------------------------------------------

echo
echo "== b. steadfast: demo, then import contributions"
measure demo "$W/demo.out" "$BIN" --db "$LEDGER" demo
# The moment between the two: a report "as known on" it sees the scenario only.
MOMENT=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
sleep 0.01
measure import "$W/import.json" "$BIN" --db "$LEDGER" import contributions "$CSV" --format json
import_eps=$(awk -v n="$EVENTS" -v s="${SECS[import]}" 'BEGIN { printf "%d", n / s }')
ledger_bytes=$(stat -c %s "$LEDGER")
log_events=$(awk -F': ' '/"position"/ { gsub(/[ ,]/, "", $2); p = $2 } END { print p }' "$W/import.json")

# ---------------------------------------------------------------------------------------------
# c. The sqlite3 shell on the same CSV
# ---------------------------------------------------------------------------------------------

echo
echo "== c. sqlite3 shell: the same CSV, the same two unique constraints"
# The table has the 18 columns of the import layout plus stream_version, with the ledger's two
# unique constraints: the event id (the ledger's idempotency key) and (stream, stream version),
# the stream being the contribution and its version the next number within it, assigned per
# row by an INSTEAD OF trigger on a view that `.import` writes into (as the ledger's store
# assigns stream versions at append). WAL and synchronous=FULL, like the ledger.
cat >"$W/schema.sql" <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE events (
    event_id TEXT NOT NULL, contribution_id TEXT NOT NULL, donor TEXT NOT NULL,
    recipient TEXT NOT NULL, stage TEXT NOT NULL, effective_date TEXT NOT NULL, amount TEXT,
    currency TEXT, category TEXT, channel TEXT, visibility TEXT, quantity TEXT, unit TEXT,
    valuation_basis TEXT, amends TEXT, reason TEXT, source_url TEXT, description TEXT,
    stream_version INTEGER NOT NULL,
    UNIQUE (event_id),
    UNIQUE (contribution_id, stream_version)
);
CREATE VIEW events_in AS
    SELECT event_id, contribution_id, donor, recipient, stage, effective_date, amount, currency,
           category, channel, visibility, quantity, unit, valuation_basis, amends, reason,
           source_url, description
    FROM events;
CREATE TRIGGER events_in_insert INSTEAD OF INSERT ON events_in BEGIN
    INSERT INTO events VALUES (
        NEW.event_id, NEW.contribution_id, NEW.donor, NEW.recipient, NEW.stage,
        NEW.effective_date, NEW.amount, NEW.currency, NEW.category, NEW.channel,
        NEW.visibility, NEW.quantity, NEW.unit, NEW.valuation_basis, NEW.amends, NEW.reason,
        NEW.source_url, NEW.description,
        (SELECT coalesce(max(stream_version), 0) + 1 FROM events
          WHERE contribution_id = NEW.contribution_id));
END;
CREATE TABLE rates (
    date TEXT NOT NULL, currency TEXT NOT NULL, rate REAL NOT NULL,
    PRIMARY KEY (currency, date)
) WITHOUT ROWID;
SQL
# The washington-2024 scoreboard's "counted" column, by the ledger's counting rules (the
# values of data/frameworks.toml written out): committed stage events effective in 2024, for
# UKR, by the 32 participants, in the seven eligible categories; each corrected by the
# amendments that name it (one level: an amendment of an amendment is not followed),
# converted at the ECB rate of its effective date or the latest one up to 7 days earlier (a
# correlated subquery on the rates' primary key), rounded to the cent on its own; a withdrawn
# contribution counts no more than its delivered value.
cat >"$W/fair-share.sql" <<'SQL'
WITH
amendments AS (
    SELECT amends AS target, sum(CAST(amount AS REAL)) AS delta
    FROM events WHERE stage = 'amended' AND amount <> '' GROUP BY amends
),
withdrawn AS (SELECT DISTINCT contribution_id FROM events WHERE stage = 'withdrawn'),
valued AS (
    SELECT e.donor, e.contribution_id, e.stage,
        round(max(CAST(e.amount AS REAL) + coalesce(a.delta, 0), 0)
              / CASE WHEN e.currency = 'EUR' THEN 1.0 ELSE
                    (SELECT r.rate FROM rates r
                      WHERE r.currency = e.currency
                        AND r.date <= e.effective_date
                        AND r.date >= date(e.effective_date, '-7 days')
                      ORDER BY r.date DESC LIMIT 1) END, 2) AS eur
    FROM events e LEFT JOIN amendments a ON a.target = e.event_id
    WHERE e.recipient = 'UKR' AND e.amount <> ''
      AND e.donor IN ('ALB', 'BEL', 'BGR', 'CAN', 'HRV', 'CZE', 'DNK', 'EST', 'FIN', 'FRA',
                      'DEU', 'GRC', 'HUN', 'ISL', 'ITA', 'LVA', 'LTU', 'LUX', 'MNE', 'NLD',
                      'MKD', 'NOR', 'POL', 'PRT', 'ROU', 'SVK', 'SVN', 'ESP', 'SWE', 'TUR',
                      'GBR', 'USA')
      AND e.category IN ('equipment-purchase', 'in-kind-donation',
                         'maintenance-logistics-transport', 'training', 'operational-support',
                         'defence-industry-investment', 'nato-trust-fund')
      AND ((e.stage = 'committed' AND e.effective_date BETWEEN '2024-01-01' AND '2024-12-31')
        OR (e.stage = 'delivered' AND e.contribution_id IN withdrawn))
),
per_contribution AS (
    SELECT donor, contribution_id,
        sum(CASE WHEN stage = 'committed' THEN eur END) AS committed_eur,
        count(CASE WHEN stage = 'committed' THEN 1 END) AS events,
        total(CASE WHEN stage = 'delivered' THEN eur END) AS delivered_eur
    FROM valued GROUP BY donor, contribution_id
)
SELECT donor,
    printf('%.2f', total(CASE WHEN contribution_id IN withdrawn
                              THEN min(committed_eur, max(delivered_eur, 0))
                              ELSE committed_eur END)) AS counted_eur,
    sum(events) AS events
FROM per_contribution WHERE events > 0 GROUP BY donor ORDER BY donor;
SQL
sqlite3 "$SQLDB" <"$W/schema.sql" >/dev/null
# Untimed, like `demo`: the scenario's rows (so both sides hold the same contributions; its
# optional `source_kind` column, the 19th, left out) and
# the ECB rates, turned from the ECB's wide layout (a column per currency) into rows of
# (date, currency, rate) by awk, N/A and empty cells left out.
cut -d, -f1-18 "$ROOT/data/contributions-2024.csv" >"$W/scenario-18.csv"
sqlite3 "$SQLDB" ".import --csv --skip 1 $W/scenario-18.csv events_in"
awk -F, 'NR == 1 { for (i = 2; i <= NF; i++) cur[i] = $i; next }
         { for (i = 2; i <= NF; i++) if ($i != "" && $i != "N/A" && cur[i] != "") print $1 "," cur[i] "," $i }' \
    "$ROOT/data/ecb-eurofxref-hist.csv" >"$W/rates-long.csv"
measure sqlite_rates "$W/sqlite_rates.out" sqlite3 -cmd "PRAGMA synchronous = FULL" "$SQLDB" \
    ".import --csv $W/rates-long.csv rates"
measure sqlite_import "$W/sqlite_import.out" sqlite3 -cmd "PRAGMA synchronous = FULL" "$SQLDB" \
    ".import --csv --skip 1 $CSV events_in"
sqlite_rows=$(sqlite3 "$SQLDB" "SELECT count(*) FROM events")
scenario_rows=$(($(wc -l <"$ROOT/data/contributions-2024.csv") - 1))
[[ $sqlite_rows -eq $((EVENTS + scenario_rows)) ]] ||
    die "sqlite3 holds $sqlite_rows rows, expected $((EVENTS + scenario_rows))"
sqlite_bytes=$(stat -c %s "$SQLDB")

# ---------------------------------------------------------------------------------------------
# d. Cold open to the first printed report, and the same query in sqlite3
# ---------------------------------------------------------------------------------------------

echo
echo "== d. report fair-share (whole process), three runs each side, the first after dropping caches"
cached_before=$(cached_mib)
drop_caches
cached_after=$(cached_mib)
echo "   page cache dropped: $DROPPED (Cached ${cached_before} -> ${cached_after} MiB)"
measure report_cold "$W/report.json" "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json
measure report_warm1 /dev/null "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json
measure report_warm2 /dev/null "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json
drop_caches
measure sqlite_query_cold "$W/sqlite-fair-share.csv" sqlite3 -csv "$SQLDB" ".read $W/fair-share.sql"
measure sqlite_query_warm1 /dev/null sqlite3 -csv "$SQLDB" ".read $W/fair-share.sql"
measure sqlite_query_warm2 /dev/null sqlite3 -csv "$SQLDB" ".read $W/fair-share.sql"

# Do both sides count the same euros per donor?
AGREEMENT="not checked (python3 is not installed)"
if command -v python3 >/dev/null; then
    AGREEMENT=$(python3 - "$W/report.json" "$W/sqlite-fair-share.csv" <<'PY'
import csv, json, sys
from decimal import Decimal
report = json.load(open(sys.argv[1]))
ours = {r["party"]: Decimal(r["counted_eur"]) for r in report["rows"]}
theirs = {row[0]: Decimal(row[1]) for row in csv.reader(open(sys.argv[2]))}
donors = sorted(set(ours) | set(theirs))
diffs = {d: abs(ours.get(d, Decimal(0)) - theirs.get(d, Decimal(0))) for d in donors}
same = sum(1 for d in donors if diffs[d] == 0)
worst = max(diffs.values(), default=Decimal(0))
total = sum(ours.values())
print(f"{same} of {len(donors)} donors to the cent; largest difference EUR {worst} "
      f"(Steadfast total counted EUR {total})")
PY
)
fi
echo "   same figures? $AGREEMENT"

# ---------------------------------------------------------------------------------------------
# e. The same report in the past and under the other policy
# ---------------------------------------------------------------------------------------------

echo
echo "== e. report fair-share variants (warm)"
measure report_as_of "$W/report-as-of.json" "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json --as-of 2024-06-30
measure report_as_known_on "$W/report-as-known-on.json" "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json --as-known-on "$MOMENT"
measure report_period_average "$W/report-period-average.json" "$BIN" --db "$LEDGER" report fair-share --framework "$FRAMEWORK" "${SCOPE[@]}" --format json --fx-policy period-average
measure report_gaps /dev/null "$BIN" --db "$LEDGER" report gaps --format json

# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------

best() { # the least of the given measurements' times
    local m=""
    for n in "$@"; do m=$(awk -v a="$m" -v b="${SECS[$n]}" 'BEGIN { print (a == "" || b < a) ? b : a }'); done
    echo "$m"
}
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=""
SHARED=$(awk '{ n++; if ($2 > 0) busy++; if ($1 > peak) peak = $1 }
    END { printf "rustc running in %d of %d one-second samples; peak 1-minute load average %s", busy, n, peak }' \
    "$W/sampler.log")
echo "   meanwhile: $SHARED"
warm_report=$(best report_warm1 report_warm2)
warm_query=$(best sqlite_query_warm1 sqlite_query_warm2)
GIB=1048576

{
    echo "# Steadfast bench: $EVENTS events, seed $SEED ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo
    echo "## Machine"
    echo
    echo "$MACHINE"
    echo
    echo "## Sizes"
    echo
    echo "- CSV: $csv_bytes bytes; ledger after import: $ledger_bytes bytes, $log_events log events;"
    echo "  sqlite3 database: $sqlite_bytes bytes, $sqlite_rows rows (scenario $scenario_rows + synthetic $EVENTS)."
    echo "- Page cache dropped before the cold runs: $DROPPED (Cached ${cached_before} -> ${cached_after} MiB)."
    echo "- While measuring: $SHARED."
    echo "- \`--as-known-on\` moment (between demo and import): $MOMENT."
    echo "- Same scoreboard from both sides: $AGREEMENT."
    echo
    echo "## Every measurement (whole process)"
    echo
    echo "| step | wall s | peak RSS MiB |"
    echo "|---|---:|---:|"
    for n in "${ORDER[@]}"; do echo "| $n | ${SECS[$n]} | $(mib "${RSS[$n]}") |"; done
    echo
    echo "## Side by side (Steadfast / sqlite3 shell)"
    echo
    echo "| | Steadfast s | sqlite3 s | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| import of the CSV (durable, two unique constraints) | ${SECS[import]} | ${SECS[sqlite_import]} | $(ratio "${SECS[import]}" "${SECS[sqlite_import]}") |"
    echo "| fair-share scoreboard, cold (open + compute + print) | ${SECS[report_cold]} | ${SECS[sqlite_query_cold]} | $(ratio "${SECS[report_cold]}" "${SECS[sqlite_query_cold]}") |"
    echo "| fair-share scoreboard, warm (best of two) | $warm_report | $warm_query | $(ratio "$warm_report" "$warm_query") |"
    echo
    echo "## Targets"
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    verdict() { awk -v m="$1" -v t="$2" -v dir="$3" 'BEGIN {
        ok = (dir == "min") ? (m >= t) : (m <= t);
        f = (dir == "min") ? t / m : m / t;
        if (ok) print "met"; else printf "missed (%.1fx)\n", f }'; }
    # The import's standing target is parity with the sqlite3 shell on the same rows and
    # constraints (the earlier 500,000 events/s was withdrawn); parity allows this machine's
    # 5 % of noise between two runs of the same thing.
    import_ratio=$(ratio "${SECS[import]}" "${SECS[sqlite_import]}")
    echo "| import within 1.05× the sqlite3 shell ($import_eps events/s) | ${import_ratio}× | $(verdict "$import_ratio" 1.05 max) |"
    echo "| cold open to first report < 2 s | ${SECS[report_cold]} s | $(verdict "${SECS[report_cold]}" 2 max) |"
    for n in import report_cold report_warm1 report_as_of report_as_known_on report_period_average; do
        echo "| peak memory of $n < 1 GiB | $(mib "${RSS[$n]}") MiB | $(verdict "${RSS[$n]}" "$GIB" max) |"
    done
    echo
    echo "In-process report times (target < 10 ms each) come from the criterion bench:"
    echo "\`STEADFAST_BENCH_EVENTS=$EVENTS cargo bench -p steadfast-app --bench reports\`."
} >"$RESULTS"

echo
cat "$RESULTS"
echo
echo "results: $RESULTS"
if [[ ${KEEP:-0} == 1 ]]; then
    echo "kept: $CSV $LEDGER $SQLDB"
fi
