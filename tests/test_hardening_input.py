"""Hardening: bad input, each with its exact errno and nothing changed.

Names too long or with "..", malformed and out-of-range keys and ids, key
0, sizes 0 / past shmmax / negative / past 2^63, offsets past the end,
huge and malformed semaphore commands, writes at odd offsets, NUL bytes,
directories used as files and files used as directories.  After each
refusal the test checks that the objects it made are as they were and
that no new object appeared.
"""

import errno
import os
import subprocess

import pytest

import conftest
import util
from test_hardening_lib import record

E = errno


def daemon_segments(mnt):
    """Segments the daemon itself created (cpid), by key."""
    return sorted((r['key'], r['size']) for r in util.shm_table()
                  if r['cpid'] == mnt.pid)


def sem_state(key):
    r = util.sem_by_key(key)
    if r is None:
        return None
    return (r['semid'], r['mode'], r['uid'], util.sem_value(key))


def open_errno(path, flags, mode=0o600):
    try:
        fd = os.open(path, flags, mode)
    except OSError as e:
        return e.errno
    os.close(fd)
    return None


# ------------------------------------------------------------------
# Names
# ------------------------------------------------------------------

def test_names_too_long(mnt, ipc):
    cases = 0
    for n in (252, 255):
        name = ipc.add_name('n' * n)
        util.expect_errno(E.ENAMETOOLONG, os.open,
                          os.path.join(mnt.posix, name),
                          os.O_CREAT | os.O_RDWR, 0o600)
        util.expect_errno(E.ENAMETOOLONG, os.open,
                          os.path.join(mnt.sem, name),
                          os.O_CREAT | os.O_RDWR, 0o600)
        util.expect_errno(E.ENAMETOOLONG, os.stat,
                          os.path.join(mnt.sem, name))
        assert not os.path.exists('/dev/shm/' + name)
        assert util.sem_by_key(util.sem_key(name)) is None
        cases += 3
    # Past NAME_MAX (255): FUSE passes such names on (up to 1024 bytes).
    for n in (256, 1024):
        for d in (mnt.posix, mnt.sem):
            util.expect_errno(E.ENAMETOOLONG, os.open,
                              os.path.join(d, 'n' * n),
                              os.O_CREAT | os.O_RDWR, 0o600)
            cases += 1
        # in sysv/ it is not a key name either
        util.expect_errno((E.ENAMETOOLONG, E.EINVAL), os.open,
                          os.path.join(mnt.sysv, '0x' + '1' * (n - 2)),
                          os.O_CREAT | os.O_RDWR, 0o600)
        cases += 1
    # 251 bytes is the longest name: it works (and is removed again).
    name = ipc.add_name(util.unique_name('max').ljust(251, 'm'))
    for d in (mnt.posix, mnt.sem):
        p = os.path.join(d, name)
        os.close(os.open(p, os.O_CREAT | os.O_RDWR, 0o600))
        assert os.path.basename(p) in os.listdir(d)
        os.unlink(p)
        cases += 1
    record('bad input cases', cases)


def test_names_with_dotdot_refused_at_create(mnt, ipc):
    name = ipc.name('dots').replace('-', '..', 1)
    ipc.add_name(name)
    util.expect_errno(E.EINVAL, os.open, os.path.join(mnt.posix, name),
                      os.O_CREAT | os.O_RDWR, 0o600)
    assert not os.path.exists('/dev/shm/' + name)
    util.expect_errno(E.EINVAL, os.open, os.path.join(mnt.sem, name),
                      os.O_CREAT | os.O_RDWR, 0o600)
    assert util.sem_by_key(util.sem_key(name)) is None
    # One that exists already (made without shm_open) is only looked up.
    with open('/dev/shm/' + name, 'wb') as f:
        f.write(b'dots')
    assert util.read_file(os.path.join(mnt.posix, name)) == b'dots'
    record('bad input cases', 3)


# ------------------------------------------------------------------
# Keys and ids
# ------------------------------------------------------------------

