#!/usr/bin/env python3
"""A batch of small captures, one run each: tcpflow-ts against tcpflow (scripts/bench.sh).

  bench-batch.py "CMD" [COUNT]        (COUNT: captures in the batch, default 1000)

Makes COUNT small captures in a temporary directory (on /dev/shm when there is one):
copies of the project's fixtures of at most 64 KiB (fixtures/, corpus captures and made
ones, pcap and pcapng) taken in turn, each under a name of its own. Then runs, for every
capture in turn, `tcpflow -r CAP -o OUT`, `CMD -r CAP -o OUT` and `node -e 0` (what Node's
own start-up costs), the order rotating from one capture to the next so that a change of
load on the machine falls on all three alike. Wall time (monotonic clock around the run)
and CPU time (user + system, wait4's rusage) are summed per command; the flow files of
both tools (names and md5s, report.xml left out) are compared capture by capture.

Prints the totals, the mean per run, the ratios tcpflow-ts / tcpflow and
tcpflow-ts / `node -e 0`, and how many captures gave the same flow files. Exit status 1
when a tcpflow-ts run failed where tcpflow succeeded.
"""
import hashlib
import os
import shlex
import shutil
import signal
import sys
import tempfile

from bench_run import run

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SIZE = 64 * 1024


def captures():
    """The fixtures small enough to stand for 'a small capture', by path."""
    found = []
    for root, _dirs, names in os.walk(os.path.join(HERE, 'fixtures')):
        for n in names:
            p = os.path.join(root, n)
            if n.endswith(('.pcap', '.cap', '.pcapng')) and 0 < os.path.getsize(p) <= MAX_SIZE:
                found.append(p)
    return sorted(found)


def flow_files(out):
    """{relative path: md5} of the flow files under out (reports left out)."""
    got = {}
    for root, _dirs, names in os.walk(out):
        for n in names:
            if n in ('report.xml',) or n.endswith('.jsonl'):
                continue
            p = os.path.join(root, n)
            with open(p, 'rb') as f:
                got[os.path.relpath(p, out)] = hashlib.md5(f.read()).hexdigest()
    return got


def main():
    cmd = shlex.split(sys.argv[1]) if len(sys.argv) > 1 else ['node', os.path.join(HERE, 'dist/cli/main.js')]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    sources = captures()
    if not sources:
        sys.exit('bench-batch: no fixtures of at most 64 KiB found')
    base = '/dev/shm' if os.access('/dev/shm', os.W_OK) else None
    work = tempfile.mkdtemp(prefix='bench-batch.', dir=base)
    # Stopped with kill (a long batch): the copies in memory are still removed (finally below).
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    try:
        batch = []
        for i in range(count):
            src = sources[i % len(sources)]
            dst = os.path.join(work, 'in', '%04d-%s' % (i, os.path.basename(src)))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            batch.append(dst)
        size = sum(os.path.getsize(f) for f in batch)
        print('batch: %d captures (%d fixtures of at most 64 KiB in turn), %.1f MB in all, in %s' % (
            count, len(sources), size / 1e6, work), flush=True)
        names = ('tcpflow', 'tcpflow-ts', 'node -e 0')
        total = {n: [0.0, 0.0] for n in names}
        same = failed = 0
        for i, cap in enumerate(batch):
            outs = {n: os.path.join(work, 'out-%d' % k) for k, n in enumerate(names[:2])}
            argv = {
                'tcpflow': ['tcpflow', '-r', cap, '-o', outs['tcpflow']],
                'tcpflow-ts': cmd + ['-r', cap, '-o', outs['tcpflow-ts']],
                'node -e 0': ['node', '-e', '0'],
            }
            order = names[i % 3:] + names[:i % 3]
            status = {}
            for n in order:
                wall, cpu, status[n] = run(argv[n])
                total[n][0] += wall
                total[n][1] += cpu
            if status['tcpflow-ts'] != 0 and status['tcpflow'] == 0:
                failed += 1
                print('  %s: tcpflow-ts exit %d, tcpflow 0' % (cap, status['tcpflow-ts']), flush=True)
            if flow_files(outs['tcpflow']) == flow_files(outs['tcpflow-ts']):
                same += 1
            for o in outs.values():
                shutil.rmtree(o, ignore_errors=True)
            if (i + 1) % 100 == 0:
                print('  %d/%d' % (i + 1, count), flush=True)
        for n in names:
            w, c = total[n]
            print('%-11s wall %7.2f s (%6.1f ms a run)  cpu %7.2f s (%6.1f ms a run)' % (n, w, 1000 * w / count, c, 1000 * c / count))
        ours, ref, node = total['tcpflow-ts'], total['tcpflow'], total['node -e 0']
        print('ratio tcpflow-ts / tcpflow: wall %.2f, cpu %.2f' % (ours[0] / ref[0], ours[1] / ref[1]))
        print('ratio tcpflow-ts / node -e 0: wall %.2f, cpu %.2f' % (ours[0] / node[0], ours[1] / node[1]))
        print('same flow files (names and md5s) as tcpflow: %d of %d captures' % (same, count))
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
