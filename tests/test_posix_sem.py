"""posix-sem/<name>: POSIX named semaphores (glibc: /dev/shm/sem.<name>),
the same ones sem_open("/name") uses.  Checked side by side with the C
library's sem_open / sem_post / sem_wait (ctypes and real C programs) and
the kernel's file permission checks on the /dev/shm file."""

import errno
import os
import signal
import stat
import struct
import subprocess
import time

import pytest

import util


def ppath(mnt, name):
    return mnt.p('posix-sem', name)


def value(name):
    return util.psem_value(name)


def nwaiters(name):
    """Waiters glibc counts in the sem_t (high half of its 64-bit word)."""
    with open(util.psem_path(name), 'rb') as f:
        data = f.read(8)
    return struct.unpack('<Q', data)[0] >> 32


def wait_blocked(name, n=1, timeout=util.PROMPT):
    util.wait_until(lambda: nwaiters(name) >= n, timeout=timeout,
                    what='%d waiter(s) on %s' % (n, name))


def cmd(path, data):
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


WAITER = '''
import errno, os
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
try:
    os.write(fd, %r)
    print('OK', flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
'''

SURVIVOR = '''
import ctypes, errno, os, signal
signal.signal(signal.SIGINT, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
data = %r
r = libc.write(fd, data, len(data))
e = ctypes.get_errno()
print('OK' if r == len(data) else errno.errorcode.get(e, str(e)), flush=True)
'''


def spawn_waiter(procs, path, data=b'wait', survivor=False):
    p = procs.py((SURVIVOR if survivor else WAITER) % (path, data))
    assert p.stdout.readline() == b'open\n'
    return p


def waiter_result(p, timeout=util.PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip()


# ------------------------------------------------------------------
# Reading, listing
# ------------------------------------------------------------------

@pytest.mark.parametrize('v', [0, 3, 32767])
def test_cat_prints_value(mnt, ipc, v):
    n = ipc.psem(value=v)
    assert util.run(['cat', ppath(mnt, n)]).out == b'%d\n' % v
    p = util.psem_open(n)
    try:
        util.psem_post(p)
    finally:
        util.psem_close(p)
    assert util.read_file(ppath(mnt, n)) == b'%d\n' % (v + 1)


def test_listed_here_not_in_posix(mnt, ipc):
    n = ipc.psem()
    assert n in os.listdir(mnt.p('posix-sem'))
    assert n not in os.listdir(mnt.posix)
    assert 'sem.' + n not in os.listdir(mnt.posix)
    st = os.stat(mnt.p('posix-sem'))
    assert stat.S_IMODE(st.st_mode) == 0o1777


def test_stat_is_the_dev_shm_file(mnt, ipc):
    n = ipc.psem(mode=0o640)
    os.chown(util.psem_path(n), util.NOBODY, util.OTHER_GID)
    os.utime(util.psem_path(n), (1000000000, 1200000000))
    st = os.stat(ppath(mnt, n))
    real = os.stat(util.psem_path(n))
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.OTHER_GID)
    assert int(st.st_mtime) == int(real.st_mtime) == 1200000000
    assert int(st.st_ctime) == int(real.st_ctime)


def test_looking_changes_nothing(mnt, ipc):
    n = ipc.psem(value=2)
    before = util.read_file(util.psem_path(n))
    for _ in range(3):
        util.read_file(ppath(mnt, n))
        os.stat(ppath(mnt, n))
        os.listdir(mnt.p('posix-sem'))
        util.run(['getfattr', '-d', ppath(mnt, n)])
    assert util.read_file(util.psem_path(n)) == before


def test_missing(mnt, ipc):
    n = ipc.name()
    util.expect_errno(errno.ENOENT, os.stat, ppath(mnt, n))
    util.expect_errno(errno.ENOENT, os.open, ppath(mnt, n), os.O_RDONLY)


# ------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------

def test_commands(mnt, ipc):
    n = ipc.psem(value=0)
    p = ppath(mnt, n)
    ok(p, 'post')
    assert value(n) == 1
    ok(p, 'post 5\n')
    assert value(n) == 6
    ok(p, 'wait')
    ok(p, 'wait 2')
    assert value(n) == 3
    ok(p, 'trywait 3')
    fails(p, 'trywait', errno.EAGAIN)
    assert value(n) == 0
    ok(p, 'post 2\ntimedwait 1\nwait')
    assert value(n) == 0
    util.sh('echo post > %s' % p)
    util.sh('echo "post 2" >> %s' % p)
    assert value(n) == 3


