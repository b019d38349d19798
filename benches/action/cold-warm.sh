#!/usr/bin/env bash
# What the composite action (.github/actions/membench/action.yml) costs a job before its first
# measurement, measured on this machine:
#   cold — no cached binaries: the action's own install step, run as GitHub runs it (its script
#          taken from action.yml, `bash -eo pipefail`), from an empty Cargo home (every crate
#          downloaded) and an empty target folder, on this checkout's HEAD;
#   warm — the cache hit: what actions/cache restores (the ~/.membench-bin folder as a zstd tar,
#          as the cache action stores it) unpacked, and `membench --version` run from it.
# The download of the cached archive is not part of the warm figure (no GitHub cache here): its
# size is printed so it can be weighed against a runner's bandwidth.
#
#   bash benches/action/cold-warm.sh    # ~15 minutes on 2 cores; nothing else should run
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
action="$repo/.github/actions/membench/action.yml"
sha=$(git -C "$repo" rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The install step's script, exactly as action.yml has it.
script=$(awk '
  /^    - name: Install membench and its runners/ { step = 1; next }
  step && /^      run: \|/ { body = 1; next }
  body && /^    - name:/ { exit }
  body { sub(/^        /, ""); print }
' "$action")
if [ -z "$script" ]; then
  echo "no install step found in $action" >&2
  exit 1
fi

# rustup's toolchains stay where they are (a runner has a Rust toolchain installed); the Cargo
# home (registry, git checkouts) and $HOME are new.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export HOME="$work/home" RUNNER_TEMP="$work/runner-temp" CARGO_HOME="$work/cargo-home"
export MEMBENCH_REPO="file://$repo" MEMBENCH_SHA="$sha"
mkdir -p "$HOME" "$RUNNER_TEMP"
unset CARGO_TARGET_DIR RUSTFLAGS

secs() { date +%s.%N; }
t0=$(secs)
(cd "$work" && bash --noprofile --norc -eo pipefail -c "$script") > "$work/install.log" 2>&1 || {
  tail -n 40 "$work/install.log" >&2
  exit 1
}
t1=$(secs)

# The cache: saved as actions/cache saves it, then restored into an empty home.
tar -C "$HOME" -cf - .membench-bin | zstd -q -T0 -o "$work/cache.tzst"
rm -rf "$HOME/.membench-bin"
t2=$(secs)
zstd -q -dc "$work/cache.tzst" | tar -C "$HOME" -xf -
"$HOME/.membench-bin/bin/membench" --version > /dev/null
t3=$(secs)

crates=$(find "$CARGO_HOME/registry/cache" -name '*.crate' | wc -l)
bins=$(ls "$HOME/.membench-bin/bin" | wc -l)
bytes=$(stat -c %s "$work/cache.tzst")
echo "membench $sha, $(nproc) cores:"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$crates" -v k="$bins" -v s="$bytes" 'BEGIN {
  printf "  cold: install step %.0f s (%d crates downloaded, %d binaries)\n", b - a, n, k
  printf "  warm: cached archive %.0f MiB, restored and started in %.1f s (download not included)\n", s / 1048576, d - c
}'
