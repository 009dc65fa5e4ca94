"""Hardening: objects that change under the caller's feet.

- removed between readdir and lookup, and between lookup and open: ENOENT,
  never a stale answer (deterministic steps, then a churn loop that runs
  `ls -l` and opens while another process creates and removes objects);
- removed while a file is open: that file keeps working until closed;
- a key (or name) removed and created again under an open file: the old
  file never touches the new object;
- a semaphore removed under 100 blocked waiters: every one gets EIDRM.
"""

import errno
import json
import os
import stat
import time

import sysv_ipc

import util
from test_hardening_lib import (LONG, extend_watchdog, record, start_waiters,
                                wait_for_ncnt)

E = errno


# ------------------------------------------------------------------
# Removed between readdir and lookup / lookup and open
# ------------------------------------------------------------------

def test_removed_between_readdir_and_lookup(mnt, ipc):
    m = ipc.shm()
    m.detach()
    pname = ipc.name('race')
    with open('/dev/shm/' + pname, 'wb') as f:
        f.write(b'x')
    sname = ipc.name('race')
    s = ipc.sem(name=sname)
    # Make sure the daemon knows the semaphore's name.
    os.stat(os.path.join(mnt.sem, sname))
    seg = util.keyname(m.key)
    assert seg in os.listdir(mnt.sysv)
    assert str(m.id) in os.listdir(mnt.ids)
    assert pname in os.listdir(mnt.posix)
    assert sname in os.listdir(mnt.sem)
    m.remove()
    os.unlink('/dev/shm/' + pname)
    s.remove()
    for p in (os.path.join(mnt.sysv, seg), os.path.join(mnt.ids, str(m.id)),
              os.path.join(mnt.posix, pname), os.path.join(mnt.sem, sname)):
        util.expect_errno(E.ENOENT, os.stat, p)
        util.expect_errno(E.ENOENT, os.open, p, os.O_RDONLY)
    assert seg not in os.listdir(mnt.sysv)
    assert pname not in os.listdir(mnt.posix)
    assert sname not in os.listdir(mnt.sem)
    record('race cases', 8)


def test_removed_between_lookup_and_open(mnt, ipc):
    """A name that was just looked up (stat through a held directory fd)
    is gone when it is opened: ENOENT, never the old object.  (The exact
    window between the kernel's LOOKUP and OPEN is hit by the churn test.)"""
    m = ipc.shm()
    m.detach()
    pname = ipc.name('race')
    with open('/dev/shm/' + pname, 'wb') as f:
        f.write(b'x')
    sname = ipc.name('race')
    s = ipc.sem(name=sname)
    paths = [os.path.join(mnt.sysv, util.keyname(m.key)),
             os.path.join(mnt.posix, pname), os.path.join(mnt.sem, sname)]
    dfds = [os.open(os.path.dirname(p), os.O_RDONLY | os.O_DIRECTORY)
            for p in paths]
    try:
        for d, p in zip(dfds, paths):
            assert stat.S_ISREG(os.stat(os.path.basename(p), dir_fd=d).st_mode)
        m.remove()
        os.unlink('/dev/shm/' + pname)
        s.remove()
        for d, p in zip(dfds, paths):
            util.expect_errno(E.ENOENT, os.open, os.path.basename(p),
                              os.O_RDONLY, dir_fd=d)
    finally:
        for d in dfds:
            os.close(d)
    record('race cases', 3)


CHURN = '''
import os, sys, time, sysv_ipc
keys, names, stop = %r, %r, time.monotonic() + %f
n = 0
while time.monotonic() < stop:
    for k in keys:
        try:
            m = sysv_ipc.SharedMemory(k, sysv_ipc.IPC_CREX, size=4096, mode=0o644)
            m.detach()
            m.remove()
        except sysv_ipc.ExistentialError:
            pass
        try:
            s = sysv_ipc.Semaphore(k + 1, sysv_ipc.IPC_CREX, mode=0o644)
            s.remove()
        except sysv_ipc.ExistentialError:
            pass
    for name in names:
        fd = os.open('/dev/shm/' + name, os.O_CREAT | os.O_RDWR, 0o644)
        os.write(fd, b'churn')
        os.close(fd)
        os.unlink('/dev/shm/' + name)
    n += 1
print(n)
'''