def test_set_is_enotsup(mnt, ipc):
    n = ipc.psem(value=1)
    p = ppath(mnt, n)
    fails(p, 'set 5', errno.ENOTSUP)
    assert value(n) == 1
    res = util.sh('/bin/echo "set 0" > %s' % p, rc='nonzero')
    assert 'Operation not supported' in res.err


def test_in_order_stopping_at_first_failure(mnt, ipc):
    n = ipc.psem(value=1)
    p = ppath(mnt, n)
    fails(p, 'trywait\ntrywait\npost 5', errno.EAGAIN)
    assert value(n) == 0
    fails(p, 'post 3\nset 1\npost 9', errno.ENOTSUP)
    assert value(n) == 3
    fails(p, 'wait 2\ntrywait 2\npost', errno.EAGAIN)
    assert value(n) == 1
    fails(p, 'post\ntimedwait 0.1\ntimedwait 0.1\ntimedwait 0.2',
          errno.ETIMEDOUT)
    assert value(n) == 0


def test_trywait_n_takes_all_or_nothing(mnt, ipc):
    n = ipc.psem(value=2)
    fails(ppath(mnt, n), 'trywait 3', errno.EAGAIN)
    assert value(n) == 2


def test_timedwait(mnt, ipc):
    n = ipc.psem(value=0)
    t0 = time.monotonic()
    fails(ppath(mnt, n), 'timedwait 0.3', errno.ETIMEDOUT)
    took = time.monotonic() - t0
    assert 0.27 <= took < 0.3 + util.PROMPT, took
    assert value(n) == 0


EINVAL_FORMS = [
    '\n', 'bogus', 'POST', 'post 0', 'wait 0', 'post -1', 'post x',
    'post 1 2', 'post1', 'timedwait', 'timedwait x', 'post\n\n', '\npost',
    'post\0', 'post\nbogus', '0:post', '1:wait', 'zero', 'post 1.5',
]


@pytest.mark.parametrize('text', EINVAL_FORMS)
def test_einval_and_nothing_done(mnt, ipc, text):
    n = ipc.psem(value=3)
    fails(ppath(mnt, n), text, errno.EINVAL)
    assert value(n) == 3


def test_erange(mnt, ipc):
    n = ipc.psem(value=1)
    fails(ppath(mnt, n), 'post 32768', errno.ERANGE)
    assert value(n) == 1


# ------------------------------------------------------------------
# Blocking
# ------------------------------------------------------------------

def test_blocked_wait_blocks_nothing_else(mnt, ipc, procs):
    n, other = ipc.psem(), ipc.psem()
    p = ppath(mnt, n)
    w = procs.sh('echo wait > %s' % p)
    wait_blocked(n)
    assert util.run(['cat', p], timeout=util.PROMPT).out == b'0\n'
    assert n in util.run(['ls', mnt.p('posix-sem')],
                         timeout=util.PROMPT).text.split()
    util.run(['stat', p], timeout=util.PROMPT)
    util.sh('echo post > %s' % ppath(mnt, other), timeout=util.PROMPT)
    assert value(other) == 1
    assert w.poll() is None
    util.sh('echo post > %s' % p, timeout=util.PROMPT)
    assert w.wait(timeout=util.PROMPT) == 0
    assert value(n) == 0


def test_sem_post_of_a_program_releases_a_shell_wait(mnt, ipc, procs):
    n = ipc.psem()
    w = spawn_waiter(procs, ppath(mnt, n), b'wait 2')
    wait_blocked(n)
    s = util.psem_open(n)
    try:
        util.psem_post(s)
        time.sleep(0.2)
        assert w.poll() is None
        util.psem_post(s)
    finally:
        util.psem_close(s)
    assert waiter_result(w) == 'OK'
    assert value(n) == 0


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGKILL])
def test_ctrl_c_returns_promptly_takes_nothing(mnt, ipc, procs, sig):
    n = ipc.psem(value=1)
    p = ppath(mnt, n)
    w = procs.sh('echo "wait 2" > %s' % p)
    wait_blocked(n)
    assert value(n) == 0        # one taken, waiting for the second
    os.killpg(w.pid, sig)
    try:
        rc = w.wait(timeout=util.PROMPT)
    except subprocess.TimeoutExpired:
        raise AssertionError('waiter still blocked %.0f s after %s'
                             % (util.PROMPT, sig.name))
    assert rc in (-sig, 128 + sig), rc
    util.wait_until(lambda: value(n) == 1, what='the taken one given back')
    ok(p, 'post')
    time.sleep(1.5)
    assert value(n) == 2


def test_interrupted_writer_gets_eintr(mnt, ipc, procs):
    n = ipc.psem(value=0)
    w = spawn_waiter(procs, ppath(mnt, n), b'wait', survivor=True)
    wait_blocked(n)
    w.send_signal(signal.SIGINT)
    assert waiter_result(w) == 'EINTR'
    assert value(n) == 0


