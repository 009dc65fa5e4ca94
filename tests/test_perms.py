"""Permissions as the second user: the mount agrees with the kernel's own
IPC checks, and only owners (or root) may remove or change objects."""

import os
import stat

import pytest

import util

NOBODY, NOGROUP, GID = util.NOBODY, util.NOGROUP, util.OTHER_GID


kpath = util.kpath


def shmat_as(key, readonly, uid=NOBODY, gid=NOGROUP):
    """What the kernel's own shmat says for that user: 'OK' or 'EACCES'."""
    res = util.py('''
        import sysv_ipc
        try:
            m = sysv_ipc.attach(%d, None, %s)
        except sysv_ipc.PermissionsError:
            print('EACCES')
        else:
            m.detach()
            print('OK')
    ''' % (util.shm_by_key(key)['shmid'],
           'sysv_ipc.SHM_RDONLY' if readonly else '0'), uid=uid, gid=gid)
    return res.text.strip()


def open_as(path, flags, uid=NOBODY, gid=NOGROUP):
    return util.op_as('os.close(os.open(%r, %s))' % (path, flags), uid, gid)


# ------------------------------------------------------------------
# SysV segments
# ------------------------------------------------------------------

def test_segment_0600_unreadable(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o600)
    seg.write(b'secret')
    res = util.run(['cat', kpath(mnt, seg.key)], uid=NOBODY, rc='nonzero')
    assert 'Permission denied' in res.err and res.out == b''
    assert open_as(kpath(mnt, seg.key), 'os.O_RDONLY') == 'EACCES'
    assert open_as(mnt.p('sysv', 'id', str(seg.id)), 'os.O_RDONLY') == \
        'EACCES'
    assert shmat_as(seg.key, readonly=True) == 'EACCES'


def test_segment_0644_read_only(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o644)
    seg.write(b'public')
    res = util.run(['cat', kpath(mnt, seg.key)], uid=NOBODY)
    assert res.out[:6] == b'public'
    assert open_as(kpath(mnt, seg.key), 'os.O_WRONLY') == 'EACCES'
    assert open_as(kpath(mnt, seg.key), 'os.O_RDWR') == 'EACCES'
    util.sh('echo x > %s' % kpath(mnt, seg.key), uid=NOBODY, rc='nonzero')
    assert seg.read(6) == b'public'
    assert shmat_as(seg.key, readonly=True) == 'OK'
    assert shmat_as(seg.key, readonly=False) == 'EACCES'


def test_segment_0666_writable(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o666)
    util.sh('printf hi | dd of=%s conv=notrunc status=none'
            % kpath(mnt, seg.key), uid=NOBODY)
    assert seg.read(2) == b'hi'
    assert shmat_as(seg.key, readonly=False) == 'OK'


@pytest.mark.parametrize('mode,read,write', [
    (0o640, 'OK', 'EACCES'),
    (0o660, 'OK', 'OK'),
    (0o604, 'EACCES', 'EACCES'),    # the group class wins over others
    (0o600, 'EACCES', 'EACCES'),
])
def test_segment_group_member(mnt, ipc, mode, read, write):
    seg = ipc.shm(size=4096, mode=0o600)
    os.chown(kpath(mnt, seg.key), -1, GID)
    os.chmod(kpath(mnt, seg.key), mode)
    r = util.shm_by_id(seg.id)
    assert (r['gid'], r['mode']) == (GID, mode)
    path = kpath(mnt, seg.key)
    assert open_as(path, 'os.O_RDONLY', gid=GID) == read
    assert open_as(path, 'os.O_WRONLY', gid=GID) == write
    # the kernel's own shmat agrees
    assert shmat_as(seg.key, True, gid=GID) == read
    assert shmat_as(seg.key, False, gid=GID) == \
        ('OK' if read == write == 'OK' else 'EACCES')


def test_revoked_access_acts_at_once(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o644)
    path = kpath(mnt, seg.key)
    assert open_as(path, 'os.O_RDONLY') == 'OK'
    seg.mode = 0o600                           # IPC_SET outside the mount
    assert open_as(path, 'os.O_RDONLY') == 'EACCES'
    seg.mode = 0o666
    assert open_as(path, 'os.O_RDWR') == 'OK'


