"""posix/<name>: POSIX shared memory objects, like files on tmpfs."""

import errno
import mmap
import os
import stat

import pytest

import util


def shm(n):
    return '/dev/shm/' + n


def test_touch_creates(mnt, ipc):
    n = ipc.name()
    util.sh('umask 022; touch %s' % mnt.p('posix', n))
    st = os.stat(shm(n))
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert (st.st_size, st.st_uid, st.st_gid) == (0, 0, 0)
    assert n in os.listdir(mnt.posix)
    mst = os.stat(mnt.p('posix', n))
    assert (mst.st_size, mst.st_mode, mst.st_uid) == \
        (st.st_size, st.st_mode, st.st_uid)


def test_create_mode_exact(mnt, ipc):
    n = ipc.name()
    old = os.umask(0)
    try:
        fd = os.open(mnt.p('posix', n), os.O_CREAT | os.O_EXCL | os.O_RDWR,
                     0o640)
        os.close(fd)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(shm(n)).st_mode) == 0o640
    util.expect_errno(errno.EEXIST, os.open, mnt.p('posix', n),
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)


def test_second_user_creates_and_owns(mnt, ipc):
    n = ipc.name()
    util.sh('umask 077; echo mine > %s' % mnt.p('posix', n), uid=util.NOBODY)
    st = os.stat(shm(n))
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.NOGROUP)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert util.read_file(shm(n)) == b'mine\n'
    util.run(['rm', mnt.p('posix', n)], uid=util.NOBODY)
    assert not os.path.exists(shm(n))


def test_attributes_match_dev_shm(mnt, ipc):
    n = ipc.name()
    with open(shm(n), 'wb') as f:
        f.write(b'x' * 12345)
    os.chmod(shm(n), 0o604)
    os.chown(shm(n), util.NOBODY, util.OTHER_GID)
    a, b = os.stat(shm(n)), os.stat(mnt.p('posix', n))
    assert b.st_size == a.st_size == 12345
    assert b.st_mode == a.st_mode
    assert (b.st_uid, b.st_gid) == (a.st_uid, a.st_gid)
    assert int(b.st_mtime) == int(a.st_mtime)


