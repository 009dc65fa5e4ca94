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
