"""FUSE passthrough and mmap of sysv/ and posix/ content (issue 12).

On the fast path (libfuse >= 3.17, Linux >= 6.9, a daemon with
CAP_SYS_ADMIN) mmap(MAP_SHARED) of a content file maps the object's own
memory; everywhere else it fails with ENODEV and every byte goes through
the daemon.  The tests of the fast path are skipped on the fallback build,
where their counterparts check ENODEV instead.
"""

import errno
import mmap
import os
import random
import re
import signal

import pytest

import util
from conftest import BUILD, daemon_version_text

PAGE = util.PAGE_SIZE
NEEDS_PT = 'fallback build: passthrough not built in (libfuse < 3.17 or ' \
    '-Dpassthrough=disabled) or kernel < 6.9'


kpath = util.kpath


def skip_unless(passthrough):
    if not passthrough:
        pytest.skip(NEEDS_PT)


def skip_if(passthrough):
    if passthrough:
        pytest.skip('fast path: mmap works there (tested above)')


# ------------------------------------------------------------------
# --version
# ------------------------------------------------------------------

def test_version_says_libfuse_and_passthrough():
    text = daemon_version_text()
    m = re.search(r'^FUSE library version (\d+)\.(\d+)', text, re.M)
    assert m, text
    major, minor = int(m.group(1)), int(m.group(2))
    lines = [ln for ln in text.splitlines() if ln.startswith('passthrough:')]
    assert len(lines) == 1, text
    if (major, minor) < (3, 17):
        want = ('passthrough: not available (built with libfuse %d.%d; '
                'needs >= 3.17)' % (major, minor))
    elif util.build_option(BUILD, 'passthrough') == 'disabled':
        want = 'passthrough: not available (left out at build time)'
    else:
        want = ('passthrough: built in (used where the kernel offers it, '
                'Linux >= 6.9, and the daemon has CAP_SYS_ADMIN)')
    assert lines[0] == want, text


# ------------------------------------------------------------------
# mmap: coherent both ways with shmat() and shm_open()
# ------------------------------------------------------------------

def test_sysv_mmap_coherent_both_ways(mnt, ipc, passthrough):
    skip_unless(passthrough)
    size = 3 * PAGE + 100
    seg = ipc.shm(size=size)
    rng = random.Random(12)
    for flags in (os.O_RDONLY, os.O_RDWR):
        fd = os.open(kpath(mnt, seg.key), flags)
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if flags == os.O_RDWR
                                 else 0)
        try:
            m = mmap.mmap(fd, size, mmap.MAP_SHARED, prot)
            try:
                for _ in range(300):
                    off = rng.randrange(size - 8)
                    data = rng.randbytes(8)
                    seg.write(data, off)
                    assert m[off:off + 8] == data
                    assert os.pread(fd, 8, off) == data
                    if flags == os.O_RDWR:
                        data = rng.randbytes(8)
                        m[off:off + 8] = data
                        assert seg.read(8, off) == data
                        assert os.pread(fd, 8, off) == data
            finally:
                m.close()
        finally:
            os.close(fd)


def test_sysv_readonly_open_cannot_map_writable(mnt, ipc, passthrough):
    skip_unless(passthrough)
    seg = ipc.shm(size=PAGE)
    fd = os.open(kpath(mnt, seg.key), os.O_RDONLY)
    try:
        assert util.mmap_errno(fd, PAGE) == errno.EACCES
        assert util.mmap_errno(fd, PAGE, prot=mmap.PROT_READ) is None
        # a private copy is the caller's own
        assert util.mmap_errno(fd, PAGE, flags=mmap.MAP_PRIVATE) is None
    finally:
        os.close(fd)


def test_posix_mmap_coherent_both_ways(mnt, ipc, passthrough):
    skip_unless(passthrough)
    n = ipc.name()
    size = 2 * PAGE
    s = ipc.pshm(n, create=True, size=size)
    rng = random.Random(13)
    fd = os.open(mnt.p('posix', n), os.O_RDWR)
    try:
        m = mmap.mmap(fd, size, mmap.MAP_SHARED)
        try:
            for _ in range(300):
                off = rng.randrange(size - 8)
                data = rng.randbytes(8)
                s.buf[off:off + 8] = data
                assert m[off:off + 8] == data
                assert os.pread(fd, 8, off) == data
                data = rng.randbytes(8)
                m[off:off + 8] = data
                assert bytes(s.buf[off:off + 8]) == data
                # and write() through the mount shows in both maps
                data = rng.randbytes(8)
                assert os.pwrite(fd, data, off) == 8
                assert m[off:off + 8] == data
                assert bytes(s.buf[off:off + 8]) == data
        finally:
            m.close()
    finally:
        os.close(fd)


