"""Everything else: refused operations, touch on existing objects, odd
inputs that must not hurt the daemon."""

import errno
import os
import stat

import pytest

import util


TARGETS = ['newname', 'newdir', '0x00000001', 'other', 'd']


def snapshot(mnt, ipc):
    """What a user sees of the test's objects and of the names the refused
    operations aimed at (other programs may change the rest meanwhile)."""
    names = set(TARGETS) | ipc.names | {util.keyname(k) for k in ipc.keys} \
        | {str(i) for i in ipc.shmids}
    snap = {'root': sorted(os.listdir(mnt.path))}
    for d in ('sysv', 'sysv/id', 'posix', 'sem'):
        for e in sorted(names | set(os.listdir(mnt.p(d)))):
            if e not in names:
                continue
            try:
                st = os.stat(mnt.p(d, e))
                snap[d + '/' + e] = (st.st_mode, st.st_size, st.st_uid,
                                     st.st_gid)
            except FileNotFoundError:
                pass
    snap['shm'] = sorted((r['key'], r['shmid'], r['mode'], r['uid'],
                          r['size']) for r in util.shm_table()
                         if r['shmid'] in ipc.shmids or r['key'] in ipc.keys
                         or r['key'] == 1)
    snap['sem'] = sorted((r['key'], r['semid'], r['mode'], r['uid'])
                         for r in util.sem_table()
                         if r['key'] in ipc.keys or r['semid'] in ipc.semids)
    snap['dev/shm'] = sorted(e for e in os.listdir('/dev/shm')
                             if e in names)
    return snap


@pytest.fixture
def objects(mnt, ipc):
    """One object of each kind, plus their paths."""
    seg = ipc.shm(size=4096, mode=0o644)
    seg.write(b'segment')
    pn = ipc.name()
    util.sh('echo posix > %s' % mnt.p('posix', pn))
    sn = ipc.name()
    ipc.sem(name=sn, value=3, mode=0o644)
    util.read_file(mnt.p('sem', sn))      # ipcfs has seen the name
    return {
        'seg': seg, 'posix': pn, 'sem': sn,
        'sysv_path': mnt.p('sysv', util.keyname(seg.key)),
        'id_path': mnt.p('sysv', 'id', str(seg.id)),
        'posix_path': mnt.p('posix', pn),
        'sem_path': mnt.p('sem', sn),
    }


def unchanged_after(mnt, ipc, func):
    for n in TARGETS:
        ipc.add_name(n)
    before = snapshot(mnt, ipc)
    func()
    assert snapshot(mnt, ipc) == before


@pytest.mark.parametrize('where', ['', 'sysv', 'sysv/id', 'posix', 'sem'])
def test_mkdir_eperm(mnt, ipc, where):
    path = mnt.p(where, 'newdir')
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        errno.EPERM, os.mkdir, path, 0o755))


@pytest.mark.parametrize('where', ['sysv', 'posix', 'sem'])
def test_mkdir_second_user_eperm(mnt, where):
    assert util.op_as('os.mkdir(%r)' % mnt.p(where, 'd')) == 'EPERM'


@pytest.mark.parametrize('where', ['sysv', 'sysv/id', 'posix', 'sem'])
def test_rmdir_eperm(mnt, ipc, where):
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        (errno.EPERM, errno.EBUSY), os.rmdir, mnt.p(where)))


def test_rmdir_on_objects(mnt, ipc, objects):
    for p in ('sysv_path', 'posix_path', 'sem_path'):
        unchanged_after(mnt, ipc, lambda: util.expect_errno(
            (errno.ENOTDIR, errno.EPERM), os.rmdir, objects[p]))


def test_rename_same_folder_eperm(mnt, ipc, objects):
    # (renaming sysv/<key> to sysv/id/<shmid>, the same file, is a no-op
    # the kernel does by itself, as for two links of one file)
    for src, dst in (
            (objects['posix_path'], mnt.p('posix', 'newname')),
            (objects['sem_path'], mnt.p('sem', 'newname')),
            (objects['sysv_path'], mnt.p('sysv', '0x00000001')),
            (objects['posix_path'], mnt.p('posix', 'newname')),
            (objects['sem_path'], mnt.p('sem', util.keyname(
                util.sem_key(objects['sem']))))):
        unchanged_after(mnt, ipc, lambda: util.expect_errno(
            errno.EPERM, os.rename, src, dst))


def test_rename_across_folders_exdev_or_eperm(mnt, ipc, objects):
    for src, dst in (
            (objects['sysv_path'], mnt.p('posix', 'newname')),
            (objects['posix_path'], mnt.p('sem', 'newname')),
            (objects['sem_path'], mnt.p('sysv', '0x00000001')),
            (objects['sysv_path'], mnt.p('sysv', 'id', '1'))):
        unchanged_after(mnt, ipc, lambda: util.expect_errno(
            (errno.EXDEV, errno.EPERM), os.rename, src, dst))