@pytest.mark.parametrize('mode', [0o666, 0o600])
def test_segment_rm_chmod_chown_by_non_owner_eperm(mnt, ipc, mode):
    seg = ipc.shm(size=4096, mode=mode)
    path = kpath(mnt, seg.key)
    assert util.op_as('os.unlink(%r)' % path) == 'EPERM'
    assert util.op_as('os.chmod(%r, 0o777)' % path) == 'EPERM'
    assert util.op_as('os.chown(%r, %d, -1)' % (path, NOBODY)) == 'EPERM'
    res = util.run(['rm', '-f', path], uid=NOBODY, rc='nonzero')
    assert 'Operation not permitted' in res.err
    res = util.run(['chmod', '777', path], uid=NOBODY, rc='nonzero')
    assert 'Operation not permitted' in res.err
    r = util.shm_by_key(seg.key)
    assert (r['shmid'], r['mode'], r['uid']) == (seg.id, mode, 0)


def test_owner_not_creator_may_chmod_and_rm(mnt, ipc):
    seg = ipc.shm(size=4096, mode=0o600)
    seg.uid = NOBODY                      # owner nobody, creator root
    path = kpath(mnt, seg.key)
    util.run(['chmod', '640', path], uid=NOBODY)
    assert util.shm_by_id(seg.id)['mode'] == 0o640
    util.run(['rm', path], uid=NOBODY)
    assert util.shm_by_key(seg.key) is None


def test_root_may_do_anything(mnt, ipc):
    k = ipc.key()
    util.run(['touch', kpath(mnt, k)], uid=NOBODY)
    path = kpath(mnt, k)
    util.run(['chmod', '000', path])
    assert util.shm_by_key(k)['mode'] == 0
    assert util.read_file(path) == b'\0' * util.PAGE_SIZE
    util.run(['rm', path])
    assert util.shm_by_key(k) is None


def test_second_user_cannot_create_in_id(mnt, ipc):
    assert util.op_as('os.close(os.open(%r, os.O_CREAT|os.O_WRONLY))'
                      % mnt.p('sysv', 'id', '12345')) == 'EACCES'


# ------------------------------------------------------------------
# POSIX objects
# ------------------------------------------------------------------

def test_posix_permissions(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.sh('echo secret > %s' % p)
    os.chmod(p, 0o600)
    assert open_as(p, 'os.O_RDONLY') == 'EACCES'
    util.run(['cat', p], uid=NOBODY, rc='nonzero')
    os.chmod(p, 0o644)
    assert util.run(['cat', p], uid=NOBODY).out == b'secret\n'
    assert open_as(p, 'os.O_WRONLY') == 'EACCES'
    assert util.op_as('os.unlink(%r)' % p) == 'EPERM'
    assert util.op_as('os.chmod(%r, 0o666)' % p) == 'EPERM'
    assert util.op_as('os.truncate(%r, 0)' % p) == 'EACCES'
    assert util.read_file('/dev/shm/' + n) == b'secret\n'
    assert stat.S_IMODE(os.stat('/dev/shm/' + n).st_mode) == 0o644
    # the kernel's own check on /dev/shm agrees
    assert open_as('/dev/shm/' + n, 'os.O_WRONLY') == 'EACCES'


def test_posix_group_member(mnt, ipc):
    n = ipc.name()
    p = mnt.p('posix', n)
    util.run(['touch', p])
    os.chown(p, -1, GID)
    os.chmod(p, 0o660)
    assert open_as(p, 'os.O_RDWR', gid=GID) == 'OK'
    assert open_as(p, 'os.O_RDWR') == 'EACCES'


# ------------------------------------------------------------------
# Semaphores
# ------------------------------------------------------------------

def sem_op_as(key, op, uid=NOBODY, gid=NOGROUP):
    """The kernel's verdict for that user: value read / post."""
    res = util.py('''
        import sysv_ipc
        # mode 0: semget asks for no permission, only the operation does
        s = sysv_ipc.Semaphore(%d, 0, 0)
        try:
            %s
        except sysv_ipc.PermissionsError:
            print('EACCES')
        else:
            print('OK')
    ''' % (key, 's.value' if op == 'read' else 's.release()'),
        uid=uid, gid=gid)
    return res.text.strip()


@pytest.mark.parametrize('mode,read,write', [
    (0o600, 'EACCES', 'EACCES'),
    (0o644, 'OK', 'EACCES'),
    (0o666, 'OK', 'OK'),
    (0o622, 'EACCES', 'OK'),
])
def test_semaphore_permissions(mnt, ipc, mode, read, write):
    n = ipc.name()
    s = ipc.sem(name=n, value=1, mode=mode)
    p = mnt.p('sem', n)
    assert open_as(p, 'os.O_RDONLY') == read
    assert open_as(p, 'os.O_WRONLY') == write
    res = util.run(['cat', p], uid=NOBODY, rc=None)
    assert (res.out == b'1\n') == (read == 'OK'), res
    res = util.sh('echo post > %s' % p, uid=NOBODY, rc=None)
    assert (res.rc == 0) == (write == 'OK'), res
    assert s.value == (2 if write == 'OK' else 1)
    assert sem_op_as(s.key, 'read') == read
    assert sem_op_as(s.key, 'post') == write


def test_semaphore_group_member(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=0, mode=0o660)
    s.gid = GID
    p = mnt.p('sem', n)
    util.sh('echo post > %s' % p, uid=NOBODY, gid=GID)
    assert s.value == 1
    util.sh('echo post > %s' % p, uid=NOBODY, rc='nonzero')
    assert s.value == 1


def test_semaphore_rm_chmod_by_non_owner_eperm(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=0, mode=0o666)
    p = mnt.p('sem', n)
    assert util.op_as('os.unlink(%r)' % p) == 'EPERM'
    assert util.op_as('os.chmod(%r, 0o600)' % p) == 'EPERM'
    assert util.op_as('os.chown(%r, %d, -1)' % (p, NOBODY)) == 'EPERM'
    assert (s.mode, s.uid) == (0o666, 0)
    assert util.sem_by_key(s.key)['semid'] == s.id


def test_semaphore_owner_may_rm(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=0, mode=0o600)
    s.uid = NOBODY
    util.run(['rm', mnt.p('sem', n)], uid=NOBODY)
    assert util.sem_by_key(s.key) is None


# ------------------------------------------------------------------
# Who owns what is created (issue 10): the caller, as owner and creator
# ------------------------------------------------------------------

SUPP_GID, SUPP_GROUP = 4343, 100


def as_member(cmd, uid=NOBODY, gid=SUPP_GID, groups=(SUPP_GROUP,)):
    """cmd as uid/gid with supplementary groups (setpriv --groups)."""
    return ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
            '--groups=%s' % ','.join(str(g) for g in groups)] + list(cmd)


