#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 60 s each):
#   scripts/fuzz.sh [seconds] [target...]
# 0 seconds replays the seeds and the saved corpus once (a regression check).
# Longer runs: scripts/fuzz.sh 3600 token. Crashes land in fuzz/artifacts/<target>/.
# cargo-fuzz's libFuzzer flags are stable-only-by-name; RUSTC_BOOTSTRAP lets the
# machine's stable toolchain build them (no sanitizer: -s none).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(path policy token decide kept rsa ecdsa)
command -v cargo-fuzz >/dev/null || cargo install --quiet cargo-fuzz --version 0.13.2
cd fuzz
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    [[ -d "seeds/$target" ]] && cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
    if [[ $seconds -eq 0 ]]; then
        echo "fuzz: $target, replaying its corpus"
        limit=(-runs=0)
    else
        echo "fuzz: $target for ${seconds}s"
        limit=(-max_total_time="$seconds")
    fi
    log=$(mktemp)
    status=0
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -s none "corpus/$target" -- \
        "${limit[@]}" -print_final_stats=0 >"$log" 2>&1 || status=$?
    grep -E "^Done|ERROR|panicked|SUMMARY" "$log" || true
    if [[ $status -ne 0 ]]; then
        tail -40 "$log" >&2
        rm -f "$log"
        echo "fuzz: $target failed (exit $status)" >&2
        exit 1
    fi
    rm -f "$log"
    if compgen -G "artifacts/$target/*" >/dev/null; then
        echo "fuzz: $target found a failing input: fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