def test_rename_folders_eperm(mnt, ipc):
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        (errno.EPERM, errno.EBUSY), os.rename, mnt.sysv, mnt.p('other')))


def test_link_eperm(mnt, ipc, objects):
    for src, dst in (
            (objects['posix_path'], mnt.p('posix', 'newname')),
            (objects['sem_path'], mnt.p('sem', 'newname')),
            (objects['sysv_path'], mnt.p('sysv', '0x00000001'))):
        unchanged_after(mnt, ipc, lambda: util.expect_errno(
            errno.EPERM, os.link, src, dst))
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        (errno.EPERM, errno.EXDEV), os.link, objects['sysv_path'],
        mnt.p('posix', 'newname')))
    res = util.run(['ln', objects['posix_path'], mnt.p('posix', 'newname')],
                   rc='nonzero')
    assert 'Operation not permitted' in res.err


@pytest.mark.parametrize('where', ['', 'sysv', 'posix', 'sem'])
def test_symlink_eperm(mnt, ipc, where):
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        errno.EPERM, os.symlink, '/etc/passwd', mnt.p(where, 'newname')))


@pytest.mark.parametrize('where', ['sysv', 'posix', 'sem'])
@pytest.mark.parametrize('kind', ['fifo', 'reg', 'sock'])
def test_mknod_eperm(mnt, ipc, where, kind):
    name = '0x00000001' if where == 'sysv' else 'newname'
    path = mnt.p(where, name)
    mode = {'fifo': stat.S_IFIFO, 'reg': stat.S_IFREG,
            'sock': stat.S_IFSOCK}[kind] | 0o600
    unchanged_after(mnt, ipc, lambda: util.expect_errno(
        errno.EPERM, os.mknod, path, mode))


def test_mkfifo_command_eperm(mnt, ipc):
    ipc.names.add('fifo')
    res = util.run(['mkfifo', mnt.p('posix', 'fifo')], rc='nonzero')
    assert 'Operation not permitted' in res.err


def test_create_and_unlink_in_root_refused(mnt, ipc, objects):
    def attempt():
        e = util.errno_of(os.open, mnt.p('newname'),
                          os.O_CREAT | os.O_WRONLY, 0o644)
        assert e in (errno.EPERM, errno.EACCES), e
        util.expect_errno((errno.EPERM, errno.EISDIR, errno.EACCES),
                          os.unlink, mnt.sysv)
        util.expect_errno((errno.EPERM, errno.EACCES, errno.EISDIR),
                          os.unlink, mnt.ids)
    unchanged_after(mnt, ipc, attempt)
    assert util.op_as('open(%r, "w")' % mnt.p('newname')) in ('EACCES',
                                                               'EPERM')


def test_unlink_missing_enoent(mnt, ipc):
    k = ipc.key()
    n = ipc.name()
    util.expect_errno(errno.ENOENT, os.unlink, mnt.p('sysv', util.keyname(k)))
    util.expect_errno(errno.ENOENT, os.unlink, mnt.p('posix', n))
    util.expect_errno(errno.ENOENT, os.unlink, mnt.p('sem', n))


# ------------------------------------------------------------------
# touch on existing objects
# ------------------------------------------------------------------

TOUCHES = [['touch'], ['touch', '-d', '2001-02-03 04:05:06'], ['touch', '-m'],
           ['touch', '-a'], ['touch', '-c'], ['touch', '-t', '200001010000']]


def test_touch_existing_segment(mnt, ipc, objects):
    seg = objects['seg']
    seg.detach()
    for path in (objects['sysv_path'], objects['id_path']):
        for t in TOUCHES:
            util.run(t + [path])
            os.utime(path, (1, 1))
            os.utime(path, None)
            # touch may have opened the file: wait for its release
            util.wait_until(lambda: util.nattch(seg.id) == 0, what='nattch')
            r = util.shm_by_id(seg.id)
            assert (r['key'], r['size'], r['mode'], r['uid'], r['gid']) == \
                (seg.key, 4096, 0o644, 0, 0)
            st = os.stat(path)
            assert (int(st.st_atime), int(st.st_mtime), int(st.st_ctime)) \
                == (r['atime'], r['dtime'], r['ctime']), t
            assert st.st_size == 4096
    assert util.read_file(objects['sysv_path'])[:7] == b'segment'
    assert util.shm_by_key(seg.key)['shmid'] == seg.id