def test_churn_while_listing_and_opening(mnt, ipc, procs):
    """ls -l, stat, open and read while objects come and go: every error
    is ENOENT, every successful read is the object's real content."""
    seconds = 30.0 if LONG else 4.0
    extend_watchdog(seconds + 120)
    keys = [ipc.key() for _ in range(8)]
    for k in keys:
        ipc.add_key(k + 1)
    names = [ipc.name('churn') for _ in range(8)]
    churn = procs.py(CHURN % (keys, names, seconds))
    errors, ops, reads = {}, 0, 0
    deadline = time.monotonic() + seconds
    dirs = [mnt.sysv, mnt.ids, mnt.posix, mnt.sem]
    while time.monotonic() < deadline:
        for d in dirs:
            for entry in os.listdir(d):
                p = os.path.join(d, entry)
                ops += 1
                try:
                    st = os.stat(p)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    with open(p, 'rb', buffering=0) as f:
                        data = f.read(5)
                    reads += 1
                    if d == mnt.posix and entry in names:
                        assert data in (b'churn', b''), (p, data)
                except OSError as e:
                    # A semaphore removed after the open: EIDRM on read.
                    ok = e.errno == E.ENOENT or (d == mnt.sem and
                                                 e.errno == E.EIDRM)
                    key = errno.errorcode.get(e.errno, e.errno)
                    if not ok:
                        key = '%s on %s' % (key, p)
                    errors[key] = errors.get(key, 0) + 1
    out, err = churn.communicate(timeout=60)
    assert churn.returncode == 0, err
    assert int(out) > 0
    assert set(errors) <= {'ENOENT', 'EIDRM'}, errors
    assert ops > 0 and reads > 0
    record('race cases', ops)


# ------------------------------------------------------------------
# Removed while open
# ------------------------------------------------------------------

def test_sysv_removed_while_open(mnt, ipc):
    m = ipc.shm()
    m.write(b'before')
    p = os.path.join(mnt.sysv, util.keyname(m.key))
    fd = os.open(p, os.O_RDWR)
    try:
        nat = util.nattch(m.id)
        m.remove()
        assert util.keyname(m.key) not in os.listdir(mnt.sysv)
        util.expect_errno(E.ENOENT, os.stat, p)
        # the open file keeps working until closed
        assert util.pread_all(fd, 6) == b'before'
        assert os.pwrite(fd, b'after!', 0) == 6
        assert m.read(6) == b'after!'
        assert os.fstat(fd).st_size == util.PAGE_SIZE
        assert util.nattch(m.id) == nat
    finally:
        os.close(fd)
    m.detach()
    util.wait_until(lambda: util.shm_by_id(m.id) is None,
                    what='segment freed after the last close')
    record('race cases', 4)


def test_posix_removed_while_open(mnt, ipc):
    name = ipc.name('open')
    with open('/dev/shm/' + name, 'wb') as f:
        f.write(b'before')
    p = os.path.join(mnt.posix, name)
    fd = os.open(p, os.O_RDWR)
    try:
        os.unlink('/dev/shm/' + name)
        util.expect_errno(E.ENOENT, os.stat, p)
        assert util.pread_all(fd, 6) == b'before'
        assert os.pwrite(fd, b'later', 6) == 5
        assert util.pread_all(fd, 11) == b'beforelater'
    finally:
        os.close(fd)
    assert not os.path.exists('/dev/shm/' + name)
    record('race cases', 3)


def test_sem_removed_while_open(mnt, ipc):
    name = ipc.name('open')
    s = ipc.sem(value=2, name=name)
    p = os.path.join(mnt.sem, name)
    fd = os.open(p, os.O_RDWR)
    try:
        s.remove()
        util.expect_errno((E.EIDRM, E.ENOENT), os.write, fd, b'post')
        util.expect_errno((E.EIDRM, E.ENOENT), os.pread, fd, 16, 0)
    finally:
        os.close(fd)
    util.expect_errno(E.ENOENT, os.stat, p)
    record('race cases', 2)


# ------------------------------------------------------------------
# Re-created under an open file
# ------------------------------------------------------------------

