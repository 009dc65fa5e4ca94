"""sysv/<key> and sysv/id/<shmid>: System V shared memory segments."""

import errno
import mmap
import os
import stat
import subprocess
import time

import pytest
import sysv_ipc

import util


kpath = util.kpath


# ------------------------------------------------------------------
# Names
# ------------------------------------------------------------------

def test_key_forms(mnt, ipc):
    seg = ipc.shm(size=3 * 4096)
    k = seg.key
    forms = ['0x%x' % k, '0X%X' % k, '0x%08X' % k, '0X%08x' % k,
             '0x' + ''.join(c.upper() if i % 2 else c
                            for i, c in enumerate('%x' % k))]
    for f in forms:
        st = os.stat(mnt.p('sysv', f))
        assert st.st_size == 3 * 4096, f
    listed = os.listdir(mnt.sysv)
    assert util.keyname(k) in listed
    for f in forms:
        if f != util.keyname(k):
            assert f not in listed


def _fixed_key_segment(ipc, key):
    try:
        return ipc.shm(key=key, size=4096)
    except sysv_ipc.ExistentialError:
        pytest.skip('key 0x%x is in use on this machine' % key)


def test_key_0x1(mnt, ipc):
    seg = _fixed_key_segment(ipc, 1)
    seg.write(b'one')
    for f in ('0x1', '0X1', '0x00000001', '0x01'):
        assert util.read_file(mnt.p('sysv', f))[:3] == b'one', f
    assert '0x00000001' in os.listdir(mnt.sysv)


def test_key_0X00ABC(mnt, ipc):
    seg = _fixed_key_segment(ipc, 0xabc)
    seg.write(b'abc')
    for f in ('0X00ABC', '0xabc', '0xABC', '0x00000abc', '0X00000ABC'):
        assert util.read_file(mnt.p('sysv', f))[:3] == b'abc', f
    assert '0x00000abc' in os.listdir(mnt.sysv)


def test_bad_key_names_enoent(mnt, ipc):
    seg = ipc.shm(size=4096)
    k = seg.key
    bad = ['0x', '0X', 'x%x' % k, '%x' % k, '0x0%08x' % k,   # 9 digits
           '0x%xg' % k, '0x%x ' % k, ' 0x%x' % k, '0x+%x' % k, '0x-1',
           '0x0', '0x00000000', '00x%x' % k, '0xx%x' % k, 'id2', '0x%x.' % k]
    for name in bad:
        util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv', name))


def test_bad_id_names_enoent(mnt, ipc):
    seg = ipc.shm(size=4096)
    for name in ('abc', '-1', '+%d' % seg.id, '%d ' % seg.id, '0x1',
                 '2147483647', '99999999999999999999'):
        util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv', 'id', name))


# ------------------------------------------------------------------
# Attributes
# ------------------------------------------------------------------

