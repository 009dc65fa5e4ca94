"""sem/<name>: named counting semaphores driven by text commands."""

import errno
import os
import signal
import stat
import subprocess
import time

import pytest
import sysv_ipc

import util


def spath(mnt, name):
    return mnt.p('sem', name)


def value(name):
    return util.sem_value(util.sem_key(name))


def ncnt(name):
    return util.sem_ncnt(util.sem_key(name))


def cmd(path, data):
    """Writes one command buffer; returns None or the errno."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        n = os.write(fd, data)
        assert n == len(data), (n, data)
        return None
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def ok(path, data):
    e = cmd(path, data)
    assert e is None, '%r: %s' % (data, errno.errorcode[e])


def fails(path, data, want):
    e = cmd(path, data)
    assert e == want, '%r: got %s, want %s' % (
        data, e and errno.errorcode[e], errno.errorcode[want])


def wait_blocked(name, n=1, timeout=util.PROMPT):
    util.wait_until(lambda: ncnt(name) >= n, timeout=timeout,
                    what='%d waiter(s) blocked on %s' % (n, name))


WAITER = '''
import errno, os, sys
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
try:
    os.write(fd, %r)
    print('OK', flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
'''

# A waiter that survives the signal and reports what write(2) returned:
# ctypes calls write directly, so Python does not retry after EINTR.
SURVIVOR = '''
import ctypes, errno, os, signal, sys
signal.signal(signal.SIGINT, lambda *a: None)
signal.signal(signal.SIGTERM, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
r = libc.write(fd, b'wait', 4)
e = ctypes.get_errno()
print('OK' if r == 4 else errno.errorcode.get(e, str(e)), flush=True)
'''


def spawn_waiter(procs, path, data=b'wait', survivor=False, **kw):
    code = SURVIVOR % path if survivor else WAITER % (path, data)
    p = procs.py(code, **kw)
    assert p.stdout.readline() == b'open\n'
    return p


def waiter_result(p, timeout=util.PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip()


# ------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------

@pytest.mark.parametrize('v', [0, 3, 32767])
def test_cat_prints_value(mnt, ipc, v):
    n = ipc.name()
    ipc.sem(name=n, value=v)
    assert util.run(['cat', spath(mnt, n)]).out == b'%d\n' % v
    assert util.read_file(spath(mnt, n)) == b'%d\n' % v


def test_read_fresh_at_offset_0_and_eof_after_line(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=5)
    fd = os.open(spath(mnt, n), os.O_RDONLY)
    try:
        assert os.read(fd, 1) == b'5'
        assert os.read(fd, 100) == b'\n'
        assert os.read(fd, 100) == b''
        s.release()
        assert os.pread(fd, 100, 0) == b'6\n'
        assert os.pread(fd, 100, 2) == b''
        assert os.pread(fd, 100, 50) == b''
        s.release()
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b'7\n'
        assert os.read(fd, 100) == b''
    finally:
        os.close(fd)


def test_cat_twice_sees_change(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)
    assert util.run(['cat', spath(mnt, n)]).out == b'1\n'
    s.value = 42
    assert util.run(['cat', spath(mnt, n)]).out == b'42\n'


# ------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------

def test_post(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    ok(p, 'post')
    assert value(n) == 1
    ok(p, 'post\n')
    assert value(n) == 2
    ok(p, 'post 5')
    assert value(n) == 7
    ok(p, 'post 10\n')
    assert value(n) == 17
    util.sh('echo post > %s' % p)
    assert value(n) == 18
    util.sh('echo "post 2" >> %s' % p)
    assert value(n) == 20


def test_post_past_max_erange(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=32767)
    p = spath(mnt, n)
    fails(p, 'post', errno.ERANGE)
    assert value(n) == 32767
    s.value = 32760
    fails(p, 'post 8', errno.ERANGE)
    assert value(n) == 32760
    fails(p, 'post 40000', errno.ERANGE)
    assert value(n) == 32760
    ok(p, 'post 7')
    assert value(n) == 32767
    # coreutils echo reports the errno (dash's builtin only says I/O error)
    res = util.sh('/bin/echo post > %s' % p, rc='nonzero')
    assert 'Numerical result out of range' in res.err
    assert value(n) == 32767


def test_wait_takes(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=5)
    p = spath(mnt, n)
    ok(p, 'wait')
    assert value(n) == 4
    ok(p, 'wait 3\n')
    assert value(n) == 1
    util.sh('echo wait > %s' % p)
    assert value(n) == 0


def test_trywait(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=1)
    p = spath(mnt, n)
    fails(p, 'trywait 2', errno.EAGAIN)
    assert value(n) == 1
    ok(p, 'trywait')
    assert value(n) == 0
    fails(p, 'trywait', errno.EAGAIN)
    fails(p, 'trywait 1\n', errno.EAGAIN)
    assert value(n) == 0
    ok(p, 'post 3')
    ok(p, 'trywait 3')
    assert value(n) == 0


@pytest.mark.parametrize('secs', ['0.3', '1', '0.25\n'])
def test_timedwait_times_out(mnt, ipc, secs):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    t0 = time.monotonic()
    fails(spath(mnt, n), 'timedwait ' + secs, errno.ETIMEDOUT)
    took = time.monotonic() - t0
    assert took >= float(secs) * 0.9, took
    assert took < float(secs) + util.PROMPT, took
    assert value(n) == 0
    assert ncnt(n) == 0


def test_timedwait_succeeds(mnt, ipc, procs):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)
    p = spath(mnt, n)
    ok(p, 'timedwait 30')
    assert value(n) == 0
    w = spawn_waiter(procs, p, b'timedwait 30')
    wait_blocked(n)
    s.release()
    assert waiter_result(w) == 'OK'
    assert value(n) == 0


def test_set(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=3)
    p = spath(mnt, n)
    ok(p, 'set 7')
    assert value(n) == 7
    ok(p, 'set 0\n')
    assert value(n) == 0
    ok(p, 'set 32767')
    assert value(n) == 32767
    e = cmd(p, 'set 32768')
    assert e in (errno.ERANGE, errno.EINVAL), e
    assert value(n) == 32767


def test_set_wakes_waiters(mnt, ipc, procs):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    w = spawn_waiter(procs, p, b'wait 3')
    wait_blocked(n)
    ok(p, 'set 2')
    time.sleep(0.3)
    assert w.poll() is None           # 2 is not enough for "wait 3"
    assert value(n) == 2
    ok(p, 'set 5')
    assert waiter_result(w) == 'OK'
    assert value(n) == 2


def test_wait_n_is_atomic(mnt, ipc, procs):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)
    w = spawn_waiter(procs, spath(mnt, n), b'wait 2')
    wait_blocked(n)
    assert value(n) == 1               # nothing taken while waiting
    s.release()
    assert waiter_result(w) == 'OK'
    assert value(n) == 0


EINVAL_FORMS = [
    '\n', 'bogus', 'POST', 'Post', 'post 0', 'wait 0', 'trywait 0',
    'post -1', 'wait -2', 'post x', 'post 1x', 'post 1 junk', 'post1',
    'post 1.5', 'post 0x10', 'set', 'set -1', 'set x', 'set 1 2',
    'timedwait', 'timedwait x', 'timedwait -1', 'timedwait 1.5.2',
    'post\n\n', '\npost', 'wait\0', 'post\nbogus', 'set 5\npost 0',
    'post 2\nwait 0\n', 'trywait\n\npost',
]


@pytest.mark.parametrize('text', EINVAL_FORMS)
def test_einval_and_nothing_done(mnt, ipc, text):
    n = ipc.name()
    ipc.sem(name=n, value=3)
    fails(spath(mnt, n), text, errno.EINVAL)
    assert value(n) == 3
    assert util.read_file(spath(mnt, n)) == b'3\n'


def test_einval_from_shell(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=3)
    res = util.sh('/bin/echo frobnicate > %s' % spath(mnt, n), rc='nonzero')
    assert 'Invalid argument' in res.err
    assert value(n) == 3


def test_multi_line_runs_in_order(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    ok(p, 'post 3\nwait 2\npost\n')
    assert value(n) == 2
    ok(p, 'set 10\ntrywait 4\ntimedwait 1\nwait')
    assert value(n) == 4
    util.sh('printf "post\\npost\\n" > %s' % p)
    assert value(n) == 6


def test_multi_line_stops_at_first_failure(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)
    p = spath(mnt, n)
    fails(p, 'trywait\ntrywait\npost 5', errno.EAGAIN)
    assert value(n) == 0
    fails(p, 'post\npost 32767\npost', errno.ERANGE)
    assert value(n) == 1
    fails(p, 'post 2\nset 5\ntrywait 9\npost 100', errno.EAGAIN)
    assert value(n) == 5
    s.value = 1
    fails(p, 'trywait\ntimedwait 0.2\npost 9', errno.ETIMEDOUT)
    assert value(n) == 0
    fails(p, 'post\ntrywait\ntimedwait 0.2\npost 9', errno.ETIMEDOUT)
    assert value(n) == 0


def test_offset_ignored_append_and_trunc(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    util.sh('echo post >> %s' % p)
    util.sh('echo post > %s' % p)
    assert value(n) == 2
    fd = os.open(p, os.O_RDWR)
    try:
        assert os.pwrite(fd, b'post', 1000) == 4
        os.lseek(fd, 0, os.SEEK_END)
        assert os.write(fd, b'post') == 4
        assert os.write(fd, b'post') == 4
        assert os.pread(fd, 100, 0) == b'5\n'
    finally:
        os.close(fd)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, b'post 2\n') == 7
    finally:
        os.close(fd)
    assert value(n) == 7
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    util.run(['truncate', '-s', '0', p])
    util.run(['truncate', '-s', '100', p])
    os.truncate(p, 0)
    assert value(n) == 7
    assert util.read_file(p) == b'7\n'


# ------------------------------------------------------------------
# Blocking waits
# ------------------------------------------------------------------

def test_blocked_wait_blocks_nothing_else(mnt, ipc, procs):
    n, other = ipc.name(), ipc.name()
    ipc.sem(name=n, value=0)
    ipc.sem(name=other, value=0)
    p = spath(mnt, n)
    waiter = procs.sh('echo wait > %s' % p)
    wait_blocked(n)
    # everything else keeps answering
    assert util.run(['cat', p], timeout=util.PROMPT).out == b'0\n'
    assert n in util.run(['ls', mnt.sem], timeout=util.PROMPT).text.split()
    util.run(['stat', p], timeout=util.PROMPT)
    util.sh('echo post > %s' % spath(mnt, other), timeout=util.PROMPT)
    assert util.run(['cat', spath(mnt, other)],
                    timeout=util.PROMPT).out == b'1\n'
    util.run(['ls', mnt.sysv, mnt.posix], timeout=util.PROMPT)
    util.run(['getfattr', '-d', p], timeout=util.PROMPT)
    assert waiter.poll() is None
    # another shell posting on the same name releases the waiter
    util.sh('echo post > %s' % p, timeout=util.PROMPT)
    assert waiter.wait(timeout=util.PROMPT) == 0
    assert value(n) == 0
    assert value(other) == 1


def test_two_waiters_same_name(mnt, ipc, procs):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    w1 = procs.sh('echo wait > %s' % p)
    w2 = procs.sh('echo "wait 2" > %s' % p)
    wait_blocked(n, 2)
    util.sh('echo post > %s' % p, timeout=util.PROMPT)
    assert w1.wait(timeout=util.PROMPT) == 0
    assert w2.poll() is None
    util.sh('echo "post 2" > %s' % p, timeout=util.PROMPT)
    assert w2.wait(timeout=util.PROMPT) == 0
    assert value(n) == 0


def test_post_while_waiter_file_open(mnt, ipc, procs):
    """A process waits on a file; another one posts by opening the name
    while the waiter's file is still open."""
    n = ipc.name()
    ipc.sem(name=n, value=0)
    w = spawn_waiter(procs, spath(mnt, n))
    wait_blocked(n)
    fd = os.open(spath(mnt, n), os.O_RDWR)
    try:
        assert os.pread(fd, 10, 0) == b'0\n'
        assert os.write(fd, b'post') == 4
    finally:
        os.close(fd)
    assert waiter_result(w) == 'OK'
    assert value(n) == 0