BAD_KEYS = ['0xZZ', '0x', '0x123456789', '0x0', '0x00000000', '1234',
            '0x-1', '0x 1', ' 0x1', '0x1 ', 'x1', '0X', '0x+1', '00x1',
            '0x1g', '0xffffffff0']


def test_bad_key_names(mnt, ipc):
    before = daemon_segments(mnt)
    for name in BAD_KEYS:
        p = os.path.join(mnt.sysv, name)
        util.expect_errno(E.ENOENT, os.stat, p)
        util.expect_errno(E.EINVAL, os.open, p, os.O_CREAT | os.O_RDWR, 0o600)
    assert daemon_segments(mnt) == before
    assert all(name not in os.listdir(mnt.sysv) for name in BAD_KEYS)
    # Positive controls: any case and 1 to 8 digits reach the segment.
    m = ipc.shm()
    k = m.key & 0xffffffff
    for name in ('0x%x' % k, '0X%X' % k, '0x%08X' % k):
        assert os.stat(os.path.join(mnt.sysv, name)).st_size == util.PAGE_SIZE
    record('bad input cases', 2 * len(BAD_KEYS) + 3)


def test_bad_ids(mnt, ipc):
    m = ipc.shm()
    bad = ['abc', '-1', '+1', '01', '%d ' % m.id, '0x10', '99999999999',
           '2147483648', '%d0000000000' % m.id, '']
    for name in bad:
        if name:
            util.expect_errno(E.ENOENT, os.stat, os.path.join(mnt.ids, name))
    assert os.stat(os.path.join(mnt.ids, str(m.id))).st_size == util.PAGE_SIZE
    # sysv/id/ is read-only: nobody creates there.
    p = os.path.join(mnt.ids, '123456')
    assert util.op_as('os.close(os.open(%r, os.O_CREAT | os.O_RDWR))' % p) \
        == 'EACCES'
    util.expect_errno((E.EPERM, E.EACCES), os.open, p,
                      os.O_CREAT | os.O_RDWR, 0o600)
    record('bad input cases', len(bad) + 1)


# ------------------------------------------------------------------
# Sizes
# ------------------------------------------------------------------

def test_existing_segment_size_is_fixed(mnt, ipc):
    m = ipc.shm(size=2 * util.PAGE_SIZE)
    m.write(b'keep me')
    p = os.path.join(mnt.sysv, util.keyname(m.key))
    sizes = [2 * util.PAGE_SIZE + 1, 2 * util.PAGE_SIZE - 1, 1, 1 << 40,
             (1 << 63) - 1]
    for size in sizes:
        util.expect_errno(E.EINVAL, os.truncate, p, size)
        fd = os.open(p, os.O_RDWR)
        try:
            util.expect_errno(E.EINVAL, os.ftruncate, fd, size)
        finally:
            os.close(fd)
    # Negative sizes never reach ipcfs; past 2^63 cannot be said to it.
    util.expect_errno(E.EINVAL, os.truncate, p, -1)
    r = util.run(['truncate', '-s', '9223372036854775808', p], rc='nonzero')
    assert util.shm_by_id(m.id)['size'] == 2 * util.PAGE_SIZE
    assert m.read(7) == b'keep me'
    # Its own size is a no-op, 0 zero-fills.
    os.truncate(p, 2 * util.PAGE_SIZE)
    assert m.read(7) == b'keep me'
    os.truncate(p, 0)
    assert m.read(7) == b'\0' * 7
    assert util.shm_by_id(m.id)['size'] == 2 * util.PAGE_SIZE
    assert r.rc != 0
    record('bad input cases', 2 * len(sizes) + 2)