def test_stat_matches_ipc_stat(mnt, ipc):
    seg = ipc.shm(size=5000, mode=0o600)     # attached: shm_atime
    time.sleep(1.1)
    seg.detach()                               # shm_dtime
    time.sleep(1.1)
    seg.uid = util.NOBODY                      # IPC_SET: shm_ctime
    seg.gid = util.OTHER_GID
    seg.mode = 0o640
    k = util.shm_by_id(seg.id)
    assert len({k['atime'], k['dtime'], k['ctime']}) == 3, k
    for path in (kpath(mnt, seg.key), mnt.p('sysv', 'id', str(seg.id))):
        st = os.stat(path)
        k = util.shm_by_id(seg.id)
        assert stat.S_ISREG(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert st.st_size == 5000
        assert (st.st_uid, st.st_gid) == (util.NOBODY, util.OTHER_GID)
        assert int(st.st_atime) == k['atime']
        assert int(st.st_mtime) == k['dtime']
        assert int(st.st_ctime) == k['ctime']
    res = util.run(['stat', '-c', '%s %u %g %a %F %X %Y %Z',
                    kpath(mnt, seg.key)])
    assert res.text.split() == [
        '5000', str(util.NOBODY), str(util.OTHER_GID), '640', 'regular',
        'file', str(k['atime']), str(k['dtime']), str(k['ctime'])]
    row = util.ipcs_shm_row(seg.id)
    assert (row['owner'], row['perms'], row['bytes']) == ('nobody', '640',
                                                           5000)


def test_ls_l(mnt, ipc):
    seg = ipc.shm(size=12345, mode=0o604)
    # others' segments may vanish between readdir and stat: ls then
    # complains about those, but still lists ours
    res = util.run(['ls', '-ln', mnt.sysv], rc=None)
    line = [l for l in res.text.splitlines()
            if l.endswith(util.keyname(seg.key))]
    assert len(line) == 1
    f = line[0].split()
    assert f[0] == '-rw----r--' and f[2:5] == ['0', '0', '12345'], line


def test_fstat_of_open_file(mnt, ipc):
    seg = ipc.shm(size=8192, mode=0o644)
    fd = os.open(kpath(mnt, seg.key), os.O_RDONLY)
    try:
        st = os.fstat(fd)
        assert st.st_size == 8192
        assert stat.S_IMODE(st.st_mode) == 0o644
    finally:
        os.close(fd)


# ------------------------------------------------------------------
# Content
# ------------------------------------------------------------------

def test_content_both_ways_while_open(mnt, ipc):
    seg = ipc.shm(size=8192)
    fd = os.open(kpath(mnt, seg.key), os.O_RDWR)
    try:
        for i in range(5):
            data = os.urandom(100)
            off = 1000 * i + 7
            seg.write(data, off)
            assert os.pread(fd, 100, off) == data, i
            assert os.pread(fd, 8192, 0) == seg.read(), i
            data = os.urandom(200)
            off = 8192 - 200 - 13 * i
            assert os.pwrite(fd, data, off) == 200
            assert seg.read(200, off) == data, i
    finally:
        os.close(fd)


def test_content_seen_by_other_process(mnt, ipc, procs):
    """A process that attached before keeps seeing writes through the file,
    and its writes are read through the file at once."""
    seg = ipc.shm(size=4096)
    child = procs.py('''
        import sys, sysv_ipc
        m = sysv_ipc.SharedMemory(%d)
        print('ready', flush=True)
        for line in sys.stdin:
            cmd, arg = line.split()
            if cmd == 'read':
                print(m.read(16, int(arg)).hex(), flush=True)
            else:
                m.write(bytes.fromhex(arg), 100)
                print('done', flush=True)
        m.detach()
    ''' % seg.key, stdin=subprocess.PIPE)
    assert child.stdout.readline() == b'ready\n'
    fd = os.open(kpath(mnt, seg.key), os.O_RDWR)
    try:
        for i in range(3):
            data = os.urandom(16)
            os.pwrite(fd, data, 50)
            child.stdin.write(b'read 50\n')
            child.stdin.flush()
            assert child.stdout.readline().strip() == data.hex().encode()
            data = os.urandom(16)
            child.stdin.write(b'write ' + data.hex().encode() + b'\n')
            child.stdin.flush()
            assert child.stdout.readline() == b'done\n'
            assert os.pread(fd, 16, 100) == data
    finally:
        os.close(fd)
        child.stdin.close()
        assert child.wait(timeout=10) == 0


def test_cat_never_stale(mnt, ipc):
    seg = ipc.shm(size=10000)
    path = kpath(mnt, seg.key)
    for fill in (b'A', b'B', b'C'):
        seg.write(fill * 10000)
        assert util.run(['cat', path]).out == fill * 10000
        assert util.read_file(path) == fill * 10000
    res = util.run(['dd', 'if=' + path, 'bs=1', 'skip=10', 'count=5',
                    'status=none'])
    assert res.out == b'CCCCC'


def test_large_segment_roundtrip(mnt, ipc, tmp_path):
    size = 3 * 1048576 + 123
    seg = ipc.shm(size=size)
    data = os.urandom(size)
    src = tmp_path / 'data'
    src.write_bytes(data)
    path = kpath(mnt, seg.key)
    util.run(['dd', 'if=%s' % src, 'of=%s' % path, 'bs=1M', 'conv=notrunc',
              'status=none'])
    assert seg.read() == data
    data = os.urandom(size)
    seg.write(data)
    assert util.run(['cat', path]).out == data
    out = tmp_path / 'out'
    util.run(['cp', path, str(out)])
    assert out.read_bytes() == data


def test_reads_at_or_past_end(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.write(b'x' * 4096)
    fd = os.open(kpath(mnt, seg.key), os.O_RDONLY)
    try:
        assert os.pread(fd, 10, 4096) == b''
        assert os.pread(fd, 10, 4097) == b''
        assert os.pread(fd, 10, 1 << 40) == b''
        assert os.pread(fd, 100, 4090) == b'x' * 6
        os.lseek(fd, 0, os.SEEK_SET)
        assert util.pread_all(fd, 10000) == b'x' * 4096
        os.lseek(fd, 4000, os.SEEK_SET)
        assert os.read(fd, 1000) == b'x' * 96
        assert os.read(fd, 1000) == b''
    finally:
        os.close(fd)


def test_write_at_end_enospc_and_short_write(mnt, ipc):
    seg = ipc.shm(size=4096)
    fd = os.open(kpath(mnt, seg.key), os.O_RDWR)
    try:
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'abc', 4096)
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'abc', 5000)
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'abc', 1 << 40)
        assert os.pwrite(fd, b'0123456789', 4090) == 6
        assert seg.read(6, 4090) == b'012345'
        os.lseek(fd, 4094, os.SEEK_SET)
        assert os.write(fd, b'zzzz') == 2
        util.expect_errno(errno.ENOSPC, os.write, fd, b'zz')
        assert seg.read(2, 4094) == b'zz'
        assert os.fstat(fd).st_size == 4096
    finally:
        os.close(fd)
    assert util.shm_by_id(seg.id)['size'] == 4096


