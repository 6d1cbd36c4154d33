#!/usr/bin/env python3
"""`-FX` (parse and reassemble, no flow files) on one capture: tcpflow-ts against tcpflow,
with `cat` and Node's floors beside them (scripts/bench.sh).

  bench-fx.py "CMD" PCAP [ROUNDS]        (ROUNDS default 9)

Runs, in each round, `cat PCAP` (to /dev/null), `tcpflow -FX -r PCAP -o OUT`,
`CMD -FX -r PCAP -o OUT`, `node -e 0`, and the two floors of dist/scripts/bench-fx-floor.js
(`walk`: one thread reads the file as the coordinator does and walks its records;
`split`: two threads read a half each, no walk), the order reversed every other round so
that a change of load falls on all alike. Wall time (monotonic clock around the run) and
CPU time (user + system, wait4's rusage) per run; prints medians, tcpflow-ts / tcpflow,
the share of `cat`'s rate tcpflow-ts reaches, and the target of issue 14 (half of
tcpflow's time) beside the floors, with the time a packet may take under that target once
the split floor is paid. -FX writes no flow files to compare (the oracle and
the tests check its reports). Exit status 1, and no figures, when a run failed.
"""
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

from bench_run import run

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, pcap = shlex.split(sys.argv[1]), os.path.abspath(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    floor = os.path.join(HERE, 'dist', 'scripts', 'bench-fx-floor.js')
    for need in (pcap, floor):
        if not os.path.exists(need):
            sys.exit(f'bench-fx: {need} not found')
    for prog in ('tcpflow', 'node', cmd[0]):
        if shutil.which(prog) is None:
            sys.exit(f'bench-fx: {prog} not found on PATH')
    work = tempfile.mkdtemp(prefix='bench-fx-', dir='/dev/shm' if os.path.isdir('/dev/shm') else None)
    out = os.path.join(work, 'out')
    cmds = {
        'cat': ['cat', pcap],
        'tcpflow -FX': ['tcpflow', '-FX', '-r', pcap, '-o', out],
        'tcpflow-ts -FX': cmd + ['-FX', '-r', pcap, '-o', out],
        'node -e 0': ['node', '-e', '0'],
        'floor: walk': ['node', floor, 'walk', pcap],
        'floor: split': ['node', floor, 'split', pcap],
    }
    wall = {k: [] for k in cmds}
    cpu = {k: [] for k in cmds}
    failed = []
    try:
        for r in range(rounds):
            order = list(cmds) if r % 2 == 0 else list(cmds)[::-1]
            for k in order:
                shutil.rmtree(out, ignore_errors=True)
                os.mkdir(out)
                w, c, status = run(cmds[k])
                if status != 0:
                    failed.append(f'{k}: exit status {status}')
                wall[k].append(w)
                cpu[k].append(c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        for f in sorted(set(failed)):
            print(f'bench-fx: {f}', file=sys.stderr)
        sys.exit(1)
    med = {k: statistics.median(wall[k]) for k in cmds}
    size = os.path.getsize(pcap)
    print(f'-FX on {os.path.basename(pcap)} ({size / 1e6:.0f} MB), {rounds} alternating rounds, medians:')
    for k in cmds:
        print(f'  {k:16} wall {med[k]:.3f} s (range {min(wall[k]):.3f}-{max(wall[k]):.3f})  cpu {statistics.median(cpu[k]):.3f} s')
    ours, theirs = med['tcpflow-ts -FX'], med['tcpflow -FX']
    target = theirs / 2
    print(f'  tcpflow-ts / tcpflow: {ours / theirs:.2f}   share of cat\'s rate: {100 * med["cat"] / ours:.0f} %')
    packets = int(subprocess.run(['node', floor, 'walk', pcap], capture_output=True, text=True, check=True).stdout)
    room = target - med['floor: split']
    print(f'  target (half of tcpflow -FX): {target:.3f} s; the floors: walk {med["floor: walk"]:.3f} s, '
          f'split {med["floor: split"]:.3f} s')
    print(f'  room the split floor leaves under the target for {packets:,} packets\' walk, decoding and '
          f'reassembly: {1000 * room:.0f} ms ({max(0.0, 2e9 * room / packets):.0f} ns of CPU a packet on two cores)')


if __name__ == '__main__':
    main()