def test_read_write(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.sh('echo hello > %s' % p)
    assert util.read_file(shm(n)) == b'hello\n'
    assert util.run(['cat', p]).out == b'hello\n'
    util.sh('echo world >> %s' % p)
    assert util.read_file(shm(n)) == b'hello\nworld\n'
    util.sh('echo new > %s' % p)           # O_TRUNC
    assert util.read_file(shm(n)) == b'new\n'


def test_append_after_outside_growth(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.sh('echo one > %s' % p)
    with open(shm(n), 'ab') as f:
        f.write(b'two\n')
    util.sh('echo three >> %s' % p)
    assert util.read_file(shm(n)) == b'one\ntwo\nthree\n'


def test_write_past_end_grows(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        assert os.pwrite(fd, b'tail', 10000) == 4
        assert os.fstat(fd).st_size == 10004
        assert os.pread(fd, 10, 9998) == b'\0\0tail'
        assert os.pread(fd, 10, 10004) == b''
    finally:
        os.close(fd)
    assert os.stat(shm(n)).st_size == 10004
    assert util.read_file(shm(n)) == b'\0' * 10000 + b'tail'


def test_large_roundtrip(mnt, ipc, tmp_path):
    n = ipc.name()
    data = os.urandom(5 * 1048576 + 17)
    src = tmp_path / 'src'
    src.write_bytes(data)
    util.run(['cp', str(src), mnt.p('posix', n)])
    assert util.read_file(shm(n)) == data
    data = os.urandom(len(data))
    with open(shm(n), 'wb') as f:
        f.write(data)
    assert util.run(['cat', mnt.p('posix', n)]).out == data


@pytest.mark.parametrize('bs', ['4K', '64K', '100K', '256K', '1M'])
def test_read_block_sizes_exact(mnt, ipc, bs):
    # large reads go through a pipe (splice), small ones through memory:
    # both must give the file's bytes and stop exactly at its end
    n = ipc.name()
    data = os.urandom(3000007)
    with open(shm(n), 'wb') as f:
        f.write(data)
    out = util.run(['dd', 'if=' + mnt.p('posix', n), 'bs=' + bs,
                    'status=none']).out
    assert out == data


def test_large_preads_at_end(mnt, ipc):
    n = ipc.name()
    data = os.urandom(300001)
    with open(shm(n), 'wb') as f:
        f.write(data)
    fd = os.open(mnt.p('posix', n), os.O_RDONLY)
    try:
        assert os.pread(fd, 200000, 250000) == data[250000:]
        assert os.pread(fd, 200000, 300001) == b''
        assert os.pread(fd, 200000, 10 ** 9) == b''
        # grown behind our back: the next large read sees the new end
        with open(shm(n), 'ab') as f:
            f.write(b'z' * 100000)
        assert os.pread(fd, 200000, 300001) == b'z' * 100000
    finally:
        os.close(fd)


@pytest.mark.parametrize('size', [0, 1, 4096, 1048576, 3])
def test_truncate_any_size(mnt, ipc, size):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.sh('printf abcdefgh > %s' % p)
    util.run(['truncate', '-s', str(size), p])
    assert os.stat(shm(n)).st_size == size
    assert os.stat(p).st_size == size
    assert util.read_file(shm(n)) == (b'abcdefgh' + b'\0' * size)[:size]


def test_ftruncate_and_o_trunc(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.sh('printf abcdefgh > %s' % p)
    fd = os.open(p, os.O_RDWR)
    try:
        os.ftruncate(fd, 3)
        assert os.fstat(fd).st_size == 3
        assert os.stat(shm(n)).st_size == 3
        os.ftruncate(fd, 100)
        assert util.read_file(shm(n)) == b'abc' + b'\0' * 97
    finally:
        os.close(fd)
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert os.stat(shm(n)).st_size == 0


def test_rm_is_shm_unlink(mnt, ipc):
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=4096)
    s.buf[:4] = b'kept'
    util.run(['rm', mnt.p('posix', n)])
    assert not os.path.exists(shm(n))
    assert n not in os.listdir(mnt.posix)
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('posix', n))
    # mapped memory stays valid after unlink, as with shm_unlink
    assert bytes(s.buf[:4]) == b'kept'


def test_chmod_chown(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.run(['touch', p])
    util.run(['chmod', '600', p])
    assert stat.S_IMODE(os.stat(shm(n)).st_mode) == 0o600
    util.run(['chown', 'nobody:users', p])
    st = os.stat(shm(n))
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.OTHER_GID)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (util.NOBODY, util.OTHER_GID, 0o600)


def test_open_file_sees_outside_writes(mnt, ipc):
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=4096)
    fd = os.open(mnt.p('posix', n), os.O_RDWR)
    ofd = os.open(shm(n), os.O_RDWR)
    try:
        for fill in (b'a', b'b', b'c'):
            s.buf[:100] = fill * 100
            assert os.pread(fd, 100, 0) == fill * 100
            assert util.run(['cat', mnt.p('posix', n)]).out[:100] == \
                fill * 100
            os.pwrite(ofd, fill.upper() * 50, 200)
            assert os.pread(fd, 50, 200) == fill.upper() * 50
            os.pwrite(fd, fill * 30, 1000)
            assert bytes(s.buf[1000:1030]) == fill * 30
            assert os.pread(ofd, 30, 1000) == fill * 30
    finally:
        os.close(ofd)
        os.close(fd)


def test_outside_resize_seen(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    with open(shm(n), 'wb') as f:
        f.write(b'1234')
    assert util.read_file(p) == b'1234'
    with open(shm(n), 'wb') as f:
        f.write(b'123456789')
    assert os.stat(p).st_size == 9
    assert util.read_file(p) == b'123456789'
    with open(shm(n), 'wb') as f:
        f.write(b'12')
    assert util.read_file(p) == b'12'


def test_created_via_ipcfs_opened_by_shared_memory(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.run(['truncate', '-s', '8192', p])
    with open(p, 'r+b', buffering=0) as f:
        f.write(b'from ipcfs')
    s = ipc.pshm(n)
    assert s.size == 8192
    assert bytes(s.buf[:10]) == b'from ipcfs'
    s.buf[10:20] = b'from mmap!'
    assert util.read_file(p)[:20] == b'from ipcfsfrom mmap!'


def test_shared_memory_seen_via_ipcfs(mnt, ipc):
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=10000)
    s.buf[:5] = b'hello'
    assert n in os.listdir(mnt.posix)
    assert os.stat(mnt.p('posix', n)).st_size == 10000
    data = util.read_file(mnt.p('posix', n))
    assert data[:5] == b'hello' and len(data) == 10000


def test_shared_memory_in_other_process(mnt, ipc):
    """Python's SharedMemory(name) in another process, both directions."""
    n = ipc.name()
    p = mnt.p('posix', n)
    util.run(['truncate', '-s', '4096', p])
    util.sh('printf ping | dd of=%s conv=notrunc status=none' % p)
    res = util.py('''
        from multiprocessing import shared_memory, resource_tracker
        s = shared_memory.SharedMemory(%r)
        resource_tracker.unregister(s._name, 'shared_memory')
        print(bytes(s.buf[:4]).decode())
        s.buf[4:8] = b'pong'
        s.close()
    ''' % n)
    assert res.text == 'ping\n'
    assert util.read_file(p)[:8] == b'pingpong'


def test_mmap_via_ipcfs_works_or_enodev(mnt, ipc):
    n = ipc.name()
    s = ipc.pshm(n, create=True, size=4096)
    fd = os.open(mnt.p('posix', n), os.O_RDWR)
    try:
        try:
            mm = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
        except OSError as e:
            assert e.errno == errno.ENODEV, e
            return
        try:
            s.buf[:3] = b'abc'
            assert mm[:3] == b'abc'
            mm[3:6] = b'def'
            mm.flush()
            assert bytes(s.buf[:6]) == b'abcdef'
        finally:
            mm.close()
    finally:
        os.close(fd)


@pytest.mark.parametrize('name', ['a..b', '..x', 'x..', '...', 'a...'])
def test_dotdot_names_einval_at_create(mnt, ipc, name):
    ipc.names.add(name)
    util.expect_errno(errno.EINVAL, os.open, mnt.p('posix', name),
                      os.O_CREAT | os.O_RDWR, 0o600)
    util.run(['touch', mnt.p('posix', name)], rc='nonzero')
    assert not os.path.exists(shm(name))


def test_dotdot_name_made_outside_is_usable(mnt, ipc):
    n = ipc.name() + '..x'
    ipc.names.add(n)
    with open(shm(n), 'wb') as f:
        f.write(b'outside')
    assert util.read_file(mnt.p('posix', n)) == b'outside'


def test_sem_files_hidden(mnt, ipc):
    n = ipc.name()
    ipc.names.add('sem.' + n)
    with open(shm('sem.' + n), 'wb') as f:
        f.write(b'\0' * 32)
    assert 'sem.' + n not in os.listdir(mnt.posix)


def test_missing_enoent(mnt, ipc):
    n = ipc.name()
    util.expect_errno(errno.ENOENT, os.open, mnt.p('posix', n), os.O_RDONLY)
    util.expect_errno(errno.ENOENT, os.unlink, mnt.p('posix', n))
    assert not os.path.exists(shm(n))
