#!/usr/bin/env python3
"""The rotated benchmark set read as a directory (scripts/bench.sh).

  bench-rotated-dir.py BENCHDIR "CMD" PCAPDIR [PAIRS]

tcpflow-ts `CMD -r PCAPDIR/rotated -o OUT` (it orders the 20 files by their first packets)
against `tcpflow -r F1 ... -r F20 -o OUT` (the files in rotation order), in alternating
pairs, each under /usr/bin/time -v with the output directory deleted first, on a tmpfs
when there is one; prints both medians, the wall-time and peak-RSS ratios, and whether
both wrote the same flow files with the same md5. Uses the shared harness's helpers
(BENCHDIR/benchlib.py), as run-bench.sh does. Exit status 1 if the files differ.
"""
import os
import shlex
import shutil
import sys
import tempfile

bench, cmd, pcapdir = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
sys.path.insert(0, bench)
import benchlib  # noqa: E402

files = benchlib.inputs(pcapdir)['rotated']
rotdir = os.path.join(pcapdir, 'rotated')
base = '/dev/shm' if os.access('/dev/shm', os.W_OK) else None
work = tempfile.mkdtemp(prefix='bench-rotated-dir.', dir=base)
try:
    benchlib.warm(files)
    nbytes = sum(os.path.getsize(f) for f in files)
    npk = benchlib.packets(files, {})
    ours_out, ref_out = os.path.join(work, 'ours'), os.path.join(work, 'tcpflow')
    A, B = [], []
    for i in range(pairs):
        for who, argv, out, acc in (('ours', shlex.split(cmd) + ['-r', rotdir], ours_out, A),
                                    ('tcpflow', ['tcpflow'] + benchlib.rargs(files), ref_out, B)):
            r = benchlib.timed(argv + ['-o', out], out)
            acc.append(r)
            print('  rotated-dir pair %d %-8s wall %.2fs cpu %.2fs rss %.1f MB exit %d' % (
                i + 1, who, r['wall'], r['user'] + r['sys'], r['rss_kb'] / 1024, r['exit']), flush=True)
            if r['exit'] != 0:
                print(r.get('stderr', ''), file=sys.stderr)
    la, lb = benchlib.listing(ours_out), benchlib.listing(ref_out)
    same = la == lb
    sa, sb = benchlib.summarize('ours', A, nbytes, npk), benchlib.summarize('tcpflow', B, nbytes, npk)
    print()
    print('| input | tcpflow wall s | ours wall s | wall ratio ours/tcpflow | tcpflow RSS MB | ours RSS MB | '
          'RSS ratio | flow files tcpflow / ours | same files + md5 |')
    print('|---|---:|---:|---:|---:|---:|---:|---|---|')
    print('| rotated as -r DIR (tcpflow: 20 -r) | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %d / %d | %s |' % (
        sb['median_wall_s'], sa['median_wall_s'], sa['median_wall_s'] / sb['median_wall_s'],
        sb['median_rss_mb'], sa['median_rss_mb'], sa['median_rss_mb'] / sb['median_rss_mb'],
        len(lb), len(la), 'yes' if same else 'NO'))
    sys.exit(0 if same else 1)
finally:
    shutil.rmtree(work, ignore_errors=True)