def test_rm_under_a_waiter(mnt, ipc, procs):
    """As POSIX says: the waiter goes on waiting on the nameless
    semaphore, until it is cancelled."""
    n = ipc.psem()
    p = ppath(mnt, n)
    w = procs.sh('echo wait > %s' % p)
    wait_blocked(n)
    util.run(['rm', p], timeout=util.PROMPT)
    assert not os.path.exists(util.psem_path(n))
    util.expect_errno(errno.ENOENT, os.stat, p)
    # a new one of the same name is another semaphore
    util.run(['touch', p])
    ok(p, 'post')
    time.sleep(0.3)
    assert w.poll() is None
    os.killpg(w.pid, signal.SIGINT)
    w.wait(timeout=util.PROMPT)
    assert value(n) == 1


# ------------------------------------------------------------------
# Create, remove, change
# ------------------------------------------------------------------

def test_touch_creates_value_0_with_create_mode(mnt, ipc):
    n, n2 = ipc.name(), ipc.name()
    util.sh('umask 022; touch %s' % ppath(mnt, n))
    st = os.stat(util.psem_path(n))
    assert stat.S_ISREG(st.st_mode)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size) == \
        (0o644, 0, 0, util.SEM_T_SIZE)
    assert value(n) == 0
    assert util.read_file(ppath(mnt, n)) == b'0\n'
    util.sh('umask 077; : > %s' % ppath(mnt, n2))
    assert stat.S_IMODE(os.stat(util.psem_path(n2)).st_mode) == 0o600
    # a program meets it
    s = util.psem_open(n)
    try:
        util.psem_post(s)
    finally:
        util.psem_close(s)
    assert util.read_file(ppath(mnt, n)) == b'1\n'


def test_second_user_creates_and_owns(mnt, ipc):
    n = ipc.name()
    util.sh('umask 022; touch %s' % ppath(mnt, n), uid=util.NOBODY)
    st = os.stat(util.psem_path(n))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (util.NOBODY, util.NOGROUP, 0o644)
    util.sh('echo post > %s' % ppath(mnt, n), uid=util.NOBODY)
    assert value(n) == 1
    util.run(['rm', ppath(mnt, n)], uid=util.NOBODY)
    assert not os.path.exists(util.psem_path(n))


