#!/usr/bin/env bash
# Runs every libFuzzer target (or the ones named) for a fixed time and prints executions and
# findings per target. See docs/HOSTILE_INPUT.md.
#
#   scripts/fuzz.sh                      # all targets, 60 s each
#   scripts/fuzz.sh -t 300 zip onnx      # two targets, 5 minutes each
#   scripts/fuzz.sh --no-build npy       # reuse the last fuzz build
#   scripts/fuzz.sh --parallel -t 3600   # every target at once, an hour each (all cores shared)
#   scripts/fuzz.sh --minimize [T...]    # after a run: merge the grown corpus into Fixtures/fuzz/T.tar.gz
#
# Parser targets: zip unpickler legacy torch effw npy onnx hdf5 keras tfbundle source contained.
# Writer targets (the bytes are a writer's inputs; its file must read back as written):
# torchwriter onnxwriter hdf5writer export.
# Seeds are drawn from Fixtures/ into .build-fuzz/seeds/<target>; the corpus libFuzzer grows is
# kept in .build-fuzz/corpus/<target> between runs; crashing, leaking, slow and memory-hungry
# inputs land in .build-fuzz/findings/<target>/ (crash-*, leak-*, timeout-*, oom-*).
# Replay one without the sanitizer toolchain: swift build --product effnet-fuzz, then
#   .build/debug/effnet-fuzz <target> .build-fuzz/findings/<target>/crash-...
# Environment: FUZZ_SCRATCH (default .build-fuzz), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (5 s per input).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
SECONDS_PER_TARGET=60
BUILD=1
PARALLEL=0
MINIMIZE=0
ALL=(zip unpickler legacy torch effw npy onnx hdf5 keras tfbundle source contained torchwriter onnxwriter hdf5writer export)
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        -t) SECONDS_PER_TARGET=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --parallel) PARALLEL=1; shift ;;
        --minimize) MINIMIZE=1; BUILD=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

if [ $BUILD = 1 ]; then
    echo "== building effnet-fuzz (release, -sanitize=fuzzer,address) in $SCRATCH"
    nice swift build -c release --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
        --product effnet-fuzz
fi
BIN="$SCRATCH/release/effnet-fuzz"
[ -x "$BIN" ] || { echo "error: $BIN is missing (run without --no-build)" >&2; exit 2; }

if [ $MINIMIZE = 1 ]; then
    # libFuzzer's merge keeps the smallest set of inputs covering what the committed corpus and
    # the grown one cover together; inputs over 16 KB are dropped after it (mutated fixtures,
    # which are seeds anyway), and the rest is stored as Fixtures/fuzz/<target>.tar.gz
    # (reproducible: sorted names, no times or owners).
    for t in "${TARGETS[@]}"; do
        [ -d "$SCRATCH/corpus/$t" ] || continue
        out="$SCRATCH/merged/$t"
        rm -rf "$out"; mkdir -p "$out" Fixtures/fuzz
        [ -f "Fixtures/fuzz/$t.tar.gz" ] && tar -xzf "Fixtures/fuzz/$t.tar.gz" -C "$out"
        ASAN_OPTIONS=detect_leaks=0 EFFNET_CONTAINMENT_TIMEOUT=3 "$BIN" "$t" -merge=1 -timeout=10 -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
            "$out" "$SCRATCH/corpus/$t" > "$SCRATCH/findings/$t.merge.log" 2>&1 || true
        find "$out" -type f -size +16k -delete
        tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$out" -cf - . | gzip -n -9 > "Fixtures/fuzz/$t.tar.gz"
        echo "$t: $(ls "$out" | wc -l) inputs, $(stat -c %s "Fixtures/fuzz/$t.tar.gz") bytes in Fixtures/fuzz/$t.tar.gz (from $(ls "$SCRATCH/corpus/$t" | wc -l))"
    done
    exit 0
fi

