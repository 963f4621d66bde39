#!/bin/sh
# stackbench's profiler. It runs in a container that joins the server
# container's PID namespace (with SYS_PTRACE), finds the server's main
# process, waits out the warm-up, then samples every server process through
# the measured window. What it found goes to its output between
# `stackbench-profiler:` lines, which the runner reads.
# Usage: profile.sh WARMUP_S DURATION_S RATE_HZ CENSUS_EVERY_S
set -u
warmup=$1 duration=$2 rate=$3 every=$4
mark() { echo "stackbench-profiler: $*"; }

# The server's processes: PID 1 (the server container's init) and this
# container's own tree aside, every process descending from PID 1; the main
# one is the child of PID 1 (this container's processes descend from its own
# init, whose parent is outside the namespace).
server_pids() {
    for status in /proc/[0-9]*/status; do
        awk '/^Pid:/ { pid = $2 } /^PPid:/ { print pid, $2 }' "$status" 2>/dev/null
    done | awk '{ parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q != "" && q != 1 && q != 0) q = parent[q]; if (q == 1 && p != 1) print p } }' \
        | sort -n
}
main=$(awk '/^PPid:\t1$/ { split(FILENAME, p, "/"); print p[3] }' /proc/[0-9]*/status 2>/dev/null | sort -n | head -n 1)
if [ -z "$main" ]; then
    mark unavailable "no server process was found in the server container's PID namespace"
    exit 0
fi
comm=$(cat "/proc/$main/comm" 2>/dev/null)
# py-spy reads Python interpreters only: a native server (Go, nginx, Node) has none.
if ! py-spy dump --pid "$main" >/dev/null 2>/tmp/probe.err; then
    why=$(head -c 300 /tmp/probe.err | tr '\n' ' ')
    mark unavailable "py-spy found no Python interpreter in the server's main process ($comm): $why"
    exit 0
fi
mark tool "$(py-spy --version)"
mark main "$main $comm"
sleep "$warmup"

# A census of thread states through the window, at a low rate: a dump of
# each server process (a process started since is found at the next one).
(
    end=$(( $(date +%s) + duration ))
    while [ "$(date +%s)" -lt "$end" ]; do
        mark dump
        for pid in $(server_pids); do
            py-spy dump --pid "$pid" --json 2>/dev/null
        done
        sleep "$every"
    done
) &
census=$!
if ! py-spy record --pid "$main" --subprocesses --idle --rate "$rate" --duration "$duration" \
        --format raw --output /tmp/folded >/tmp/record.log 2>&1; then
    mark unavailable "py-spy record failed: $(tail -c 300 /tmp/record.log | tr '\n' ' ')"
fi
wait "$census"
mark folded
cat /tmp/folded 2>/dev/null
mark end