def test_posix_passthrough_writes_grow_like_tmpfs(mnt, ipc, passthrough):
    skip_unless(passthrough)
    n = ipc.name()
    ipc.pshm(n, create=True, size=PAGE)
    p = mnt.p('posix', n)
    fd = os.open(p, os.O_RDWR)
    try:
        assert os.pwrite(fd, b'end', 3 * PAGE) == 3
        assert os.stat('/dev/shm/' + n).st_size == 3 * PAGE + 3
        assert os.fstat(fd).st_size == 3 * PAGE + 3
        os.ftruncate(fd, 10)
        assert os.stat('/dev/shm/' + n).st_size == 10
        assert os.pread(fd, 100, 0) == b'\0' * 10
    finally:
        os.close(fd)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, b'app') == 3
    finally:
        os.close(fd)
    with open('/dev/shm/' + n, 'rb') as f:
        assert f.read() == b'\0' * 10 + b'app'


@pytest.mark.parametrize('kind', ['sysv', 'posix'])
def test_mmap_enodev_without_passthrough(mnt, ipc, passthrough, kind):
    skip_if(passthrough)
    if kind == 'sysv':
        p = kpath(mnt, ipc.shm(size=PAGE).key)
    else:
        n = ipc.name()
        ipc.pshm(n, create=True, size=PAGE)
        p = mnt.p('posix', n)
    for flags in (os.O_RDONLY, os.O_RDWR):
        fd = os.open(p, flags)
        try:
            assert util.mmap_errno(fd, PAGE, prot=mmap.PROT_READ) == \
                errno.ENODEV
            if flags == os.O_RDWR:
                assert util.mmap_errno(fd, PAGE) == errno.ENODEV
        finally:
            os.close(fd)


# ------------------------------------------------------------------
# The end of a segment holds
# ------------------------------------------------------------------

SIGBUS_PAST_END = '''
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
page = %d
fd = os.open(sys.argv[1], os.O_RDWR)
# two pages of a one-page file (Python's mmap would refuse the length)
addr = libc.mmap(None, 2 * page, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_SHARED, fd, 0)
if addr in (None, ctypes.c_void_p(-1).value):
    print('mmap failed', ctypes.get_errno()); sys.exit(3)
ctypes.c_char.from_address(addr + page - 1).value = b'A'   # inside: fine
sys.stdout.write('inside\\n'); sys.stdout.flush()
ctypes.c_char.from_address(addr + page).value = b'B'       # past: SIGBUS
print('no SIGBUS')
'''


@pytest.mark.parametrize('kind', ['sysv', 'posix'])
def test_mmap_past_the_end_sigbus_nothing_grows(mnt, ipc, passthrough, kind):
    skip_unless(passthrough)
    if kind == 'sysv':
        seg = ipc.shm(size=PAGE)
        p = kpath(mnt, seg.key)
    else:
        n = ipc.name()
        ipc.pshm(n, create=True, size=PAGE)
        p = mnt.p('posix', n)
    res = util.run([util.PYTHON, '-c',
                    SIGBUS_PAST_END % PAGE, p], rc=None)
    assert res.rc == -signal.SIGBUS, res
    assert res.text == 'inside\n'
    assert os.stat(p).st_size == PAGE
    if kind == 'sysv':
        assert util.shm_by_id(seg.id)['size'] == PAGE
        assert seg.read(1, PAGE - 1) == b'A'
        # the segment's memory did not grow: a new shmat maps one page
        m = ipc.attach(shmid=seg.id)
        assert util.sysv_map_sizes(os.getpid(), seg.key) == [PAGE, PAGE]
        m.detach()
    else:
        assert os.stat('/dev/shm/' + n).st_size == PAGE


def test_sysv_write_across_the_end_through_writable_open(mnt, ipc,
                                                         passthrough):
    # Both paths: the daemon serves writes of sysv/ files, so the
    # contract's end holds; on the fast path a read-only open may already
    # have made the node's backing file, which the writable one shares.
    size = 2 * PAGE
    seg = ipc.shm(size=size)
    p = kpath(mnt, seg.key)
    ro = os.open(p, os.O_RDONLY)
    rw = os.open(p, os.O_RDWR)
    try:
        assert os.pwrite(rw, b'x' * 100, size - 10) == 10
        assert util.errno_of(os.pwrite, rw, b'y', size) == errno.ENOSPC
        assert util.errno_of(os.pwrite, rw, b'y' * PAGE, size + PAGE) == \
            errno.ENOSPC
        # O_APPEND starts at the end: nothing fits
        ap = os.open(p, os.O_WRONLY | os.O_APPEND)
        try:
            assert util.errno_of(os.write, ap, b'z') in (errno.ENOSPC,)
        finally:
            os.close(ap)
        assert os.pread(ro, 20, size - 20) == b'\0' * 10 + b'x' * 10
        assert os.pread(ro, 20, size) == b''
        if passthrough:
            # the writable open still maps the segment
            m = mmap.mmap(rw, size, mmap.MAP_SHARED)
            m[0:4] = b'map!'
            m.close()
            assert seg.read(4) == b'map!'
    finally:
        os.close(rw)
        os.close(ro)
    assert util.shm_by_id(seg.id)['size'] == size
    assert os.stat(p).st_size == size
    m = ipc.attach(shmid=seg.id)
    assert sorted(util.sysv_map_sizes(os.getpid(), seg.key)) == [size, size]
    m.detach()