# Copies fixture files matching the find(1) expression into $1, skipping files over 200 KB
# (large seeds slow every execution down and add little).
seed() {
    local dir=$1; shift
    find Fixtures "$@" -type f -size -200k -print0 2>/dev/null | while IFS= read -r -d '' f; do
        cp "$f" "$dir/$(echo "$f" | tr '/' '_')"
    done
}

# Files found inside zips (a torch archive's data.pkl, a .keras archive's model.weights.h5).
extract() {
    local dir=$1 member=$2; shift 2
    find Fixtures "$@" -type f -size -2048k -print0 2>/dev/null | while IFS= read -r -d '' f; do
        python3 - "$f" "$member" "$dir/$(echo "$f" | tr '/' '_').$member" <<'PY' || true
import sys, zipfile
src, member, out = sys.argv[1:]
try:
    with zipfile.ZipFile(src) as z:
        for n in z.namelist():
            if n.endswith(member):
                open(out, "wb").write(z.read(n)); break
except Exception:
    pass
PY
    done
}

seeds_for() {
    local t=$1 dir=$2
    case $t in
        zip) seed "$dir" \( -name '*.zip' -o -name '*.keras' -o -name '*.pt' -o -name '*.pth' \) ;;
        unpickler) extract "$dir" data.pkl \( -name '*.pt' -o -name '*.pth' \)
                   seed "$dir" -name '*.pkl' ;;
        legacy) seed "$dir" \( -name '*legacy*.pt' -o -name '*legacy*.pth' \) ;;
        torch) seed "$dir" \( -name '*.pt' -o -name '*.pth' \) -not -name '*legacy*' ;;
        effw) seed "$dir" \( -name '*.effw' -o -name '*.safetensors' \) ;;
        npy) seed "$dir" -name '*.npy' -size -64k ;;
        onnx) seed "$dir" -name '*.onnx' ;;
        hdf5) seed "$dir" -name '*.h5'
              extract "$dir" model.weights.h5 -name '*.keras' ;;
        keras) find Fixtures/keras Fixtures/hostile -name '*.h5' -size -1024k -exec cp {} "$dir/" \;
               extract "$dir" model.weights.h5 -name '*.keras' ;;
        tfbundle) seed "$dir" -name '*.index' ;;
        contained) seed "$dir" \( -name '*.h5' -o -name '*.keras' \)
                   find "$SCRATCH/findings/hdf5" "$SCRATCH/findings/keras" -name 'crash-*' -size +0 -exec cp {} "$dir/" \; 2>/dev/null ;;
        source) seed "$dir" \( -name '*.pt' -o -name '*.pth' -o -name '*.h5' -o -name '*.keras' -o -name '*.onnx' \
                               -o -name '*.effw' -o -name '*.safetensors' -o -name '*.npy' \) -size -300k ;;
        # Writer targets read their bytes as choices: any bytes are a start.
        torchwriter|onnxwriter|hdf5writer|export)
            python3 -c '
import random, sys
r = random.Random(sys.argv[2])
for i in range(16):
    open(f"{sys.argv[1]}/random{i}", "wb").write(bytes(r.randrange(256) for _ in range(r.randrange(8, 400))))
' "$dir" "$t"
            [ -f "Fixtures/fuzz/$t.tar.gz" ] && tar -xzf "Fixtures/fuzz/$t.tar.gz" -C "$dir"
            return 0 ;;
        *) echo "error: unknown target '$t' (targets: ${ALL[*]})" >&2; exit 2 ;;
    esac
    # The corpus a previous run grew, minimised and committed (Fixtures/fuzz/<target>.tar.gz).
    [ -f "Fixtures/fuzz/$t.tar.gz" ] && tar -xzf "Fixtures/fuzz/$t.tar.gz" -C "$dir"
    # Hand-made hostile files are seeds for every target.
    [ -d Fixtures/hostile ] && find Fixtures/hostile -type f -size -64k -not -name '*.py' -not -name '*.json' \
        -exec sh -c 'cp "$1" "$2/hostile_$(basename "$1")"' _ {} "$dir" \;
    true
}

