#!/usr/bin/env python3
"""Who delays the server's request threads: run-queue waits of its tokio workers, by culprit.

    perf sched record -C CPU -o sched.data -- sleep SECONDS     # while a load runs
    python3 bench/sched-delay.py sched.data SERVER_PID

A request thread that is runnable but not running (woken with work, or preempted) adds that
wait to every request it holds; on a core shared with the server's own flush and merge
threads, those waits are what a latency percentile sees. This walks perf's sched_switch and
sched_waking events on the traced CPU and charges each wait of a worker (threads named
`tokio-r*`) to whatever ran meanwhile: the server's own threads by name, everything
else as "other processes" (on a shared machine, the load of other jobs). The server's own
share does not depend on the machine's load, so it is comparable between runs.
"""

import collections
import os
import re
import subprocess
import sys

SWITCH = re.compile(
    r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)"
)
WAKING = re.compile(r"comm=(.*?) pid=(\d+) prio")


def thread_names(pid):
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names[int(tid)] = f.read().strip()
    return names


def main():
    data, pid = sys.argv[1], int(sys.argv[2])
    own = thread_names(pid)
    workers = {t for t, n in own.items() if n.startswith("tokio-r")}
    out = subprocess.run(
        ["perf", "script", "-i", data, "-F", "time,event,trace"],
        capture_output=True, text=True, check=True,
    ).stdout
    waiting = {}  # worker tid -> time it became runnable
    running, since = None, None
    charged = collections.Counter()
    waits = []
    for line in out.splitlines():
        head, _, trace = line.partition(": ")
        try:
            t = float(head.strip().split()[0].rstrip(":"))
        except (ValueError, IndexError):
            continue
        if "sched_waking" in line:
            m = WAKING.search(trace)
            if m and int(m.group(2)) in workers and int(m.group(2)) != running:
                waiting.setdefault(int(m.group(2)), t)
            continue
        if "sched_switch" not in line:
            continue
        m = SWITCH.search(trace)
        if not m:
            continue
        prev, state, nxt = int(m.group(2)), m.group(3), int(m.group(5))
        if running is not None and waiting:
            name = own.get(running, "other processes")
            if running not in workers:
                charged[name] += (t - since) * len(waiting)
        if prev in workers and state.startswith("R"):
            waiting.setdefault(prev, t)
        if nxt in waiting:
            waits.append(t - waiting.pop(nxt))
        running, since = nxt, t
    total = sum(waits)
    print(f"worker waits: {len(waits)}, total {total * 1e3:.1f} ms, "
          f"over 1 ms: {sum(w > 1e-3 for w in waits)}, over 3 ms: {sum(w > 3e-3 for w in waits)}, "
          f"longest {max(waits, default=0) * 1e3:.2f} ms")
    for name, secs in charged.most_common():
        print(f"  {name:24} {secs * 1e3:9.1f} ms of worker wait")


if __name__ == "__main__":
    main()
