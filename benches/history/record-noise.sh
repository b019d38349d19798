#!/usr/bin/env bash
# Records the noise-only history that crates/report/tests/changepoint.rs injects steps into:
# RUNS runs (default 220) of one build, each a `membench run` of 5 strategies × top-n, group-by ×
# CSV at 100k rows with 3 repetitions per allocator, added to a history as commits n000, n001, …
# (the same build throughout, so every difference is noise), then exported as the test's
# fixture: commit,strategy,workload,repetition,peak_heap_bytes,peak_rss_bytes,wall_ns (heap
# from the counting-allocator repetition, RSS and time from the system-allocator one).
#
#   benches/history/record-noise.sh [RUNS] [FIXTURE]    (2.5–4.5 s a run on 2 cores)
#
# FIXTURE is the file name under crates/report/tests/fixtures: history-noise-interleaved.csv.gz
# by default (the recording made as `membench run` now orders repetitions); history-noise.csv.gz
# is the earlier one, recorded when each cell's repetitions ran one after another.
#
# The binaries are copied first, so a rebuild during the recording changes nothing measured.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-220}
fixture="$root/crates/report/tests/fixtures/${2:-history-noise-interleaved.csv.gz}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p membench-cli -p membench-runner -p membench-datagen
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
mkdir "$work/bin"
cp "$target"/release/{membench,membench-runner,membench-runner-sys,membench-runner-mi,membench-gen} "$work/bin/"
export MEMBENCH_BIN_DIR="$work/bin"
for i in $(seq -w 0 $((runs - 1))); do
  "$work/bin/membench" run --strategy streaming,chunked,load-all,lazy,parallel \
    --workload top-n,group-by --format csv --rows 100k --repeat 3 --no-report \
    --datasets "$work/datasets" --out "$work/runs/r$i" > "$work/run.log" 2>&1 ||
    { cat "$work/run.log" >&2; exit 1; }
  "$work/bin/membench" history --history "$work/history.sqlite" add "$work/runs/r$i" \
    --commit "n$i" 2> /dev/null
  printf '\rrun %s of %s' "$((10#$i + 1))" "$runs" >&2
done
echo >&2
python3 - "$work/history.sqlite" "$fixture" <<'PY'
import gzip, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT r.commit_rev, c.strategy, c.workload, c.repetition, c.peak_heap_bytes, "
    "s.peak_rss_bytes, s.wall_ns FROM measurements c JOIN runs r ON c.run = r.id "
    "JOIN measurements s ON s.run = c.run AND s.strategy = c.strategy AND s.workload = c.workload "
    "AND s.repetition = c.repetition AND s.allocator = 'system' "
    "WHERE c.allocator = 'counting' AND c.status = 'ok' AND s.status = 'ok' "
    "ORDER BY r.commit_rev, c.strategy, c.workload, c.repetition")
with gzip.open(sys.argv[2], "wt") as f:
    f.write("commit,strategy,workload,repetition,peak_heap_bytes,peak_rss_bytes,wall_ns\n")
    for r in rows:
        f.write(",".join(str(v) for v in r) + "\n")
print("wrote", sys.argv[2])
PY
