"""Hardening: the daemon killed with SIGKILL, and started again.

- mid-wait and mid-read: the callers get an error at once, never a hang,
  and a killed wait takes nothing from the semaphore;
- with -o auto_unmount the mount goes away by itself;
- a restarted daemon sees every object (those made through the mount,
  those made beside it, those made while it was down), none lost, none
  half-created, no attachment left behind;
- killed while other users create objects through it: every object that
  exists afterwards is whole (owner, value, content) and reachable.
"""

import errno
import os
import signal
import subprocess
import time

import util
from test_hardening_lib import record

E = errno
DEAD = (E.ENOTCONN, E.ECONNABORTED)


def kill_daemon(m):
    os.kill(m.pid, signal.SIGKILL)
    m.proc.wait(timeout=20)
    m.expect_rc = -signal.SIGKILL


def unmount_dead(m):
    """What a user does after a crash without auto_unmount."""
    util.run(['fusermount3', '-u', m.path], rc=None)
    if util.run(['mountpoint', '-q', m.path], rc=None).rc == 0:
        util.run(['fusermount3', '-uz', m.path], rc=None)


IO = '''
import errno, os, sys
path, mode = sys.argv[1], sys.argv[2]
# read-write: with FUSE passthrough a read-only open of a segment is read
# by the kernel itself, and the daemon never sees the read
fd = os.open(path, os.O_RDWR if mode == 'read' else os.O_WRONLY)
print('opened', flush=True)
sys.stdin.readline()
try:
    if mode == 'read':
        os.read(fd, 4096)
    else:
        os.write(fd, b'wait\\n')
    print('OK', flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
'''


def all_threads_stopped(pid):
    states = []
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
            st = f.read()
        states.append(st[st.rindex(')') + 2])
    return all(s in ('T', 't') for s in states)


def start_io(procs, path, mode):
    p = procs.spawn([util.PYTHON, '-c', IO, path, mode],
                    stdin=subprocess.PIPE)
    assert p.stdout.readline().strip() == b'opened'
    return p


def go(p):
    p.stdin.write(b'go\n')
    p.stdin.flush()


