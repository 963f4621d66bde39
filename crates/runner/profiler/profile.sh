#!/bin/sh
# stackbench's profiler. It runs in a container that joins the server
# container's PID namespace (with SYS_PTRACE), finds the server's main
# process, waits out the warm-up, then samples every server process through
# the measured window. What it found goes to its output between
# `stackbench-profiler:` lines, which the runner reads; `cpu` is what it used
# itself (`times`: this shell's and its children's user and system time).
# Usage: profile.sh WARMUP_S DURATION_S PYSPY_RATE_HZ CENSUS_EVERY_S PERF_RATE_HZ
set -u
warmup=$1 duration=$2 rate=$3 every=$4 perf_rate=$5
mark() { echo "stackbench-profiler: $*"; }
# `times` of this shell itself (in a command substitution it would count a subshell's).
mark_cpu() { times >/tmp/times; mark cpu $(cat /tmp/times); }

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
# A Python server: py-spy on every interpreter (the samples of running
# threads), and a census of thread states through the window, at a low rate (a
# dump of each server process, with where its idle threads wait; a process
# started since is found at the next one).
python_profile() {
    mark tool "$(py-spy --version)"
    mark rate "$rate"
    mark main "$main $comm"
    sleep "$warmup"
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
    if ! py-spy record --pid "$main" --subprocesses --rate "$rate" --duration "$duration" \
            --format raw --output /tmp/folded >/tmp/record.log 2>&1; then
        mark unavailable "py-spy record failed: $(tail -c 300 /tmp/record.log | tr '\n' ' ')"
    fi
    wait "$census"
    mark folded
    cat /tmp/folded 2>/dev/null
    mark_cpu
    mark end
}

# A native server (Go, nginx, Node): perf samples every server process on the
# cpu-clock software event (this VM has no hardware counters), kernel frames
# included when the kernel allows, else user space only; symbols are read
# from the server container's own files (/proc/MAIN/root).
native_profile() {
    pyspy=$(head -c 200 /tmp/probe.err | tr '\n' ' ')
    sleep "$warmup"
    pids=$(server_pids | paste -sd, -)
    for event in cpu-clock cpu-clock:u; do
        if perf record -e "$event" -F "$perf_rate" -g -p "$pids" -o /tmp/perf.data -- sleep "$duration" \
                >/tmp/perf.log 2>&1; then
            # The event as recorded: at perf_event_paranoid 2 perf falls back to user space (`:u`).
            recorded=$(perf evlist -i /tmp/perf.data 2>/dev/null | head -n 1)
            mark tool "$(perf --version) (${recorded:-$event})"
            mark rate "$perf_rate"
            mark main "$main $comm"
            mark perf
            # One line per sample without its period, so that each counts once.
            perf script -i /tmp/perf.data --symfs "/proc/$main/root" -F comm,pid,tid,time,event,ip,sym,dso 2>/dev/null
            mark_cpu
            mark end
            return
        fi
    done
    why=$(grep -v '^ *$' /tmp/perf.log | head -n 3 | tr '\n' ' ' | head -c 300)
    mark unavailable "no Python interpreter in the server's main process ($comm; py-spy: $pyspy), and perf could not sample it here: $why"
}

main=$(awk '/^PPid:\t1$/ { split(FILENAME, p, "/"); print p[3] }' /proc/[0-9]*/status 2>/dev/null | sort -n | head -n 1)
if [ -z "$main" ]; then
    mark unavailable "no server process was found in the server container's PID namespace"
    exit 0
fi
comm=$(cat "/proc/$main/comm" 2>/dev/null)
if py-spy dump --pid "$main" >/dev/null 2>/tmp/probe.err; then
    python_profile
else
    native_profile
fi
