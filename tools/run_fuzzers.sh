#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz` for SECONDS in all, split
# evenly, over the committed corpus fuzz/corpus/ (read only: new inputs go
# to build-fuzz/corpus/NAME/, crashes and hangs to build-fuzz/artifacts/).
# Usage: tools/run_fuzzers.sh SECONDS NAME...; exits non-zero if any target
# found a crash, a leak or an input taking over 10 s.
set -u
seconds=$1
shift
each=$(( seconds / $# ))
[ "$each" -ge 1 ] || each=1
mkdir -p build-fuzz/artifacts
status=0
for name in "$@"; do
    mkdir -p "build-fuzz/corpus/$name"
    echo "fuzz: $name for ${each}s"
    if ! "build-fuzz/fuzz/$name" -max_total_time="$each" -timeout=10 -print_final_stats=1 \
            -artifact_prefix="build-fuzz/artifacts/$name-" "build-fuzz/corpus/$name" fuzz/corpus \
            > "build-fuzz/$name.log" 2>&1; then
        status=1
        tail -n 60 "build-fuzz/$name.log"
    fi
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "build-fuzz/$name.log" | sed "s/^/fuzz: $name /"
done
exit $status