# ------------------------------------------------------------------
# nattch, removal, mappings that outlive their file
# ------------------------------------------------------------------

def test_nattch_counts_open_files_and_their_mappings(mnt, ipc, passthrough):
    seg = ipc.shm(size=PAGE)
    seg.detach()
    p = kpath(mnt, seg.key)
    fds = [os.open(p, os.O_RDONLY), os.open(p, os.O_RDWR),
           os.open(p, os.O_RDONLY)]
    maps = []
    try:
        assert util.nattch(seg.id) == 3
        if passthrough:
            maps = [mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ)
                    for fd in fds[:2]]
            assert util.nattch(seg.id) == 3
    finally:
        for fd in fds:
            os.close(fd)
    # a mapping keeps its file open (the kernel releases it at munmap),
    # so each one still counts, like a shmat() of its own
    util.wait_until(lambda: util.nattch(seg.id) == len(maps),
                    what='nattch %d' % len(maps))
    w = ipc.attach(shmid=seg.id)
    w.write(b'still here')
    for m in maps:
        assert m[:10] == b'still here'
        m.close()
    w.detach()
    util.wait_until(lambda: util.nattch(seg.id) == 0, what='nattch 0')


@pytest.mark.parametrize('kind', ['sysv', 'posix'])
def test_rm_while_a_mapping_exists(mnt, ipc, passthrough, kind):
    skip_unless(passthrough)
    if kind == 'sysv':
        seg = ipc.shm(size=PAGE)
        seg.detach()
        p = kpath(mnt, seg.key)
    else:
        n = ipc.name()
        ipc.pshm(n, create=True, size=PAGE)
        p = mnt.p('posix', n)
    fd = os.open(p, os.O_RDWR)
    m = mmap.mmap(fd, PAGE, mmap.MAP_SHARED)
    os.close(fd)
    try:
        m[:5] = b'alive'
        os.unlink(p)
        assert not os.path.exists(p)
        if kind == 'sysv':
            # removed (no key any more), destroyed at the last detach
            assert util.shm_by_key(seg.key) is None
            assert util.shm_by_id(seg.id)['dest']
        else:
            assert not os.path.exists('/dev/shm/' + n)
        # the memory stays with the mapping
        m[5:10] = b'+more'
        assert m[:10] == b'alive+more'
        listing = os.listdir(mnt.sysv if kind == 'sysv' else mnt.posix)
        assert os.path.basename(p) not in listing
    finally:
        m.close()
    if kind == 'sysv':
        util.wait_until(lambda: util.shm_by_id(seg.id) is None,
                        what='segment destroyed after munmap')


# ------------------------------------------------------------------
# Opens sharing one backing file, again and again
# ------------------------------------------------------------------

def test_many_opens_share_and_release_the_backing(mnt, ipc, passthrough):
    skip_unless(passthrough)
    seg = ipc.shm(size=PAGE)
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=PAGE)
    paths = [kpath(mnt, seg.key), mnt.p('posix', n)]
    for round_ in range(100):
        for p in paths:
            a = os.open(p, os.O_RDONLY)
            b = os.open(p, os.O_RDWR)
            try:
                m = mmap.mmap(b, PAGE, mmap.MAP_SHARED)
                m[:4] = round_.to_bytes(4, 'little')
                assert os.pread(a, 4, 0) == round_.to_bytes(4, 'little')
                m.close()
            finally:
                os.close(a)
                os.close(b)
    assert seg.read(4) == bytes(s.buf[:4]) == (99).to_bytes(4, 'little')