def test_hundreds_of_waiters(mnt, ipc, procs):
    N = 210
    n, m = ipc.name(), ipc.name()
    ipc.sem(name=n, value=0)
    ipc.sem(name=m, value=0)
    p = spath(mnt, n)
    waiters = [procs.sh('echo wait > %s' % p, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) for _ in range(N)]
    wait_blocked(n, N, timeout=60)
    # the rest of the filesystem keeps answering
    for _ in range(3):
        assert n in util.run(['ls', mnt.sem],
                             timeout=util.PROMPT).text.split()
        assert util.run(['cat', p], timeout=util.PROMPT).out == b'0\n'
        util.run(['ls', mnt.sysv, mnt.posix], timeout=util.PROMPT)
        util.run(['stat', mnt.sysv, mnt.posix, spath(mnt, m)],
                 timeout=util.PROMPT)
        util.sh('echo post > %s' % spath(mnt, m), timeout=util.PROMPT)
    assert value(m) == 3
    assert all(w.poll() is None for w in waiters)
    util.sh('echo "post %d" > %s' % (N, p), timeout=util.PROMPT)
    deadline = time.monotonic() + 60
    for w in waiters:
        assert w.wait(timeout=max(1, deadline - time.monotonic())) == 0
    assert value(n) == 0
    assert ncnt(n) == 0