def test_dd_past_end_fails_enospc(mnt, ipc):
    seg = ipc.shm(size=4096)
    path = kpath(mnt, seg.key)
    # starts past the end: nothing written
    res = util.sh('printf 0123456789 | dd of=%s bs=10 seek=410 '
                  'conv=notrunc status=none' % path, rc='nonzero')
    assert 'No space left on device' in res.err
    assert seg.read() == b'\0' * 4096
    # crosses the end: what fits is written, then dd fails on the rest
    res = util.sh('printf 0123456789 | dd of=%s bs=1 seek=4090 '
                  'conv=notrunc status=none' % path, rc='nonzero')
    assert 'No space left on device' in res.err
    assert seg.read(6, 4090) == b'012345'


def test_shell_redirect_truncates_then_writes(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.write(b'Z' * 4096)
    util.sh('echo hello > %s' % kpath(mnt, seg.key))
    assert seg.read() == b'hello\n' + b'\0' * (4096 - 6)
    assert util.shm_by_id(seg.id)['size'] == 4096
    # dd conv=notrunc keeps what is there
    util.sh('printf XY | dd of=%s conv=notrunc status=none'
            % kpath(mnt, seg.key))
    assert seg.read(8) == b'XYllo\n\0\0'


# ------------------------------------------------------------------
# Create
# ------------------------------------------------------------------

def test_touch_creates(mnt, ipc):
    k = ipc.key()
    util.sh('umask 022; touch %s' % kpath(mnt, k))
    seg = util.shm_by_key(k)
    assert seg is not None
    assert seg['size'] == util.PAGE_SIZE
    assert seg['mode'] == 0o644
    assert (seg['uid'], seg['gid']) == (0, 0)
    row = util.ipcs_shm_row(seg['shmid'])
    assert (row['key'], row['owner'], row['perms'], row['bytes']) == \
        (util.keyname(k), 'root', '644', util.PAGE_SIZE)
    assert util.read_file(kpath(mnt, k)) == b'\0' * util.PAGE_SIZE
    st = os.stat(kpath(mnt, k))
    assert st.st_size == util.PAGE_SIZE
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert util.keyname(k) in os.listdir(mnt.sysv)


def test_redirect_creates_with_create_mode(mnt, ipc):
    k = ipc.key()
    util.sh('umask 077; : > %s' % kpath(mnt, k))
    seg = util.shm_by_key(k)
    assert seg['mode'] == 0o600
    assert seg['size'] == util.PAGE_SIZE
    k2 = ipc.key()
    util.sh('umask 022; echo hi > %s' % kpath(mnt, k2))
    seg = util.shm_by_key(k2)
    assert seg['mode'] == 0o644 and seg['size'] == util.PAGE_SIZE
    assert util.read_file(kpath(mnt, k2))[:4] == b'hi\n\0'


def test_truncate_creates_1m(mnt, ipc):
    k = ipc.key()
    util.run(['truncate', '-s', '1M', kpath(mnt, k)])
    seg = util.shm_by_key(k)
    assert seg['size'] == 1048576
    row = util.ipcs_shm_row(seg['shmid'])
    assert row['bytes'] == 1048576 and row['owner'] == 'root'
    assert os.stat(kpath(mnt, k)).st_size == 1048576
    assert util.run(['cat', kpath(mnt, k)]).out == b'\0' * 1048576
    # only one segment with that key exists (no leftover of the first size)
    assert [r['key'] for r in util.shm_table()].count(k) == 1


def test_second_user_creates_and_owns(mnt, ipc):
    k1, k2 = ipc.key(), ipc.key()
    util.run(['truncate', '-s', '1M', kpath(mnt, k1)], uid=util.NOBODY)
    util.sh('umask 022; touch %s' % kpath(mnt, k2), uid=util.NOBODY)
    for k, size in ((k1, 1048576), (k2, util.PAGE_SIZE)):
        seg = util.shm_by_key(k)
        assert seg['size'] == size
        assert (seg['uid'], seg['gid']) == (util.NOBODY, util.NOGROUP)
        assert util.ipcs_shm_row(seg['shmid'])['owner'] == 'nobody'
        st = os.stat(kpath(mnt, k))
        assert (st.st_uid, st.st_gid) == (util.NOBODY, util.NOGROUP)
    # the creator may remove what it made
    util.run(['rm', kpath(mnt, k1)], uid=util.NOBODY)
    assert util.shm_by_key(k1) is None


def test_open_creat_then_ftruncate(mnt, ipc):
    k = ipc.key()
    path = kpath(mnt, k)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, 12345)
        assert os.fstat(fd).st_size == 12345
        assert os.pwrite(fd, b'fresh', 12340) == 5
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'x', 12345)
    finally:
        os.close(fd)
    seg = util.shm_by_key(k)
    assert seg['size'] == 12345 and seg['mode'] == 0o600
    m = ipc.attach(key=k)
    assert m.read(5, 12340) == b'fresh'
    assert m.read(12340) == b'\0' * 12340