def test_sysv_size_option_refused(tmp_path):
    conftest.check_environment()
    point = tmp_path / 'mnt'
    point.mkdir()
    bad = ['0', '-1', '9223372036854775808', '99999999999999999999999',
           '8388608T', 'abc', '1KiB', '1 K', '']
    for value in bad:
        p = subprocess.run([conftest.DAEMON, '-f', '-o', 'sysv_size=' + value,
                            str(point)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        mounted = conftest.is_mounted(str(point))
        if mounted:
            subprocess.run(['fusermount3', '-uz', str(point)])
        assert not mounted, 'sysv_size=%r mounted' % value
        err = p.stderr.decode(errors='replace').strip()
        assert p.returncode == 1, (value, p.returncode, err)
        assert len(err.splitlines()) == 1 and err.startswith('ipcfs: '), \
            (value, err)
    record('bad input cases', len(bad))


def test_sizes_past_shmmax(ns_mount_factory):
    """In a namespace whose shmmax is 4 pages: EINVAL, nothing left."""
    shmmax = 4 * util.PAGE_SIZE
    m = ns_mount_factory(shmmax=shmmax)
    k = util.random_key()
    p = os.path.join(m.sysv, util.keyname(k))

    def segs():
        out = m.py('''
            for line in open('/proc/sysvipc/shm').readlines()[1:]:
                f = line.split()
                print(f[0], f[3], f[6], oct(int(f[2], 8)))
            ''').text
        return sorted(tuple(line.split()) for line in out.splitlines())
    assert segs() == []
    # A new segment given a size past shmmax by its first truncate.
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        util.expect_errno(E.EINVAL, os.ftruncate, fd, shmmax + 1)
    finally:
        os.close(fd)
    left = segs()
    # Either the create is undone or the segment keeps its first size;
    # never a removed one still held, never a size past shmmax.
    assert left in ([], [(str(k), str(util.PAGE_SIZE), '0', '0o600')]), left
    for key, _, _, _ in left:
        os.unlink(p)
    assert segs() == []
    # The same through truncate(1): its open creates, its ftruncate fails.
    r = util.run(['truncate', '-s', str(shmmax + 1), p], rc='nonzero')
    assert 'Invalid argument' in r.err, r
    left = [t[:3] for t in segs()]
    assert left in ([], [(str(k), str(util.PAGE_SIZE), '0')]), left
    if left:
        os.unlink(p)
    # A sysv_size past shmmax: every create fails, nothing is made.
    m2 = ns_mount_factory(opts=['sysv_size=%d' % (2 * shmmax)],
                          shmmax=shmmax)
    p2 = os.path.join(m2.sysv, util.keyname(k))
    util.expect_errno(E.EINVAL, os.open, p2, os.O_CREAT | os.O_RDWR, 0o600)
    out = m2.py("print(len(open('/proc/sysvipc/shm').readlines()) - 1)").text
    assert out.strip() == '0'
    record('bad input cases', 3)


# ------------------------------------------------------------------
# Offsets
# ------------------------------------------------------------------

def test_offsets_past_the_end(mnt, ipc):
    size = util.PAGE_SIZE
    m = ipc.shm(size=size)
    m.write(b'A' * size)
    p = os.path.join(mnt.sysv, util.keyname(m.key))
    fd = os.open(p, os.O_RDWR)
    try:
        for off in (size, size + 1, 1 << 40, 1 << 62):
            assert os.pread(fd, 16, off) == b''
            util.expect_errno(E.ENOSPC, os.pwrite, fd, b'x', off)
        assert os.pwrite(fd, b'wxyz', size - 2) == 2
        assert os.pread(fd, 16, size - 4) == b'AAwx'
    finally:
        os.close(fd)
    assert m.read(size) == b'A' * (size - 2) + b'wx'
    assert util.shm_by_id(m.id)['size'] == size
    # A semaphore's line: nothing past it, whatever the offset.
    name = ipc.name('off')
    ipc.sem(value=7, name=name)
    fd = os.open(os.path.join(mnt.sem, name), os.O_RDONLY)
    try:
        assert os.pread(fd, 64, 0) == b'7\n'
        assert os.pread(fd, 64, 2) == b''
        assert os.pread(fd, 64, 1 << 40) == b''
    finally:
        os.close(fd)
    record('bad input cases', 11)


# ------------------------------------------------------------------
# Semaphore commands
# ------------------------------------------------------------------

MALFORMED = [b'\n', b'\n\n', b'post\n\n', b'\npost', b'foo', b'Post', b'POST',
             b'post 0', b'wait 0', b'trywait 0', b'post -1', b'post x',
             b'post 1x', b'post 1 2', b' post', b'post ', b'post\t',
             b'set', b'set -1', b'set x', b'timedwait', b'timedwait x',
             b'timedwait -1', b'timedwait 1.', b'timedwait .5',
             b'timedwait 1.0000000001', b'post\r\n', b'post\x00',
             b'\x00', b'\x00post', b'post 0x10', b'post +1', b'post 1e3',
             b'wait\npost 0', b'post\nfoo\n', b'post\n\nwait',
             b'post 2\nset', b'wait 3 ', b'post\x0b']
OUT_OF_RANGE = [b'post 32768', b'post 99999999999999999999', b'set 32768',
                b'wait 32768', b'trywait 40000', b'timedwait 1000000001',
                b'post\npost 32768']


def write_errno(path, data, offset=None):
    fd = os.open(path, os.O_WRONLY)
    try:
        if offset is None:
            n = os.write(fd, data)
        else:
            n = os.pwrite(fd, data, offset)
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)
    assert n == len(data)
    return None


@pytest.fixture
def sem5(mnt, ipc):
    name = ipc.name('cmd')
    s = ipc.sem(value=5, name=name)
    return s, os.path.join(mnt.sem, name)


def test_malformed_commands(sem5):
    s, p = sem5
    before = sem_state(s.key)
    wrong = []
    for cmd in MALFORMED:
        got = write_errno(p, cmd)
        if got != E.EINVAL:
            wrong.append('%r: %s' % (cmd, errno.errorcode.get(got, got)))
    for cmd in OUT_OF_RANGE:
        got = write_errno(p, cmd)
        if got != E.ERANGE:
            wrong.append('%r: %s, want ERANGE'
                         % (cmd, errno.errorcode.get(got, got)))
    assert not wrong, 'want EINVAL:\n' + '\n'.join(wrong)
    assert sem_state(s.key) == before
    assert util.read_file(p) == b'5\n'
    record('bad input cases', len(MALFORMED) + len(OUT_OF_RANGE))


def test_post_past_max_and_partial_runs(sem5):
    s, p = sem5
    assert write_errno(p, b'set 32767') is None
    assert write_errno(p, b'post') == E.ERANGE
    assert s.value == 32767
    # Commands run in order; the first failure stops the write there.
    assert write_errno(p, b'set 10\npost 32767\nset 3\n') == E.ERANGE
    assert s.value == 10
    record('bad input cases', 2)


def test_huge_writes_to_a_semaphore(sem5):
    s, p = sem5
    before = sem_state(s.key)
    huge = [b'x' * (1 << 20), b'post\n' * (1 << 18),
            b'post ' + b'0' * 4091 + b'1',       # 4097 bytes
            b'post\n' * 65]                       # 65 commands
    for data in huge:
        assert write_errno(p, data) == E.EINVAL, len(data)
    assert sem_state(s.key) == before
    # The limits themselves are accepted: 4096 bytes, 64 commands.
    assert write_errno(p, b'post ' + b'0' * 4090 + b'1') is None
    assert write_errno(p, b'post\n' * 64) is None
    assert s.value == 5 + 1 + 64
    record('bad input cases', len(huge) + 2)


def test_writes_at_any_offset(sem5):
    s, p = sem5
    for off in (1, 4096, 1 << 40):
        assert write_errno(p, b'post\n', off) is None
    with open(p, 'a') as f:
        f.write('post 2\n')
    assert s.value == 5 + 3 + 2
    record('bad input cases', 4)


def test_nul_bytes(mnt, ipc, sem5):
    s, p = sem5
    for data in (b'\x00', b'post\x00', b'post 1\x00\n', b'\x00' * 100):
        assert write_errno(p, data) == E.EINVAL
    assert s.value == 5
    # In a segment NUL bytes are just bytes.
    m = ipc.shm()
    sp = os.path.join(mnt.sysv, util.keyname(m.key))
    with open(sp, 'r+b', buffering=0) as f:
        assert f.write(b'a\x00b') == 3
    assert m.read(3) == b'a\x00b'
    record('bad input cases', 5)


# ------------------------------------------------------------------
# Directories as files and the other way round
# ------------------------------------------------------------------

def test_directories_used_as_files(mnt, ipc):
    dirs = [mnt.path, mnt.sysv, mnt.ids, mnt.posix, mnt.sem]
    cases = 0
    for d in dirs:
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
            util.expect_errno(E.EISDIR, os.open, d, flags)
            cases += 1
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            util.expect_errno(E.EISDIR, os.read, fd, 16)
            util.expect_errno((E.EBADF, E.EISDIR), os.write, fd, b'post')
        finally:
            os.close(fd)
        util.expect_errno(E.EISDIR, os.truncate, d, 0)
        cases += 3
    for d in (mnt.sysv, mnt.ids, mnt.posix, mnt.sem):
        util.expect_errno((E.EISDIR, E.EPERM), os.unlink, d)
        util.expect_errno(E.EPERM, os.rmdir, d)
        assert os.path.isdir(d)
        cases += 2
    record('bad input cases', cases)


def test_files_used_as_directories(mnt, ipc):
    m = ipc.shm()
    name = ipc.name('notdir')
    ipc.sem(name=name)
    pname = ipc.name('notdir')
    with open('/dev/shm/' + pname, 'wb'):
        pass
    files = [os.path.join(mnt.sysv, util.keyname(m.key)),
             os.path.join(mnt.ids, str(m.id)),
             os.path.join(mnt.posix, pname), os.path.join(mnt.sem, name)]
    cases = 0
    for f in files:
        util.expect_errno(E.ENOTDIR, os.listdir, f)
        util.expect_errno(E.ENOTDIR, os.open, f, os.O_RDONLY | os.O_DIRECTORY)
        util.expect_errno(E.ENOTDIR, os.stat, f + '/')
        util.expect_errno(E.ENOTDIR, os.open, os.path.join(f, 'x'),
                          os.O_CREAT | os.O_RDWR, 0o600)
        util.expect_errno(E.ENOTDIR, os.mkdir, os.path.join(f, 'x'))
        util.expect_errno(E.ENOTDIR, os.rmdir, f)
        assert os.path.isfile(f)
        cases += 6
    assert util.shm_by_id(m.id) is not None
    record('bad input cases', cases)


def test_refused_namespace_operations(mnt, ipc):
    m = ipc.shm()
    seg = os.path.join(mnt.sysv, util.keyname(m.key))
    pname = ipc.name('ops')
    with open('/dev/shm/' + pname, 'wb'):
        pass
    pos = os.path.join(mnt.posix, pname)
    before = (sorted(os.listdir(mnt.sysv)), sorted(os.listdir(mnt.posix)))
    new = ipc.name('new')
    ops = [
        (E.EPERM, os.mkdir, os.path.join(mnt.sysv, new)),
        (E.EPERM, os.mkdir, os.path.join(mnt.path, new)),
        (E.EPERM, os.symlink, seg, os.path.join(mnt.posix, new)),
        (E.EPERM, os.link, pos, os.path.join(mnt.posix, new)),
        (E.EPERM, os.mkfifo, os.path.join(mnt.posix, new)),
        (E.EPERM, os.rename, pos, os.path.join(mnt.posix, new)),
        (E.EXDEV, os.rename, pos, os.path.join(mnt.sem, new)),
        (E.EXDEV, os.rename, seg, os.path.join(mnt.ids, '1')),
    ]
    for want, f, *args in ops:
        util.expect_errno(want, f, *args)
    assert (sorted(os.listdir(mnt.sysv)), sorted(os.listdir(mnt.posix))) \
        == before
    assert not os.path.exists('/dev/shm/' + new)
    assert util.shm_by_id(m.id) is not None
    record('bad input cases', len(ops))