# Fuzzes one target for SECONDS_PER_TARGET and leaves its summary line in findings/<t>.summary.
run_target() {
    local t=$1
    corpus="$SCRATCH/corpus/$t" seeds="$SCRATCH/seeds/$t" findings="$SCRATCH/findings/$t"
    rm -rf "$seeds"; mkdir -p "$corpus" "$seeds" "$findings"
    seeds_for "$t" "$seeds"
    log="$SCRATCH/findings/$t.log"
    before=$(find "$findings" -type f | wc -l)
    echo "== $t: $(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) corpus inputs, ${SECONDS_PER_TARGET}s"
    # libhdf5 keeps global free lists and leaks 72 bytes per H5LTopen_file_image (reported):
    # leak reports there are noise, not findings.
    # (-detect_leaks=0 stops libFuzzer's own checks; LeakSanitizer's check at exit of each
    # fork-mode job needs ASAN_OPTIONS.)
    extra=() asan=${ASAN_OPTIONS:-}
    case $t in hdf5|keras|source|contained|hdf5writer|export) extra+=(-detect_leaks=0); asan="detect_leaks=0${asan:+:$asan}" ;; esac
    # The source target reads HDF5 in a contained child (8 s default limit): a libhdf5 hang must
    # come back as a handled error before libFuzzer's own -timeout calls it a finding.
    containment=${EFFNET_CONTAINMENT_TIMEOUT:-}
    [ $t = source ] && containment=${EFFNET_CONTAINMENT_TIMEOUT:-3}
    # -fork=1 with -ignore_*: keep fuzzing after a finding, so one run reports all it meets.
    set +e
    EFFNET_CONTAINMENT_TIMEOUT=$containment ASAN_OPTIONS=$asan nice "$BIN" "$t" "${extra[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -timeout="${FUZZ_TIMEOUT:-5}" -artifact_prefix="$findings/" -print_final_stats=1 \
        "$corpus" "$seeds" > "$log" 2>&1
    status=$?
    set -e
    # Fork mode's status lines: "#<execs>: cov: .. ft: .. corp: .. exec/s: .. oom/timeout/crash: a/b/c time: .."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    execs=$(echo "$last" | sed -nE 's/^#([0-9]+):.*/\1/p')
    cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
    otc=$(echo "$last" | sed -nE 's/.*oom\/timeout\/crash: ([0-9\/]+).*/\1/p')
    after=$(find "$findings" -type f | wc -l)
    secs=$(sed -nE 's/^INFO: exiting: [0-9]+ time: ([0-9]+)s.*/\1/p' "$log" | tail -1)
    rate=$([ -n "$execs" ] && [ "${secs:-0}" -gt 0 ] && echo $((execs / secs)) || echo "?")
    line="$t: ${execs:-?} executions in ${secs:-?} s ($rate/s), coverage ${cov:-?}, corpus $(ls "$corpus" | wc -l), oom/timeout/crash ${otc:-?}, new finding files $((after - before)), exit $status (log $log)"
    echo "$line"
    echo "$line" > "$SCRATCH/findings/$t.summary"
}

if [ $PARALLEL = 1 ]; then
    # Every target at once, each one libFuzzer fork job: the kernel shares all cores among them.
    for t in "${TARGETS[@]}"; do run_target "$t" & done
    wait
else
    for t in "${TARGETS[@]}"; do run_target "$t"; done
fi
SUMMARY=()
for t in "${TARGETS[@]}"; do SUMMARY+=("$(cat "$SCRATCH/findings/$t.summary" 2>/dev/null || echo "$t: no summary")"); done
echo
echo "== summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${SUMMARY[@]}"
for t in "${TARGETS[@]}"; do
    ls "$SCRATCH/findings/$t" 2>/dev/null | sed "s|^|  $t: |"
done