def test_waiters_on_many_semaphores(mnt, ipc, procs):
    names = [ipc.name() for _ in range(50)]
    for n in names:
        ipc.sem(name=n, value=0)
    waiters = []
    for n in names:
        for _ in range(4):
            waiters.append(procs.sh('echo wait > %s' % spath(mnt, n),
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL))
    for n in names:
        wait_blocked(n, 4, timeout=60)
    assert len(util.run(['ls', mnt.sem], timeout=util.PROMPT).text.split()) \
        >= len(names)
    for n in names:
        util.sh('echo "set 4" > %s' % spath(mnt, n), timeout=util.PROMPT)
    deadline = time.monotonic() + 60
    for w in waiters:
        assert w.wait(timeout=max(1, deadline - time.monotonic())) == 0
    for n in names:
        assert value(n) == 0


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGKILL])
def test_killed_waiter_returns_promptly_takes_nothing(mnt, ipc, procs, sig):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    # like Ctrl-C at a shell: the signal goes to the whole process group
    w = procs.sh('echo wait > %s' % p)
    wait_blocked(n)
    os.killpg(w.pid, sig)
    try:
        rc = w.wait(timeout=util.PROMPT)
    except subprocess.TimeoutExpired:
        raise AssertionError('waiter still blocked (%s) %.0f s after %s'
                             % (util.proc_state(w.pid), util.PROMPT,
                                sig.name))
    assert rc in (-sig, 128 + sig), rc
    util.wait_until(lambda: ncnt(n) == 0, what='ncnt 0')
    assert value(n) == 0
    # the cancelled wait must not take a later post
    ok(p, 'post')
    time.sleep(2.5)
    assert value(n) == 1
    assert ncnt(n) == 0


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupted_waiter_gets_eintr(mnt, ipc, procs, sig):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    w = spawn_waiter(procs, p, survivor=True)
    wait_blocked(n)
    w.send_signal(sig)
    assert waiter_result(w) == 'EINTR'
    assert w.returncode == 0
    util.wait_until(lambda: ncnt(n) == 0, what='ncnt 0')
    ok(p, 'post 2')
    time.sleep(2.5)
    assert value(n) == 2