def test_sysv_key_recreated_under_open_file(mnt, ipc):
    k = ipc.key()
    old = ipc.shm(key=k)
    old.write(b'OLD')
    p = os.path.join(mnt.sysv, util.keyname(k))
    fd = os.open(p, os.O_RDWR)
    try:
        old.remove()
        new = ipc.shm(key=k, size=2 * util.PAGE_SIZE)
        new.write(b'NEW')
        assert os.pwrite(fd, b'via old fd', 0) == 10
        assert util.pread_all(fd, 10) == b'via old fd'
        assert os.fstat(fd).st_size == util.PAGE_SIZE
        assert new.read(3) == b'NEW'
        assert old.read(10) == b'via old fd'
        # a new lookup reaches the new segment
        assert os.stat(p).st_size == 2 * util.PAGE_SIZE
        with open(p, 'rb') as f:
            assert f.read(3) == b'NEW'
        # and truncate to 0 through the old file zero-fills the old one only
        os.ftruncate(fd, 0)
        assert new.read(3) == b'NEW'
        assert old.read(3) == b'\0\0\0'
    finally:
        os.close(fd)
    record('race cases', 5)


def test_posix_name_recreated_under_open_file(mnt, ipc):
    name = ipc.name('recreate')
    with open('/dev/shm/' + name, 'wb') as f:
        f.write(b'OLD')
    p = os.path.join(mnt.posix, name)
    fd = os.open(p, os.O_RDWR)
    try:
        os.unlink('/dev/shm/' + name)
        with open('/dev/shm/' + name, 'wb') as f:
            f.write(b'NEW')
        os.pwrite(fd, b'old', 0)
        assert util.pread_all(fd, 3) == b'old'
        assert util.read_file('/dev/shm/' + name) == b'NEW'
        assert util.read_file(p) == b'NEW'
        os.ftruncate(fd, 0)
        assert util.read_file('/dev/shm/' + name) == b'NEW'
    finally:
        os.close(fd)
    record('race cases', 3)


def test_sem_name_recreated_under_open_file(mnt, ipc):
    name = ipc.name('recreate')
    old = ipc.sem(value=1, name=name)
    p = os.path.join(mnt.sem, name)
    fd = os.open(p, os.O_RDWR)
    try:
        old.remove()
        new = ipc.sem(value=5, name=name)
        util.expect_errno((E.EIDRM, E.ENOENT), os.write, fd, b'set 0')
        util.expect_errno((E.EIDRM, E.ENOENT), os.write, fd, b'post')
        assert new.value == 5
        with open(p, 'rb') as f:
            assert f.read() == b'5\n'
    finally:
        os.close(fd)
    record('race cases', 3)


# ------------------------------------------------------------------
# A semaphore removed under 100 waiters
# ------------------------------------------------------------------

def test_sem_removed_under_100_waiters(mnt, ipc, procs):
    n = 100
    name = ipc.name('rm100')
    s = ipc.sem(value=0, name=name)
    p = os.path.join(mnt.sem, name)
    waiters = start_waiters(procs, p, n)
    wait_for_ncnt(s.key, n)
    # The mount keeps answering while they block.
    assert util.read_file(p) == b'0\n'
    assert name in os.listdir(mnt.sem)
    t0 = time.monotonic()
    os.unlink(p)
    out, err = waiters.communicate(timeout=30)
    took = time.monotonic() - t0
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert results == ['EIDRM'] * n, {r: results.count(r) for r in results}
    assert took < util.PROMPT + 1, took
    assert util.sem_by_key(s.key) is None
    record('race cases', n)


def test_sem_removed_by_ipcrm_under_waiters(mnt, ipc, procs):
    """The same when the set is removed from outside (ipcrm)."""
    n = 20
    name = ipc.name('ipcrm')
    s = ipc.sem(value=0, name=name)
    waiters = start_waiters(procs, os.path.join(mnt.sem, name), n)
    wait_for_ncnt(s.key, n)
    util.run(['ipcrm', '-s', str(s.id)])
    out, err = waiters.communicate(timeout=30)
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert results == ['EIDRM'] * n, {r: results.count(r) for r in results}
    record('race cases', n)
    try:
        sysv_ipc.Semaphore(s.key)
        raise AssertionError('semaphore still there')
    except sysv_ipc.ExistentialError:
        pass