def test_create_excl_on_existing(mnt, ipc):
    seg = ipc.shm(size=4096)
    util.expect_errno(errno.EEXIST, os.open, kpath(mnt, seg.key),
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    assert util.shm_by_key(seg.key)['shmid'] == seg.id


def test_create_excl_new(mnt, ipc):
    k = ipc.key()
    fd = os.open(kpath(mnt, k), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
    os.close(fd)
    assert util.shm_by_key(k)['mode'] == 0o640


def test_create_bad_names_refused(mnt, ipc):
    before = {r['shmid'] for r in util.shm_table()}
    for name in ('notakey', '0x', '0x0', '0x00000000', '0x123456789',
                 '0xzz'):
        e = util.errno_of(os.open, mnt.p('sysv', name),
                          os.O_CREAT | os.O_RDWR, 0o600)
        assert e is not None, name
    for name in ('123', '0x1234'):
        e = util.errno_of(os.open, mnt.p('sysv', 'id', name),
                          os.O_CREAT | os.O_RDWR, 0o600)
        assert e is not None, 'id/' + name
    new = [r for r in util.shm_table() if r['shmid'] not in before
           and r['cpid'] == mnt.pid]
    assert new == []


def test_create_in_id_refused_for_second_user(mnt, ipc):
    res = util.run(['touch', mnt.p('sysv', 'id', '1')], uid=util.NOBODY,
                   rc='nonzero')
    assert 'Permission denied' in res.err


# ------------------------------------------------------------------
# Size of an existing segment
# ------------------------------------------------------------------

def test_truncate_to_own_size_is_noop(mnt, ipc):
    seg = ipc.shm(size=8192)
    seg.write(b'keep')
    util.run(['truncate', '-s', '8192', kpath(mnt, seg.key)])
    os.truncate(kpath(mnt, seg.key), 8192)
    assert seg.read(4) == b'keep'
    assert util.shm_by_key(seg.key)['shmid'] == seg.id


def test_truncate_to_zero_zero_fills(mnt, ipc):
    seg = ipc.shm(size=8192)
    seg.write(b'Q' * 8192)
    util.run(['truncate', '-s', '0', kpath(mnt, seg.key)])
    assert seg.read() == b'\0' * 8192
    assert util.shm_by_key(seg.key)['shmid'] == seg.id
    assert util.shm_by_key(seg.key)['size'] == 8192
    assert os.stat(kpath(mnt, seg.key)).st_size == 8192
    seg.write(b'Q' * 8192)
    fd = os.open(kpath(mnt, seg.key), os.O_RDWR)
    try:
        os.ftruncate(fd, 0)
        assert seg.read() == b'\0' * 8192
        assert os.fstat(fd).st_size == 8192
    finally:
        os.close(fd)


def test_o_trunc_zero_fills(mnt, ipc):
    seg = ipc.shm(size=8192)
    seg.write(b'Q' * 8192)
    fd = os.open(kpath(mnt, seg.key), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert seg.read() == b'\0' * 8192
    assert util.shm_by_key(seg.key)['size'] == 8192


@pytest.mark.parametrize('size', [1, 8191, 8193, 1048576])
def test_truncate_other_size_einval(mnt, ipc, size):
    seg = ipc.shm(size=8192)
    seg.write(b'Q' * 8192)
    path = kpath(mnt, seg.key)
    util.expect_errno(errno.EINVAL, os.truncate, path, size)
    fd = os.open(path, os.O_RDWR)
    try:
        util.expect_errno(errno.EINVAL, os.ftruncate, fd, size)
    finally:
        os.close(fd)
    # an existing segment opened with O_CREAT is still not resizable
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        util.expect_errno(errno.EINVAL, os.ftruncate, fd, size)
    finally:
        os.close(fd)
    res = util.run(['truncate', '-s', str(size), path], rc='nonzero')
    assert 'Invalid argument' in res.err
    assert seg.read() == b'Q' * 8192
    r = util.shm_by_key(seg.key)
    assert (r['shmid'], r['size']) == (seg.id, 8192)


# ------------------------------------------------------------------
# rm, chmod, chown
# ------------------------------------------------------------------

def test_rm_is_ipc_rmid(mnt, ipc):
    shmid, key = util.ipcmk_shm(4096)
    ipc.add_shmid(shmid)
    util.run(['rm', mnt.p('sysv', util.keyname(key))])
    assert util.shm_by_id(shmid) is None
    assert util.ipcs_shm_row(shmid) is None
    assert util.keyname(key) not in os.listdir(mnt.sysv)


def test_rm_while_attached_elsewhere(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.write(b'still here')
    os.unlink(kpath(mnt, seg.key))
    r = util.shm_by_id(seg.id)
    assert r['dest'] and r['key'] == 0
    assert 'dest' in util.ipcs_shm_row(seg.id)['status']
    assert seg.read(10) == b'still here'
    assert util.keyname(seg.key) not in os.listdir(mnt.sysv)
    util.expect_errno(errno.ENOENT, os.stat, kpath(mnt, seg.key))


def test_rm_by_id_path(mnt, ipc):
    """rm sysv/id/N either removes the segment or is refused with nothing
    changed."""
    seg = ipc.shm(size=4096)
    seg.detach()
    e = util.errno_of(os.unlink, mnt.p('sysv', 'id', str(seg.id)))
    if e is None:
        assert util.shm_by_id(seg.id) is None
    else:
        assert e in (errno.EPERM, errno.EACCES), errno.errorcode[e]
        assert util.shm_by_key(seg.key)['shmid'] == seg.id


def test_chmod_is_ipc_set(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o644)
    path = kpath(mnt, seg.key)
    util.run(['chmod', '600', path])
    assert util.shm_by_id(seg.id)['mode'] == 0o600
    assert util.ipcs_shm_row(seg.id)['perms'] == '600'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(mnt.p('sysv', 'id', str(seg.id)), 0o660)
    assert util.shm_by_id(seg.id)['mode'] == 0o660


def test_chown_is_ipc_set(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o644)
    path = kpath(mnt, seg.key)
    util.run(['chown', 'nobody:users', path])
    r = util.shm_by_id(seg.id)
    assert (r['uid'], r['gid']) == (util.NOBODY, util.OTHER_GID)
    assert (r['cuid'], r['cgid']) == (0, 0)
    assert util.ipcs_shm_row(seg.id)['owner'] == 'nobody'
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (util.NOBODY, util.OTHER_GID)
    util.run(['chgrp', '0', path])
    assert util.shm_by_id(seg.id)['gid'] == 0
    assert util.shm_by_id(seg.id)['uid'] == util.NOBODY


# ------------------------------------------------------------------
# Attachments
# ------------------------------------------------------------------

def test_read_only_open_attaches_shm_rdonly(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.detach()
    path = kpath(mnt, seg.key)
    hexkey = '%08x' % (seg.key & 0xffffffff)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert util.nattch(seg.id) == 1
        maps = [perm for k, perm in util.daemon_sysv_maps(mnt.pid)
                if k == hexkey]
        assert maps == ['r--s'], maps
        util.expect_errno(errno.EBADF, os.write, fd, b'x')
    finally:
        os.close(fd)
    util.wait_until(lambda: util.nattch(seg.id) == 0, what='nattch 0')
    fd = os.open(path, os.O_RDWR)
    try:
        maps = [perm for k, perm in util.daemon_sysv_maps(mnt.pid)
                if k == hexkey]
        assert maps == ['rw-s'], maps
    finally:
        os.close(fd)


def test_read_only_user_gets_rdonly_attach(mnt, ipc, procs):
    """The second user with read permission only: reading works, the
    daemon's attachment for it is read-only."""
    seg = ipc.shm(size=4096, mode=0o644)
    seg.write(b'public')
    child = procs.py('''
        import os, sys
        fd = os.open(%r, os.O_RDONLY)
        print(os.pread(fd, 6, 0).decode(), flush=True)
        sys.stdin.readline()
        os.close(fd)
    ''' % kpath(mnt, seg.key), uid=util.NOBODY,
        stdin=subprocess.PIPE)
    assert child.stdout.readline() == b'public\n'
    hexkey = '%08x' % (seg.key & 0xffffffff)
    maps = [p for k, p in util.daemon_sysv_maps(mnt.pid) if k == hexkey]
    assert maps == ['r--s'], maps
    child.stdin.close()
    assert child.wait(timeout=10) == 0


def test_nattch_back_to_baseline(mnt, ipc):
    shmid, key = util.ipcmk_shm(4096)
    ipc.add_shmid(shmid)
    path = mnt.p('sysv', util.keyname(key))
    assert util.nattch(shmid) == 0
    fds = [os.open(path, os.O_RDWR), os.open(path, os.O_RDONLY),
           os.open(mnt.p('sysv', 'id', str(shmid)), os.O_RDWR)]
    try:
        assert util.nattch(shmid) >= 1
        assert util.ipcs_shm_row(shmid)['nattch'] >= 1
        util.expect_errno(errno.ENOSPC, os.pwrite, fds[0], b'x', 4096)
    finally:
        for fd in fds:
            os.close(fd)
    util.wait_until(lambda: util.nattch(shmid) == 0, what='nattch 0')
    for _ in range(20):
        util.run(['cat', path])
    util.sh('echo x > %s' % path)
    util.wait_until(lambda: util.nattch(shmid) == 0, what='nattch 0')
    # with one attachment of our own the baseline is 1
    m = ipc.attach(shmid=shmid)
    util.run(['cat', path])
    util.wait_until(lambda: util.nattch(shmid) == 1, what='nattch 1')
    m.detach()


def test_no_attachment_without_open_files(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.detach()
    os.stat(kpath(mnt, seg.key))
    os.listdir(mnt.sysv)
    os.listdir(mnt.ids)
    assert util.nattch(seg.id) == 0


def test_removed_while_open_keeps_working(mnt, ipc):
    seg = ipc.shm(size=4096)
    seg.write(b'before')
    path = kpath(mnt, seg.key)
    fd = os.open(path, os.O_RDWR)
    try:
        util.run(['rm', path])
        assert util.keyname(seg.key) not in os.listdir(mnt.sysv)
        util.expect_errno(errno.ENOENT, os.stat, path)
        assert os.pread(fd, 6, 0) == b'before'
        assert os.pwrite(fd, b'after!', 0) == 6
        assert seg.read(6) == b'after!'
        seg.write(b'again!')
        assert os.pread(fd, 6, 0) == b'again!'
        assert os.fstat(fd).st_size == 4096
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'x', 4096)
    finally:
        os.close(fd)
    seg.detach()
    util.wait_until(lambda: util.shm_by_id(seg.id) is None,
                    what='segment to be destroyed')


def test_removed_by_ipcrm_while_open(mnt, ipc):
    shmid, key = util.ipcmk_shm(4096)
    ipc.add_shmid(shmid)
    path = mnt.p('sysv', util.keyname(key))
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b'data', 0)
        util.run(['ipcrm', '-m', str(shmid)])
        util.expect_errno(errno.ENOENT, os.stat, path)
        assert util.keyname(key) not in os.listdir(mnt.sysv)
        assert os.pread(fd, 4, 0) == b'data'
    finally:
        os.close(fd)
    util.wait_until(lambda: util.shm_by_id(shmid) is None,
                    what='segment to be destroyed')


def test_recreated_key_reaches_new_segment(mnt, ipc):
    k = ipc.key()
    old = ipc.shm(key=k, size=4096)
    old.write(b'OLD')
    path = kpath(mnt, k)
    fd = os.open(path, os.O_RDWR)
    try:
        old.remove()
        new = ipc.shm(key=k, size=8192)
        new.write(b'NEW')
        assert os.stat(path).st_size == 8192
        assert util.read_file(path)[:3] == b'NEW'
        assert os.pread(fd, 3, 0) == b'OLD'
        assert os.fstat(fd).st_size == 4096
        os.pwrite(fd, b'old', 0)
        assert old.read(3) == b'old'
        assert new.read(3) == b'NEW'
        fd2 = os.open(path, os.O_RDWR)
        try:
            os.pwrite(fd2, b'new', 0)
            assert new.read(3) == b'new'
            assert old.read(3) == b'old'
        finally:
            os.close(fd2)
    finally:
        os.close(fd)


def test_recreated_key_fresh_attributes(mnt, ipc):
    k = ipc.key()
    path = kpath(mnt, k)
    for size, mode in ((4096, 0o600), (12288, 0o644), (100, 0o640)):
        seg = ipc.shm(key=k, size=size, mode=mode)
        st = os.stat(path)
        assert (st.st_size, stat.S_IMODE(st.st_mode)) == (size, mode)
        seg.detach()
        seg.remove()


# ------------------------------------------------------------------
# sysv/id/
# ------------------------------------------------------------------

def test_private_segment_only_in_id(mnt, ipc):
    seg = ipc.shm(size=4096, private=True, mode=0o640)
    assert seg.key == 0
    assert str(seg.id) in os.listdir(mnt.ids)
    assert '0x00000000' not in os.listdir(mnt.sysv)
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv', '0x0'))
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv', '0x00000000'))
    path = mnt.p('sysv', 'id', str(seg.id))
    st = os.stat(path)
    assert st.st_size == 4096 and stat.S_IMODE(st.st_mode) == 0o640
    seg.write(b'private')
    assert util.read_file(path)[:7] == b'private'
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, b'PRIVATE', 0)
    finally:
        os.close(fd)
    assert seg.read(7) == b'PRIVATE'


def test_id_and_key_are_the_same_file(mnt, ipc):
    seg = ipc.shm(size=4096)
    a = os.stat(kpath(mnt, seg.key))
    b = os.stat(mnt.p('sysv', 'id', str(seg.id)))
    assert (a.st_size, a.st_mode, a.st_uid, a.st_mtime) == \
        (b.st_size, b.st_mode, b.st_uid, b.st_mtime)
    with open(mnt.p('sysv', 'id', str(seg.id)), 'r+b', buffering=0) as f:
        f.write(b'via id')
    assert util.read_file(kpath(mnt, seg.key))[:6] == b'via id'


def test_ipcmk_private_listing(mnt, ipc):
    """Many segments at once: every id is listed."""
    segs = [ipc.shm(size=4096, private=True) for _ in range(20)]
    listed = set(os.listdir(mnt.ids))
    for s in segs:
        assert str(s.id) in listed
    for s in segs:
        s.detach()
        s.remove()
    listed = set(os.listdir(mnt.ids))
    for s in segs:
        assert str(s.id) not in listed


# ------------------------------------------------------------------
# mmap
# ------------------------------------------------------------------

def test_mmap_works_coherently_or_enodev(mnt, ipc):
    seg = ipc.shm(size=4096)
    fd = os.open(kpath(mnt, seg.key), os.O_RDWR)
    try:
        try:
            mm = mmap.mmap(fd, 4096, mmap.MAP_SHARED,
                           mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            assert e.errno == errno.ENODEV, e
            return
        try:
            seg.write(b'from shm')
            assert mm[:8] == b'from shm'
            mm[:8] = b'from map'
            mm.flush()
            assert seg.read(8) == b'from map'
        finally:
            mm.close()
    finally:
        os.close(fd)


def test_failed_create_size_leaves_nothing_half_made(mnt, ipc):
    k = ipc.key()
    fd = os.open(kpath(mnt, k), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        e = util.errno_of(os.ftruncate, fd, 1 << 62)
        assert e is not None
    finally:
        os.close(fd)
    rows = [r for r in util.shm_table() if r['key'] == k]
    assert len(rows) <= 1, rows
    assert all(r['size'] in (util.PAGE_SIZE,) for r in rows), rows
    util.wait_until(lambda: all(util.nattch(r['shmid']) in (0, None)
                                for r in rows), what='nattch 0')
