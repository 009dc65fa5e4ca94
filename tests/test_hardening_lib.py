"""Helpers shared by the tests/test_hardening_*.py files (no tests here).

- LONG: IPCFS_LONG=1 selects the long forms (more waiters, longer load).
- extend_watchdog(): lets one long test outlive conftest's per-test limits.
- DaemonStats: threads, fds and private memory of the daemon.
- start_waiters(), wait_for_ncnt(): many processes blocked on a semaphore.
(Fixtures, ns_mount_factory among them, live in conftest.py only.)
"""

import faulthandler
import json
import os
import signal
import subprocess

import pytest

import util

LONG = os.environ.get('IPCFS_LONG') == '1'

# Test-only owners.  setpriv needs no passwd entry for them.
OWNER = 4242
GROUP = 4343
CREATOR = 4141


def extend_watchdog(seconds):
    """Moves conftest's soft and hard per-test limits to `seconds` from now."""
    signal.alarm(int(seconds))
    faulthandler.dump_traceback_later(int(seconds) + 120, exit=True)


def record(group, n):
    """Adds n to a counter of the README's table (IPCFS_HARDENING_COUNTS).

    The file holds one JSON object {group: count}; nothing is written when
    the variable is unset.
    """
    path = os.environ.get('IPCFS_HARDENING_COUNTS')
    if not path:
        return
    try:
        with open(path) as f:
            counts = json.load(f)
    except (FileNotFoundError, ValueError):
        counts = {}
    counts[group] = counts.get(group, 0) + n
    with open(path, 'w') as f:
        json.dump(counts, f, indent=1, sort_keys=True)


# ------------------------------------------------------------------
# The daemon's resources
# ------------------------------------------------------------------

class DaemonStats:
    def __init__(self, pid):
        self.pid = pid
        self.threads = self._status('Threads')
        # With clone_fd every worker thread has its own /dev/fuse fd: those
        # follow the thread count; every other fd must come back.
        self.fuse_fds, self.fds = 0, 0
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except FileNotFoundError:
                continue
            if target == '/dev/fuse':
                self.fuse_fds += 1
            else:
                self.fds += 1
        self.private_kb = self._private_kb()
        self.sysv_maps = len(util.daemon_sysv_maps(pid))

    def _status(self, field):
        with open('/proc/%d/status' % self.pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
        raise AssertionError('no %s in /proc/%d/status' % (field, self.pid))

    def _private_kb(self):
        total = 0
        with open('/proc/%d/smaps_rollup' % self.pid) as f:
            for line in f:
                if line.startswith(('Private_Clean:', 'Private_Dirty:')):
                    total += int(line.split()[1])
        return total

    def __repr__(self):
        return ('DaemonStats(threads=%d, fds=%d + %d /dev/fuse, '
                'private=%d kB, sysv maps=%d)'
                % (self.threads, self.fds, self.fuse_fds, self.private_kb,
                   self.sysv_maps))


# libfuse keeps up to max_idle_threads (10 by default) idle workers after a
# burst; anything past that is a leak.
IDLE_THREADS = 10


def _sanitized(pid):
    """Whether the daemon runs with AddressSanitizer's runtime loaded."""
    try:
        with open('/proc/%d/maps' % pid) as f:
            return 'libasan' in f.read()
    except OSError:
        return False


def wait_back_to_baseline(pid, base, extra_threads=IDLE_THREADS,
                          extra_private_kb=32 * 1024, timeout=10):
    """Waits until the daemon's fds/threads/maps are back near `base`."""
    last = [None]
    if _sanitized(pid):
        # ASan's quarantine and shadow keep freed memory private on
        # purpose: the memory bound is checked by the plain build's run.
        extra_private_kb = float('inf')

    def ok():
        s = DaemonStats(pid)
        last[0] = s
        return (s.fds <= base.fds and s.sysv_maps <= base.sysv_maps and
                s.threads <= base.threads + extra_threads and
                s.fuse_fds <= base.fuse_fds + max(0, s.threads -
                                                  base.threads) and
                s.private_kb <= base.private_kb + extra_private_kb)
    try:
        util.wait_until(ok, timeout=timeout, interval=0.1,
                        what='daemon resources back to baseline')
    except AssertionError:
        raise AssertionError('daemon did not return to its baseline: '
                             'before %r, after %r' % (base, last[0]))
    return last[0]


# ------------------------------------------------------------------
# A daemon in a private IPC namespace
# ------------------------------------------------------------------


# Waiters blocked on a semaphore, shared by the race and load tests.
WAITERS = '''
import errno, json, os, sys, threading
threading.stack_size(256 * 1024)
path, n = sys.argv[1], int(sys.argv[2])
results = [None] * n
def waiter(i):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        results[i] = 'open ' + errno.errorcode[e.errno]
        return
    try:
        os.write(fd, b'wait\\n')
        results[i] = 'OK'
    except OSError as e:
        results[i] = errno.errorcode[e.errno]
    finally:
        os.close(fd)
threads = [threading.Thread(target=waiter, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
print('started', flush=True)
for t in threads:
    t.join()
print(json.dumps(results), flush=True)
'''


def start_waiters(procs, path, n):
    p = procs.spawn([util.PYTHON, '-c', WAITERS, path, str(n)])
    assert p.stdout.readline().strip() == b'started'
    return p


def wait_for_ncnt(key, n, timeout=30):
    # The daemon waits in chunks of at most 1 s, so ncnt may dip for an
    # instant between chunks: poll until it is seen at n.
    util.wait_until(lambda: util.sem_ncnt(key) == n, timeout=timeout,
                    interval=0.05, what='%d waiters blocked' % n)