def test_cancel_one_of_several_waiters(mnt, ipc, procs):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    a = procs.sh('echo wait > %s' % p)
    b = procs.sh('echo wait > %s' % p)
    wait_blocked(n, 2)
    os.killpg(a.pid, signal.SIGKILL)
    a.wait(timeout=util.PROMPT)
    util.wait_until(lambda: ncnt(n) == 1, what='ncnt 1')
    ok(p, 'post')
    assert b.wait(timeout=util.PROMPT) == 0
    assert value(n) == 0


def test_daemon_exits_0_with_blocked_waiter(mount_factory, ipc, procs):
    m = mount_factory()
    n = ipc.name()
    ipc.sem(name=n, value=0)
    w = spawn_waiter(procs, spath(m, n))
    wait_blocked(n)
    os.kill(m.pid, signal.SIGTERM)
    assert m.proc.wait(timeout=15) == 0, m.stderr()
    res = waiter_result(w, timeout=15)
    assert res != 'OK'
    assert value(n) == 0


# ------------------------------------------------------------------
# Create, remove, names
# ------------------------------------------------------------------

def test_touch_creates_value_0_with_create_mode(mnt, ipc):
    n, n2 = ipc.name(), ipc.name()
    util.sh('umask 022; touch %s' % spath(mnt, n))
    s = sysv_ipc.Semaphore(util.sem_key(n))
    assert s.value == 0
    assert s.mode == 0o644
    assert (s.uid, s.gid) == (0, 0)
    row = util.ipcs_sem_row(s.id)
    assert (row['key'], row['owner'], row['perms'], row['nsems']) == \
        (util.keyname(util.sem_key(n)), 'root', '644', 1)
    util.sh('umask 077; : > %s' % spath(mnt, n2))
    s2 = sysv_ipc.Semaphore(util.sem_key(n2))
    assert (s2.value, s2.mode) == (0, 0o600)
    assert util.read_file(spath(mnt, n)) == b'0\n'
    st = os.stat(spath(mnt, n))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
    assert n in os.listdir(mnt.sem)