def sysv_owners(kind, key):
    r = (util.shm_by_key if kind == 'sysv' else util.sem_by_key)(key)
    assert r is not None, (kind, key)
    return (r['uid'], r['gid'], r['cuid'], r['cgid'])


@pytest.mark.parametrize('kind', ['sysv', 'sem'])
@pytest.mark.parametrize('who', ['nobody', 'supplementary'])
def test_create_through_mount_owner_and_creator_are_caller(mnt, ipc, kind,
                                                            who):
    if kind == 'sysv':
        key = ipc.key()
        path = kpath(mnt, key)
    else:
        name = ipc.name('own')
        key = util.sem_key(name)
        path = mnt.p('sem', name)
    cmd = ['sh', '-c', 'umask 077; touch "$0"', path]
    if who == 'nobody':
        util.run(cmd, uid=NOBODY)
        want = (NOBODY, NOGROUP, NOBODY, NOGROUP)
    else:
        util.run(as_member(cmd))
        # the effective gid, never a supplementary group (nor root's 0)
        want = (NOBODY, SUPP_GID, NOBODY, SUPP_GID)
    assert sysv_owners(kind, key) == want
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == want[:2]
    assert stat.S_IMODE(st.st_mode) == 0o600


@pytest.mark.parametrize('who', ['nobody', 'supplementary'])
def test_posix_create_through_mount_belongs_to_caller(mnt, ipc, who):
    n = ipc.name('own')
    cmd = ['sh', '-c', 'umask 077; touch "$0"', mnt.p('posix', n)]
    if who == 'nobody':
        util.run(cmd, uid=NOBODY)
        want = (NOBODY, NOGROUP)
    else:
        util.run(as_member(cmd))
        want = (NOBODY, SUPP_GID)
    st = os.stat('/dev/shm/' + n)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        want + (0o600,)


def test_created_segment_gives_group_rights_to_callers_group_only(mnt, ipc):
    """Made through the mount by nobody with mode 0660: a user in group 0
    (the daemon's) gets nothing, as with a twin nobody made directly; a
    member of nobody's group gets read and write, both through the mount
    and from the kernel."""
    k = ipc.key()
    path = kpath(mnt, k)
    util.sh('umask 007; touch %s' % path, uid=NOBODY)
    assert sysv_owners('sysv', k) == (NOBODY, NOGROUP, NOBODY, NOGROUP)
    assert shmat_as(k, True, uid=4242, gid=0) == 'EACCES'
    assert shmat_as(k, False, uid=4242, gid=0) == 'EACCES'
    assert open_as(path, 'os.O_RDONLY', uid=4242, gid=0) == 'EACCES'
    assert shmat_as(k, False, uid=4242, gid=NOGROUP) == 'OK'
    assert open_as(path, 'os.O_RDWR', uid=4242, gid=NOGROUP) == 'OK'