def result_of(p, timeout=util.PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip()


def test_sigkill_mid_wait(mount_factory, ipc, procs):
    m = mount_factory()
    name = ipc.name('kill')
    s = ipc.sem(value=0, name=name)
    waiter = start_io(procs, os.path.join(m.sem, name), 'wait')
    go(waiter)
    util.wait_until(lambda: util.sem_ncnt(s.key) == 1, what='waiter blocked')
    kill_daemon(m)
    assert result_of(waiter) in ('ENOTCONN', 'ECONNABORTED')
    # The daemon's semop died with it: nothing taken, nobody waiting.
    assert s.value == 0
    util.wait_until(lambda: util.sem_ncnt(s.key) == 0, what='ncnt 0')
    s.release()
    assert s.value == 1
    # The dead mount answers ENOTCONN, then a plain unmount works.
    util.expect_errno(DEAD, os.listdir, m.sem)
    unmount_dead(m)
    assert not util.run(['mountpoint', '-q', m.path], rc=None).rc == 0
    record('faults survived', 1)


def test_sigkill_mid_read(mount_factory, ipc, procs):
    m = mount_factory()
    seg = ipc.shm()
    seg.write(b'data')
    reader = start_io(procs, os.path.join(m.sysv, util.keyname(seg.key)),
                      'read')
    nat = util.nattch(seg.id)
    # Freeze the daemon so that the read is in flight when it dies.
    os.kill(m.pid, signal.SIGSTOP)
    try:
        util.wait_until(lambda: all_threads_stopped(m.pid),
                        what='daemon stopped')
        go(reader)
        time.sleep(0.3)
        assert reader.poll() is None, 'read answered by a stopped daemon'
    finally:
        kill_daemon(m)
    assert result_of(reader) in ('ENOTCONN', 'ECONNABORTED')
    # Its attachment went with it.
    util.wait_until(lambda: util.nattch(seg.id) == nat - 1,
                    what='daemon attachment gone')
    assert seg.read(4) == b'data'
    unmount_dead(m)
    record('faults survived', 1)


def test_sigkill_with_auto_unmount(mount_factory, ipc, procs):
    m = mount_factory(opts=['auto_unmount'])
    name = ipc.name('auto')
    s = ipc.sem(value=0, name=name)
    waiters = [start_io(procs, os.path.join(m.sem, name), 'wait')
               for _ in range(3)]
    for w in waiters:
        go(w)
    util.wait_until(lambda: util.sem_ncnt(s.key) == 3, what='3 waiters')
    kill_daemon(m)
    for w in waiters:
        assert result_of(w) in ('ENOTCONN', 'ECONNABORTED')
    util.wait_until(lambda: not util.run(['mountpoint', '-q', m.path],
                                         rc=None).rc == 0,
                    timeout=util.PROMPT, what='auto_unmount')
    assert s.value == 0
    record('faults survived', 1)


def test_restarted_daemon_sees_every_object(mount_factory, ipc, procs):
    m = mount_factory()
    # Made through the mount.
    k1 = ipc.key()
    p1 = os.path.join(m.sysv, util.keyname(k1))
    util.run(['truncate', '-s', '1M', p1])
    with open(p1, 'r+b') as f:
        f.write(b'through the mount')
    pn = ipc.name('restart')
    with open(os.path.join(m.posix, pn), 'wb') as f:
        f.write(b'posix through the mount')
    sn = ipc.name('restart')
    with open(os.path.join(m.sem, sn), 'w') as f:
        f.write('post 3\n')
    # Made beside it.
    seg = ipc.shm(size=3 * util.PAGE_SIZE)
    seg.write(b'native')
    priv = ipc.shm(private=True)
    priv.write(b'private')
    # Held open and attached when it dies.
    held = open(os.path.join(m.sysv, util.keyname(seg.key)), 'rb')
    waiter = start_io(procs, os.path.join(m.sem, sn), 'wait')
    go(waiter)
    # (value 3: the wait returns at once and takes 1)
    assert result_of(waiter) == 'OK'
    assert util.sem_value(util.sem_key(sn)) == 2
    waiter2 = start_io(procs, os.path.join(m.sem, sn), 'wait')
    util.run(['sh', '-c', 'echo "set 0" > ' + os.path.join(m.sem, sn)])
    go(waiter2)
    util.wait_until(lambda: util.sem_ncnt(util.sem_key(sn)) == 1,
                    what='waiter blocked')
    kill_daemon(m)
    assert result_of(waiter2) in ('ENOTCONN', 'ECONNABORTED')
    try:
        held.close()
    except OSError:
        pass
    unmount_dead(m)
    # Made while it was down.
    seg2 = ipc.shm()
    seg2.write(b'while down')
    pn2 = ipc.name('down')
    with open('/dev/shm/' + pn2, 'wb') as f:
        f.write(b'posix while down')
    sn2 = ipc.name('down')
    ipc.sem(value=7, name=sn2)

    m2 = mount_factory()
    sysv = os.listdir(m2.sysv)
    ids = os.listdir(m2.ids)
    for k in (k1, seg.key, seg2.key):
        assert util.keyname(k) in sysv
    for shmid in (seg.id, priv.id, seg2.id):
        assert str(shmid) in ids
    assert os.stat(p1.replace(m.path, m2.path)).st_size == 1 << 20
    with open(os.path.join(m2.sysv, util.keyname(k1)), 'rb') as f:
        assert f.read(17) == b'through the mount'
    with open(os.path.join(m2.sysv, util.keyname(seg.key)), 'rb') as f:
        assert f.read(6) == b'native'
    with open(os.path.join(m2.ids, str(priv.id)), 'rb') as f:
        assert f.read(7) == b'private'
    with open(os.path.join(m2.sysv, util.keyname(seg2.key)), 'rb') as f:
        assert f.read(10) == b'while down'
    posix = os.listdir(m2.posix)
    assert pn in posix and pn2 in posix
    assert util.read_file(os.path.join(m2.posix, pn)) == \
        b'posix through the mount'
    assert util.read_file(os.path.join(m2.posix, pn2)) == b'posix while down'
    # Semaphores: the new daemon has not seen sn's name yet, so the listing
    # may show its key; both paths reach it, with the value it had (0: the
    # killed wait took nothing).
    sems = os.listdir(m2.sem)
    key = util.keyname(util.sem_key(sn))
    assert sn in sems or key in sems
    assert util.read_file(os.path.join(m2.sem, sn)) == b'0\n'
    assert util.read_file(os.path.join(m2.sem, key)) == b'0\n'
    assert util.read_file(os.path.join(m2.sem, sn2)) == b'7\n'
    # Nothing half-created, no attachment left by the dead daemon (nor by
    # the new one, once the kernel has sent the RELEASEs of our closes).
    def attachments():
        return [util.nattch(i) for i in (seg.id, seg2.id, priv.id,
                                         util.shm_by_key(k1)['shmid'])]
    util.wait_until(lambda: attachments() == [1, 1, 1, 0],
                    what='only the test attached')
    assert util.shm_by_key(k1)['size'] == 1 << 20
    assert util.sem_value(util.sem_key(sn)) == 0
    assert util.sem_ncnt(util.sem_key(sn)) == 0
    record('faults survived', 1)


CREATOR_LOOP = '''
import os, sys
base, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    for sub, name in (('sem', 'sem-%d' % i), ('posix', 'pos-%d' % i)):
        try:
            os.close(os.open(os.path.join(base, sub, sys.argv[3] + name),
                             os.O_CREAT | os.O_RDWR, 0o640))
        except OSError:
            sys.exit(0)
    try:
        k = int(sys.argv[4]) + i
        os.close(os.open(os.path.join(base, 'sysv', '0x%08x' % k),
                         os.O_CREAT | os.O_RDWR, 0o640))
    except OSError:
        sys.exit(0)
    print(i, flush=True)
'''


def test_sigkill_while_creating(mount_factory, ipc, procs):
    """Nobody creates objects in a loop; the daemon dies in the middle."""
    n = 200
    m = mount_factory()
    prefix = ipc.name('mk') + '-'
    base_key = util.random_key() & 0x7fff0000
    for i in range(n):
        ipc.add_key(base_key + i)
        ipc.add_name(prefix + 'sem-%d' % i)
        ipc.add_name(prefix + 'pos-%d' % i)
    loop = procs.spawn(util.as_user([util.PYTHON, '-c', CREATOR_LOOP,
                                     m.path, str(n), prefix, str(base_key)]))
    # Let it make a few, then kill the daemon mid-stream.
    assert loop.stdout.readline().strip() == b'0'
    for _ in range(5):
        loop.stdout.readline()
    kill_daemon(m)
    loop.communicate(timeout=util.PROMPT)
    unmount_dead(m)
    m2 = mount_factory()
    made = 0
    for i in range(n):
        for name in (prefix + 'sem-%d' % i,):
            key = util.sem_key(name)
            r = util.sem_by_key(key)
            if r is None:
                continue
            made += 1
            assert (r['uid'], r['mode']) == (util.NOBODY, 0o640), (name, r)
            assert util.read_file(os.path.join(m2.sem, name)) == b'0\n'
        name = prefix + 'pos-%d' % i
        if os.path.exists('/dev/shm/' + name):
            made += 1
            st = os.stat('/dev/shm/' + name)
            assert (st.st_uid, st.st_mode & 0o777) == (util.NOBODY, 0o640)
            assert name in os.listdir(m2.posix)
        r = util.shm_by_key(base_key + i)
        if r is not None:
            made += 1
            assert (r['uid'], r['mode'], r['nattch']) == \
                (util.NOBODY, 0o640, 0), r
            with open(os.path.join(m2.sysv, util.keyname(base_key + i)),
                      'rb') as f:
                assert len(f.read()) == util.PAGE_SIZE
    assert made >= 6 * 3 - 2
    record('faults survived', 1)