def test_second_user_creates_and_owns(mnt, ipc):
    n = ipc.name()
    util.sh('umask 022; touch %s' % spath(mnt, n), uid=util.NOBODY)
    s = sysv_ipc.Semaphore(util.sem_key(n))
    assert (s.uid, s.gid, s.mode, s.value) == \
        (util.NOBODY, util.NOGROUP, 0o644, 0)
    st = os.stat(spath(mnt, n))
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.NOGROUP)
    util.sh('echo post > %s' % spath(mnt, n), uid=util.NOBODY)
    assert s.value == 1
    util.run(['rm', spath(mnt, n)], uid=util.NOBODY)
    assert util.sem_by_key(util.sem_key(n)) is None


def test_create_existing_leaves_it_untouched(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=5, mode=0o640)
    p = spath(mnt, n)
    util.sh('umask 000; touch %s' % p)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o666)
    os.close(fd)
    assert (s.value, s.mode, s.id) == (5, 0o640,
                                       util.sem_by_key(s.key)['semid'])
    util.expect_errno(errno.EEXIST, os.open, p,
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    assert s.value == 5


def test_rm_removes(mnt, ipc):
    n = ipc.name()
    ipc.sem(name=n, value=2)
    util.run(['rm', spath(mnt, n)])
    assert util.sem_by_key(util.sem_key(n)) is None
    assert n not in os.listdir(mnt.sem)
    util.expect_errno(errno.ENOENT, os.stat, spath(mnt, n))


def test_rm_makes_waiters_fail_eidrm(mnt, ipc, procs):
    n = ipc.name()
    ipc.sem(name=n, value=0)
    p = spath(mnt, n)
    ws = [spawn_waiter(procs, p) for _ in range(3)]
    wait_blocked(n, 3)
    util.run(['rm', p], timeout=util.PROMPT)
    for w in ws:
        assert waiter_result(w) == 'EIDRM'
    assert util.sem_by_key(util.sem_key(n)) is None


def test_ipcrm_makes_waiter_fail_eidrm(mnt, ipc, procs):
    n = ipc.name()
    s = ipc.sem(name=n, value=0)
    w = spawn_waiter(procs, spath(mnt, n), b'wait 2')
    wait_blocked(n)
    util.run(['ipcrm', '-s', str(s.id)])
    assert waiter_result(w) == 'EIDRM'


def test_name_too_long(mnt, ipc):
    base = ipc.name()
    n251 = ipc.add_name((base + 'x' * 300)[:251])
    n252 = ipc.add_name((base + 'y' * 300)[:252])
    util.expect_errno(errno.ENAMETOOLONG, os.open, spath(mnt, n252),
                      os.O_CREAT | os.O_RDWR, 0o600)
    util.expect_errno(errno.ENAMETOOLONG, os.stat, spath(mnt, n252))
    res = util.run(['touch', spath(mnt, n252)], rc='nonzero')
    assert 'File name too long' in res.err
    assert util.sem_by_key(util.sem_key(n252)) is None
    n255 = ipc.add_name((base + 'z' * 300)[:255])
    util.expect_errno(errno.ENAMETOOLONG, os.open, spath(mnt, n255),
                      os.O_CREAT | os.O_RDWR, 0o600)
    util.run(['touch', spath(mnt, n251)])
    assert util.read_file(spath(mnt, n251)) == b'0\n'
    assert n251 in os.listdir(mnt.sem)
    ok(spath(mnt, n251), 'post 4')
    assert value(n251) == 4
    util.run(['rm', spath(mnt, n251)])
    assert util.sem_by_key(util.sem_key(n251)) is None


# ------------------------------------------------------------------
# Listing by name or key
# ------------------------------------------------------------------

def test_unknown_set_listed_by_key(mnt, ipc):
    s = ipc.sem(value=4)
    kname = util.keyname(s.key)
    assert kname in os.listdir(mnt.sem)
    p = spath(mnt, kname)
    assert util.read_file(p) == b'4\n'
    ok(p, 'post 2')
    assert s.value == 6
    util.sh('echo "trywait 6" > %s' % p)
    assert s.value == 0
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_negative_key_listed_by_key(mnt, ipc):
    k = ipc.add_key(-util.random_key())
    s = ipc.sem(key=k, value=9)
    kname = util.keyname(k)
    assert kname == '0x%08x' % (k + (1 << 32))
    assert kname in os.listdir(mnt.sem)
    assert util.read_file(spath(mnt, kname)) == b'9\n'
    s.remove()


def test_rm_by_key_path(mnt, ipc):
    s = ipc.sem(value=0)
    util.run(['rm', spath(mnt, util.keyname(s.key))])
    assert util.sem_by_key(s.key) is None


def test_name_shown_once_seen(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)    # made outside: ipcfs has not seen n
    kname = util.keyname(s.key)
    listed = os.listdir(mnt.sem)
    assert kname in listed and n not in listed
    assert util.read_file(spath(mnt, n)) == b'1\n'
    listed = os.listdir(mnt.sem)
    assert n in listed and kname not in listed
    # either path reaches the same semaphore
    ok(spath(mnt, kname), 'post')
    assert util.read_file(spath(mnt, n)) == b'2\n'
    ok(spath(mnt, n), 'post')
    assert util.read_file(spath(mnt, kname)) == b'3\n'


def test_created_name_listed(mnt, ipc):
    n = ipc.name()
    util.run(['touch', spath(mnt, n)])
    listed = os.listdir(mnt.sem)
    assert n in listed
    assert util.keyname(util.sem_key(n)) not in listed


# ------------------------------------------------------------------
# Attributes
# ------------------------------------------------------------------

def test_times_and_owner(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=0, mode=0o600)
    s.uid = util.NOBODY            # IPC_SET: sem_ctime
    s.gid = util.OTHER_GID
    s.mode = 0o640
    time.sleep(1.1)
    s.release()                    # semop: sem_otime
    k = util.sem_by_key(s.key)
    assert k['otime'] != k['ctime'] and k['otime'] == s.o_time
    st = os.stat(spath(mnt, n))
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.OTHER_GID)
    assert int(st.st_mtime) == k['otime']
    assert int(st.st_ctime) == k['ctime']
    row = util.ipcs_sem_row(s.id)
    assert (row['owner'], row['perms']) == ('nobody', '640')


def test_chmod_chown(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=0, mode=0o600)
    p = spath(mnt, n)
    util.run(['chmod', '644', p])
    assert s.mode == 0o644
    util.run(['chown', 'nobody:users', p])
    assert (s.uid, s.gid) == (util.NOBODY, util.OTHER_GID)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (util.NOBODY, util.OTHER_GID, 0o644)


def test_no_sem_undo(mount_factory, ipc):
    """Operations done through ipcfs outlive the daemon (no SEM_UNDO)."""
    m = mount_factory()
    n = ipc.name()
    util.run(['touch', spath(m, n)])
    ok(spath(m, n), 'post 5')
    ok(spath(m, n), 'wait 2')
    ok(spath(m, n), 'trywait')
    util.run(['fusermount3', '-u', m.path])
    assert m.proc.wait(timeout=15) == 0, m.stderr()
    assert value(n) == 2