def test_create_existing_untouched(mnt, ipc):
    n = ipc.psem(value=5, mode=0o640)
    p = ppath(mnt, n)
    ino = os.stat(util.psem_path(n)).st_ino
    util.sh('umask 000; touch %s' % p)
    os.close(os.open(p, os.O_CREAT | os.O_RDWR, 0o666))
    util.expect_errno(errno.EEXIST, os.open, p,
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    st = os.stat(util.psem_path(n))
    assert (st.st_ino, stat.S_IMODE(st.st_mode)) == (ino, 0o640)
    assert value(n) == 5


def test_rm_is_sem_unlink(mnt, ipc):
    n = ipc.psem(value=2)
    util.run(['rm', ppath(mnt, n)])
    assert not os.path.exists(util.psem_path(n))
    util.expect_errno(errno.ENOENT, util.psem_open, n)
    assert n not in os.listdir(mnt.p('posix-sem'))


def test_chmod_chown(mnt, ipc):
    n = ipc.psem(mode=0o600)
    p = ppath(mnt, n)
    util.run(['chmod', '0604', p])
    util.run(['chown', 'nobody:users', p])
    st = os.stat(util.psem_path(n))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
        (0o604, util.NOBODY, util.OTHER_GID)
    st = os.stat(p)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
        (0o604, util.NOBODY, util.OTHER_GID)


def test_name_too_long(mnt, ipc):
    base = ipc.name()
    n251 = ipc.add_name((base + 'x' * 300)[:251])
    n252 = ipc.add_name((base + 'y' * 300)[:252])
    util.expect_errno(errno.ENAMETOOLONG, os.open, ppath(mnt, n252),
                      os.O_CREAT | os.O_RDWR, 0o600)
    util.run(['touch', ppath(mnt, n251)])
    assert value(n251) == 0
    util.run(['rm', ppath(mnt, n251)])


def test_not_a_semaphore_file_is_left_alone(mnt, ipc):
    """A sem.* file of another size is not one of glibc's semaphores:
    listed and stat works, but opening it fails (EINVAL) and it stays as
    is."""
    n = ipc.name()
    with open(util.psem_path(n), 'wb') as f:
        f.write(b'not a sem_t')
    os.chmod(util.psem_path(n), 0o666)
    assert n in os.listdir(mnt.p('posix-sem'))
    util.expect_errno(errno.EINVAL, util.read_file, ppath(mnt, n))
    util.expect_errno(errno.EINVAL, os.open, ppath(mnt, n), os.O_WRONLY)
    os.stat(ppath(mnt, n))
    assert util.read_file(util.psem_path(n)) == b'not a sem_t'


def test_symlink_is_not_followed(mnt, ipc, tmp_path):
    n = ipc.name()
    target = tmp_path / 'target'
    target.write_bytes(b'\0' * util.SEM_T_SIZE)
    os.symlink(str(target), util.psem_path(n))
    util.expect_errno(errno.ENOENT, os.stat, ppath(mnt, n))
    util.expect_errno(errno.EEXIST, os.open, ppath(mnt, n),
                      os.O_CREAT | os.O_RDWR, 0o600)
    assert target.read_bytes() == b'\0' * util.SEM_T_SIZE
    assert os.path.islink(util.psem_path(n))


# ------------------------------------------------------------------
# Permissions: the kernel's file checks on the /dev/shm file
# ------------------------------------------------------------------

@pytest.mark.parametrize('mode', [0o600, 0o660, 0o606, 0o602, 0o620,
                                  0o644, 0o400, 0o604])
def test_permission_matrix(mnt, ipc, mode):
    n = ipc.psem(mode=mode)
    p, real = ppath(mnt, n), util.psem_path(n)
    kread = util.op_as('os.close(os.open(%r, os.O_RDONLY))' % real)
    kwrite = util.op_as('os.close(os.open(%r, os.O_WRONLY))' % real)
    read = util.op_as('open(%r, "rb").read()' % p)
    post = util.op_as('''
        fd = os.open(%r, os.O_WRONLY)
        os.write(fd, b"post")
        ''' % p)
    assert read == kread, (oct(mode), read, kread)
    assert post == kwrite, (oct(mode), post, kwrite)
    assert value(n) == (1 if post == 'OK' else 0)
    assert util.op_as('os.chmod(%r, 0o666)' % p) == 'EPERM'
    assert stat.S_IMODE(os.stat(real).st_mode) == mode


# ------------------------------------------------------------------
# Real C programs
# ------------------------------------------------------------------

C_PSEM = r'''
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* psem NAME: sem_open, sem_wait twice (with a 20 s bound), sem_post 3 */
int main(int argc, char **argv)
{
    sem_t *s = sem_open(argv[1], 0);
    struct timespec ts;
    int v = -1;

    (void)argc;
    if (s == SEM_FAILED) { perror("sem_open"); return 1; }
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 20;
        if (sem_timedwait(s, &ts) < 0) { perror("sem_timedwait"); return 2; }
    }
    for (int i = 0; i < 3; i++)
        sem_post(s);
    sem_getvalue(s, &v);
    printf("%d\n", v);
    return 0;
}
'''


def test_c_program_meets_the_same_semaphore(mnt, ipc, procs, tmp_path):
    exe = util.build_c(C_PSEM, str(tmp_path), 'psem')
    n = ipc.name()
    util.run(['touch', ppath(mnt, n)])
    c = procs.spawn([exe, '/' + n])
    assert c.stdout.readline() == b'ready\n'
    ok(ppath(mnt, n), 'post')
    time.sleep(0.2)
    assert c.poll() is None
    util.sh('echo post > %s' % ppath(mnt, n))
    out, err = c.communicate(timeout=util.PROMPT)
    assert c.returncode == 0, err
    assert out == b'3\n'
    assert util.read_file(ppath(mnt, n)) == b'3\n'
    ok(ppath(mnt, n), 'wait 3')
    assert value(n) == 0


def test_file_cut_short_under_a_waiter(mnt, ipc, procs):
    """Whoever may write /dev/shm/sem.<name> may also truncate it while the
    daemon has it mapped: the blocked write fails (EIO), the daemon lives
    on, and the name is no longer a semaphore (EINVAL)."""
    n = ipc.psem(mode=0o666)
    p = ppath(mnt, n)
    w = spawn_waiter(procs, p, b'wait')
    wait_blocked(n)
    fd = os.open(p, os.O_RDWR)
    try:
        os.truncate(util.psem_path(n), 0)
        assert waiter_result(w) == 'EIO'
        # an open file: EIO from now on, reading and writing
        util.expect_errno(errno.EIO, os.pread, fd, 16, 0)
        util.expect_errno(errno.EIO, os.write, fd, b'post')
    finally:
        os.close(fd)
    assert mnt.alive()
    util.expect_errno(errno.EINVAL, util.read_file, p)
    # the rest of the mount answers
    other = ipc.psem(value=2)
    assert util.read_file(ppath(mnt, other)) == b'2\n'
