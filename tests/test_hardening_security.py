"""Hardening: what the daemon must never do, whatever it is asked.

- never exec anything: the binary imports no exec/spawn/system call, and
  it has no child process after a session of work;
- never follow a path outside /dev/shm for posix objects: a symlink (or a
  directory, fifo) planted in /dev/shm is not served, and no operation
  through posix/ reads, writes, truncates, chmods, chowns or removes what
  it points to.
"""

import errno
import glob
import os
import stat
import subprocess
import tempfile

import pytest

import conftest
import util
from test_hardening_lib import record

E = errno

EXEC_SYMBOLS = {'execve', 'execv', 'execvp', 'execvpe', 'execl', 'execlp',
                'execle', 'fexecve', 'execveat', 'system', 'popen',
                'posix_spawn', 'posix_spawnp', 'fork', 'vfork', 'clone',
                'clone3', 'wordexp'}


def test_daemon_imports_no_exec():
    conftest.check_environment()
    # A libfuse linked in statically (the fast path's, built into
    # .libfuse/) brings its own mount code, which runs fusermount3; then
    # ipcfs's own code is its object files.
    ldd = subprocess.run(['ldd', conftest.DAEMON], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE).stdout.decode()
    if 'libfuse3.so' in ldd:
        cmd = ['nm', '-D', '--undefined-only', conftest.DAEMON]
    else:
        objs = glob.glob(os.path.join(conftest.BUILD, 'fs', 'ipcfs.p',
                                      '*.o'))
        libs = glob.glob(os.path.join(conftest.BUILD, 'core', '*.a'))
        assert objs and libs, 'no object files of the daemon in the build'
        cmd = ['nm', '--undefined-only'] + objs + libs
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        pytest.skip('nm cannot read the daemon: %s' % p.stderr.decode())
    imported = {line.split()[-1].split('@')[0]
                for line in p.stdout.decode().splitlines()
                if line.strip() and not line.endswith(':')}
    assert imported, 'no dynamic symbols found'
    assert not imported & EXEC_SYMBOLS, sorted(imported & EXEC_SYMBOLS)
    record('security cases', 1)


def children(pid):
    kids = []
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids += f.read().split()
        except FileNotFoundError:
            pass
    return kids


def test_daemon_has_no_children_after_work(mnt, ipc):
    m = ipc.shm()
    m.detach()
    name = ipc.name('sec')
    util.sh('echo hi > %s; cat %s; touch %s; echo "post 2" > %s; '
            'cat %s; rm %s %s' % (
                os.path.join(mnt.posix, name), os.path.join(mnt.posix, name),
                os.path.join(mnt.sem, name), os.path.join(mnt.sem, name),
                os.path.join(mnt.sem, name), os.path.join(mnt.sem, name),
                os.path.join(mnt.posix, name)))
    # ls -l (objects of other processes may vanish meanwhile: ENOENT)
    util.run(['ls', '-l', mnt.sysv, mnt.ids, mnt.posix, mnt.sem], rc=None)
    with open(os.path.join(mnt.sysv, util.keyname(m.key)), 'rb') as f:
        f.read()
    assert children(mnt.pid) == []
    record('security cases', 1)


@pytest.fixture
def target():
    """A root-only file outside /dev/shm that nothing may touch."""
    d = tempfile.mkdtemp(prefix='ipcfs-target-', dir='/tmp')
    path = os.path.join(d, 'secret')
    with open(path, 'wb') as f:
        f.write(b'secret content')
    os.chmod(path, 0o600)
    yield path
    os.unlink(path)
    os.rmdir(d)


def target_state(path):
    st = os.stat(path)
    with open(path, 'rb') as f:
        return (f.read(), st.st_size, stat.S_IMODE(st.st_mode), st.st_uid,
                st.st_gid)


def test_posix_symlink_out_of_dev_shm_not_followed(mnt, ipc, target):
    name = ipc.name('link')
    os.symlink(target, '/dev/shm/' + name)
    before = target_state(target)
    p = os.path.join(mnt.posix, name)
    cases = 0

    def attempt(f, *args):
        nonlocal cases
        cases += 1
        try:
            return f(*args)
        except OSError as e:
            return e.errno

    # Not an object (posix/ shows regular files), and nothing done through
    # its name reads or changes the target.
    assert name not in os.listdir(mnt.posix)
    util.expect_errno(E.ENOENT, os.stat, p)
    got = attempt(util.read_file, p)
    assert got != b'secret content' and got in (E.ENOENT, E.ELOOP, E.EINVAL,
                                                 E.EACCES, E.EPERM), got
    attempt(lambda: open(p, 'r+b').write(b'OVERWRITTEN'))
    attempt(lambda: open(p, 'ab').write(b'APPENDED'))
    attempt(os.truncate, p, 0)
    attempt(os.truncate, p, 1 << 20)
    attempt(os.chmod, p, 0o666)
    attempt(os.chown, p, util.NOBODY, util.NOGROUP)
    attempt(os.getxattr, p, 'user.ipc.key')
    attempt(os.setxattr, p, 'user.x', b'y')
    attempt(lambda: open(p, 'wb'))             # O_TRUNC
    attempt(lambda: open(p, 'xb'))             # O_EXCL create
    # As another user, too.
    for stmt in ('open(%r, "rb").read()' % p,
                 'open(%r, "r+b").write(b"x")' % p,
                 'os.chmod(%r, 0o666)' % p, 'os.truncate(%r, 0)' % p):
        cases += 1
        assert util.op_as(stmt) != 'OK', stmt
    assert target_state(target) == before
    attempt(os.unlink, p)
    # Whatever unlink did, the target itself is intact.
    assert target_state(target) == before
    record('security cases', cases)


def test_posix_non_regular_entries_not_served(mnt, ipc):
    """Directories and fifos in /dev/shm are not objects."""
    dname = ipc.name('dir')
    os.mkdir('/dev/shm/' + dname)
    fname = ipc.name('fifo')
    os.mkfifo('/dev/shm/' + fname)
    try:
        listing = os.listdir(mnt.posix)
        assert dname not in listing and fname not in listing
        for n in (dname, fname):
            p = os.path.join(mnt.posix, n)
            util.expect_errno(E.ENOENT, os.stat, p)
            # opening a fifo must not block the daemon
            util.expect_errno(E.ENOENT, os.open, p, os.O_RDONLY | os.O_NONBLOCK)
            util.expect_errno((E.ENOENT, E.EPERM), os.chmod, p, 0o777)
        assert os.path.isdir('/dev/shm/' + dname)
        assert stat.S_ISFIFO(os.lstat('/dev/shm/' + fname).st_mode)
    finally:
        os.rmdir('/dev/shm/' + dname)
        os.unlink('/dev/shm/' + fname)
    record('security cases', 6)