# ------------------------------------------------------------------
# Write-only modes: writing needs read and write, as shmat(2) does
# ------------------------------------------------------------------

WRITE_WAYS = {
    'write': 'fd = os.open(%r, os.O_WRONLY); os.write(fd, b"X"); '
             'os.close(fd)',
    'truncate': 'os.truncate(%r, 0)',
    'o_trunc': 'os.close(os.open(%r, os.O_WRONLY | os.O_TRUNC))',
    'open_rdwr': 'os.close(os.open(%r, os.O_RDWR))',
}


@pytest.mark.parametrize('mode,uid,gid', [
    (0o602, NOBODY, NOGROUP),        # other: w without r
    (0o620, NOBODY, GID),            # group member: w without r
    (0o606, NOBODY, NOGROUP),        # other: rw -> allowed
    (0o660, NOBODY, GID),            # group member: rw -> allowed
    (0o200, 0, 0),                   # root is root
])
@pytest.mark.parametrize('where', ['key', 'id'])
@pytest.mark.parametrize('way', sorted(WRITE_WAYS))
def test_write_needs_read_and_write_like_shmat(mnt, ipc, mode, uid, gid,
                                                where, way):
    seg = ipc.shm(size=4096, mode=0o600)
    seg.write(b'orig')
    seg.gid = GID
    seg.mode = mode
    path = kpath(mnt, seg.key) if where == 'key' else \
        mnt.p('sysv', 'id', str(seg.id))
    kernel = shmat_as(seg.key, False, uid=uid, gid=gid) if uid else 'OK'
    got = util.op_as(WRITE_WAYS[way] % path, uid=uid, gid=gid)
    assert got == kernel, (oct(mode), way, got, kernel)
    if kernel != 'OK':
        assert seg.read(4) == b'orig'
    r = util.shm_by_id(seg.id)
    assert (r['mode'], r['size']) == (mode, 4096)


# ------------------------------------------------------------------
# Times that never happened, chown refused
# ------------------------------------------------------------------

def test_ipcmk_segment_times_after_2000(mnt, ipc):
    shmid, key = util.ipcmk_shm(4096)
    ipc.add_shmid(shmid)
    k = util.shm_by_id(shmid)
    assert k['atime'] == 0 and k['dtime'] == 0     # never attached
    for path in (kpath(mnt, key), mnt.p('sysv', 'id', str(shmid))):
        st = os.stat(path)
        assert int(st.st_atime) == int(st.st_mtime) == int(st.st_ctime) \
            == k['ctime'], (path, st)
        for flag in ('-l', '-lu', '-lc'):
            out = util.run(['ls', flag, '--time-style=+%Y', path]).text
            year = int(out.split()[5])
            assert year >= 2000, out


@pytest.mark.parametrize('kind', ['sysv', 'sem'])
def test_owner_cannot_give_object_away(mnt, ipc, kind):
    """chown to another owner by a non-root owner: EPERM through the mount
    (the kernel's chown rule), though IPC_SET would allow it; nothing
    changes."""
    if kind == 'sysv':
        seg = ipc.shm(size=4096, mode=0o600)
        seg.uid = NOBODY
        path, table, key = kpath(mnt, seg.key), util.shm_by_key, seg.key
        twin = ipc.shm(size=4096, mode=0o600)
        twin.uid = NOBODY
        native = util.py('''
            import sysv_ipc
            m = sysv_ipc.SharedMemory(%d)
            m.uid = 4242
            print('OK')
            ''' % twin.key, uid=NOBODY).text.strip()
        assert native == 'OK' and util.shm_by_key(twin.key)['uid'] == 4242
    else:
        n = ipc.name('give')
        s = ipc.sem(name=n, value=0, mode=0o600)
        s.uid = NOBODY
        path, table, key = mnt.p('sem', n), util.sem_by_key, s.key
    assert util.op_as('os.chown(%r, 4242, -1)' % path) == 'EPERM'
    res = util.run(['chown', '4242', path], uid=NOBODY, rc='nonzero')
    assert 'Operation not permitted' in res.err
    assert table(key)['uid'] == NOBODY
    # giving it to oneself (no change) is fine
    assert util.op_as('os.chown(%r, %d, -1)' % (path, NOBODY)) == 'OK'
