"""One timed run of a command, for the benchmark scripts (bench-batch.py, bench-fx.py)."""
import os
import subprocess
import time


def run(argv):
    """(wall s, cpu s, exit status) of one run, its output discarded."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _pid, status, ru = os.wait4(p.pid, 0)
    except BaseException:
        # Stopped meanwhile: the run must not go on writing into what is being removed.
        p.kill()
        p.wait()
        raise
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, p.returncode