def test_creating_file_is_served_by_the_daemon(mnt, ipc, passthrough):
    # Its first truncate replaces the segment: no backing file may stay on
    # the old one, so the creating open never passes through; opens made
    # after the size is settled do.
    k = ipc.key()
    p = kpath(mnt, k)
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        assert util.mmap_errno(fd, PAGE) == errno.ENODEV
        os.ftruncate(fd, 3 * PAGE)
        assert os.pwrite(fd, b'new', 2 * PAGE) == 3
        fd2 = os.open(p, os.O_RDONLY)
        try:
            if passthrough:
                m = mmap.mmap(fd2, 3 * PAGE, mmap.MAP_SHARED,
                              mmap.PROT_READ)
                assert m[2 * PAGE:2 * PAGE + 3] == b'new'
                m.close()
            assert os.pread(fd2, 3, 2 * PAGE) == b'new'
        finally:
            os.close(fd2)
    finally:
        os.close(fd)
    row = util.shm_by_key(k)
    ipc.add_shmid(row['shmid'])
    assert row['size'] == 3 * PAGE


# ------------------------------------------------------------------
# -d says which path each open took
# ------------------------------------------------------------------

def test_debug_log_names_each_open_path(mount_factory, ipc, passthrough):
    m = mount_factory(args=['-d'])
    seg = ipc.shm(size=PAGE)
    n = ipc.name()
    ipc.pshm(n, create=True, size=PAGE)
    for p, flags in ((kpath(m, seg.key), os.O_RDONLY),
                     (kpath(m, seg.key), os.O_RDWR),
                     (m.p('posix', n), os.O_RDWR)):
        os.close(os.open(p, flags))
    err = m.stderr()
    opens = re.findall(r'^ipcfs: open (\S+) .*: (.*)$', err, re.M)
    got = [(what, how) for what, how in opens]
    assert len(got) == 3, err[-3000:]
    if passthrough:
        assert 'ipcfs: passthrough on' in err
        assert re.match(r'passthrough, backing \d+$', got[0][1]), got
        assert re.match(r'daemon, mmap passthrough, backing \d+$',
                        got[1][1]), got
        assert re.match(r'passthrough, backing \d+$', got[2][1]), got
    else:
        for _, how in got:
            assert how.startswith('daemon ('), got


# ------------------------------------------------------------------
# A daemon without CAP_SYS_ADMIN falls back quietly
# ------------------------------------------------------------------

def test_fallback_without_cap_sys_admin(nocap_mount_factory, ipc):
    m = nocap_mount_factory(args=['-d'])
    seg = ipc.shm(size=PAGE)
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=PAGE)
    seg.write(b'sysv data')
    s.buf[:10] = b'posix data'
    sp, pp = kpath(m, seg.key), m.p('posix', n)
    assert util.read_file(sp)[:9] == b'sysv data'
    assert util.read_file(pp)[:10] == b'posix data'
    for p in (sp, pp):
        fd = os.open(p, os.O_RDWR)
        try:
            assert os.pwrite(fd, b'W', 0) == 1
            assert util.mmap_errno(fd, PAGE) == errno.ENODEV
            assert util.mmap_errno(fd, PAGE, prot=mmap.PROT_READ) == \
                errno.ENODEV
        finally:
            os.close(fd)
    assert seg.read(1) == b'W' and bytes(s.buf[:1]) == b'W'
    err = m.stderr()
    if 'passthrough: built in' in daemon_version_text():
        if util.kernel_at_least(6, 9):
            assert 'ipcfs: passthrough off: the daemon has no ' \
                'CAP_SYS_ADMIN' in err, err
    # no complaint about the backing file the kernel would refuse
    assert 'passthrough_open' not in err, err


# ------------------------------------------------------------------
# Passed through means the daemon is not asked
# ------------------------------------------------------------------

def test_passthrough_reads_need_no_daemon(mnt, ipc, passthrough):
    skip_unless(passthrough)
    seg = ipc.shm(size=PAGE)
    seg.write(b'kernel-served')
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=PAGE)
    s.buf[:6] = b'direct'
    ro = os.open(kpath(mnt, seg.key), os.O_RDONLY)
    rw = os.open(mnt.p('posix', n), os.O_RDWR)
    # the first write asks the daemon once whether the file has set-id
    # privileges to drop (security.capability); the kernel remembers
    assert os.pwrite(rw, b'd', 0) == 1
    os.kill(mnt.pid, signal.SIGSTOP)
    try:
        # a stopped daemon answers nothing: these never reach it
        assert os.pread(ro, 13, 0) == b'kernel-served'
        assert os.pwrite(rw, b'DIRECT', 0) == 6
        assert os.pread(rw, 6, 0) == b'DIRECT'
    finally:
        os.kill(mnt.pid, signal.SIGCONT)
        os.close(ro)
        os.close(rw)
    assert bytes(s.buf[:6]) == b'DIRECT'