def test_touch_existing_semaphore(mnt, ipc, objects):
    path = objects['sem_path']
    key = util.sem_key(objects['sem'])
    before = util.sem_by_key(key)
    for t in TOUCHES:
        util.run(t + [path])
        os.utime(path, (1, 1))
        st = os.stat(path)
        r = util.sem_by_key(key)
        assert (r['semid'], r['mode'], r['uid']) == \
            (before['semid'], 0o644, 0)
        assert int(st.st_mtime) == r['otime'], t
        assert int(st.st_ctime) == r['ctime'], t
    assert util.sem_value(key) == 3
    assert util.read_file(path) == b'3\n'


def test_touch_existing_posix(mnt, ipc, objects):
    path = objects['posix_path']
    for t in TOUCHES:
        util.run(t + [path])
    st = os.stat('/dev/shm/' + objects['posix'])
    assert (st.st_size, stat.S_IMODE(st.st_mode), st.st_uid) == \
        (6, 0o644, 0)
    assert util.read_file(path) == b'posix\n'


def test_touch_folders(mnt):
    for d in (mnt.path, mnt.sysv, mnt.ids, mnt.posix, mnt.sem):
        util.run(['touch', '-c', d], rc=None)
    assert sorted(os.listdir(mnt.path)) == util.ROOT_FOLDERS


# ------------------------------------------------------------------
# Odd inputs: errors are fine, crashes and leaks are not (the fixture
# checks the daemon's exit status, sanitizer output and attachments).
# ------------------------------------------------------------------

def test_statfs(mnt):
    st = os.statvfs(mnt.path)
    assert st.f_namemax >= 251
    util.run(['df', mnt.path])
    util.run(['stat', '-f', mnt.path])


def test_odd_operations_do_not_hurt(mnt, ipc, objects):
    paths = [objects[k] for k in ('sysv_path', 'id_path', 'posix_path',
                                  'sem_path')]
    dirs = [mnt.path, mnt.sysv, mnt.ids, mnt.posix, mnt.sem]
    long = 'x' * 255
    ipc.names.add(long)
    for d in dirs:
        for name in (long, 'a\nb', '.hidden', '0x' + 'f' * 255, ' ', '-'):
            util.errno_of(os.stat, os.path.join(d, name))
            util.errno_of(os.unlink, os.path.join(d, name))
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            util.errno_of(os.read, fd, 10)
            util.errno_of(os.write, fd, b'x')
            util.errno_of(os.fsync, fd)
        finally:
            os.close(fd)
    for p in paths:
        fd = os.open(p, os.O_RDWR)
        try:
            util.errno_of(os.posix_fallocate, fd, 0, 1 << 20)
            util.errno_of(os.lseek, fd, 0, os.SEEK_DATA)
            util.errno_of(os.lseek, fd, 0, os.SEEK_HOLE)
            util.errno_of(os.lseek, fd, 1 << 62, os.SEEK_SET)
            util.errno_of(os.pread, fd, 1 << 20, (1 << 63) - 2)
            util.errno_of(os.fsync, fd)
            util.errno_of(os.fdatasync, fd)
            util.errno_of(os.pread, fd, 0, 0)
            util.errno_of(os.listxattr, fd)
        finally:
            os.close(fd)
        for flags in (os.O_RDONLY | os.O_DIRECTORY, os.O_WRONLY | os.O_APPEND,
                      os.O_RDONLY | os.O_NOATIME, os.O_PATH,
                      os.O_RDONLY | os.O_NONBLOCK):
            try:
                os.close(os.open(p, flags))
            except OSError:
                pass
    # the daemon still answers and holds nothing
    assert sorted(os.listdir(mnt.path)) == util.ROOT_FOLDERS
    assert util.read_file(objects['sem_path']) == b'3\n'
    assert util.read_file(objects['sysv_path'])[:7] == b'segment'
    # fallocate may grow a POSIX object, as on tmpfs
    assert util.read_file(objects['posix_path'])[:6] == b'posix\n'
    assert util.sem_value(util.sem_key(objects['sem'])) == 3
    assert util.shm_by_id(objects['seg'].id)['size'] == 4096
    assert os.stat(objects['sysv_path']).st_size == 4096


def test_sysv_content_unchanged_by_odd_writes(mnt, ipc, objects):
    seg = objects['seg']
    fd = os.open(objects['sysv_path'], os.O_RDWR)
    try:
        util.errno_of(os.pwrite, fd, b'x' * 100, (1 << 63) - 50)
        util.expect_errno(errno.ENOSPC, os.pwrite, fd, b'x' * 100, 1 << 40)
        util.errno_of(os.pwrite, fd, b'', 5000)
    finally:
        os.close(fd)
    assert seg.read(7) == b'segment'
    assert util.shm_by_id(seg.id)['size'] == 4096
