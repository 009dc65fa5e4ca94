"""Metadata as read-only extended attributes (user.ipc.*)."""

import errno
import os

import pytest

import util

SHM_ATTRS = {'key', 'shmid', 'nattch', 'cpid', 'lpid', 'cuid', 'cgid'}
SEM_ATTRS = {'key', 'semid', 'ncnt', 'zcnt', 'pid'}


def getfattr(path):
    """`getfattr -d` as a dict name -> value (text)."""
    res = util.run(['getfattr', '-d', '--absolute-names', path])
    attrs = {}
    for line in res.text.splitlines():
        if not line or line.startswith('#'):
            continue
        name, _, val = line.partition('=')
        assert val.startswith('"') and val.endswith('"'), line
        attrs[name] = val[1:-1]
    return attrs


def os_xattrs(path):
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}


VOLATILE = {'user.ipc.nattch', 'user.ipc.lpid', 'user.ipc.ncnt',
            'user.ipc.zcnt', 'user.ipc.pid'}


def stable_xattrs(path):
    """The attributes other programs cannot change by merely using the
    object (they may attach or operate on it while the test runs)."""
    return {n: v for n, v in os_xattrs(path).items() if n not in VOLATILE}


def test_segment_xattrs(mnt, ipc):
    seg = ipc.shm(size=4096)
    # a second process attaches and detaches: lpid is its pid
    res = util.py('''
        import os, sysv_ipc
        m = sysv_ipc.attach(%d)
        m.detach()
        print(os.getpid())
    ''' % seg.id)
    child = int(res.text)
    seg.uid = util.NOBODY          # owner changes, creator does not
    k = util.shm_by_id(seg.id)
    assert k['lpid'] == child and k['cpid'] == os.getpid()
    want = {'key': util.keyname(seg.key), 'shmid': str(seg.id),
            'nattch': '1', 'cpid': str(os.getpid()), 'lpid': str(child),
            'cuid': '0', 'cgid': '0'}
    for path in (mnt.p('sysv', util.keyname(seg.key)),
                 mnt.p('sysv', 'id', str(seg.id))):
        attrs = getfattr(path)
        assert attrs == {'user.ipc.' + a: v for a, v in want.items()}, path
        assert os_xattrs(path) == attrs
        assert set(a[len('user.ipc.'):] for a in attrs) == SHM_ATTRS


def test_segment_nattch_xattr_follows(mnt, ipc):
    shmid, key = util.ipcmk_shm(4096)
    ipc.add_shmid(shmid)
    path = mnt.p('sysv', util.keyname(key))
    assert os.getxattr(path, 'user.ipc.nattch') == b'0'
    m = ipc.attach(shmid=shmid)
    assert os.getxattr(path, 'user.ipc.nattch') == b'1'
    m.detach()
    assert os.getxattr(path, 'user.ipc.nattch') == b'0'
    assert os.getxattr(path, 'user.ipc.cpid') == \
        str(util.shm_by_id(shmid)['cpid']).encode()


def test_private_segment_key_xattr(mnt, ipc):
    seg = ipc.shm(size=4096, private=True)
    path = mnt.p('sysv', 'id', str(seg.id))
    assert os.getxattr(path, 'user.ipc.key') == b'0x00000000'
    assert os.getxattr(path, 'user.ipc.shmid') == str(seg.id).encode()


def test_created_segment_creator_is_caller_visible(mnt, ipc):
    """A segment made through the mount: cuid/cgid as the kernel says."""
    k = ipc.key()
    util.run(['touch', mnt.p('sysv', util.keyname(k))], uid=util.NOBODY)
    r = util.shm_by_key(k)
    attrs = getfattr(mnt.p('sysv', util.keyname(k)))
    assert attrs['user.ipc.cuid'] == str(r['cuid'])
    assert attrs['user.ipc.cgid'] == str(r['cgid'])
    assert attrs['user.ipc.cpid'] == str(r['cpid'])


def test_semaphore_xattrs(mnt, ipc, procs):
    n = ipc.name()
    s = ipc.sem(name=n, value=1)
    res = util.py('''
        import os, sysv_ipc
        s = sysv_ipc.Semaphore(%d)
        s.release()
        print(os.getpid())
    ''' % s.key)
    poster = int(res.text)
    assert s.value == 2
    # one process waiting for the value to grow, one for zero
    procs.py('''
        import sysv_ipc
        sysv_ipc.Semaphore(%d).acquire(delta=3)
    ''' % s.key)
    procs.py('''
        import sysv_ipc
        sysv_ipc.Semaphore(%d).Z()
    ''' % s.key)
    util.wait_until(lambda: s.waiting_for_nonzero == 1 and
                    s.waiting_for_zero == 1, what='ncnt 1 and zcnt 1')
    want = {'key': util.keyname(s.key), 'semid': str(s.id), 'ncnt': '1',
            'zcnt': '1', 'pid': str(poster)}
    for path in (mnt.p('sem', n), mnt.p('sem', util.keyname(s.key))):
        attrs = getfattr(path)
        assert attrs == {'user.ipc.' + a: v for a, v in want.items()}, path
        assert os_xattrs(path) == attrs
        assert set(a[len('user.ipc.'):] for a in attrs) == SEM_ATTRS


def test_semaphore_ncnt_via_ipcfs_waiter(mnt, ipc, procs):
    n = ipc.name()
    s = ipc.sem(name=n, value=0)
    p = mnt.p('sem', n)
    assert os.getxattr(p, 'user.ipc.ncnt') == b'0'
    w = procs.sh('echo wait > %s' % p)
    util.wait_until(lambda: os.getxattr(p, 'user.ipc.ncnt') == b'1',
                    what='ncnt xattr 1')
    s.release()
    assert w.wait(timeout=util.PROMPT) == 0
    assert os.getxattr(p, 'user.ipc.ncnt') == b'0'
    # the daemon did the last operation (the wait)
    assert s.last_pid == mnt.pid
    assert os.getxattr(p, 'user.ipc.pid') == str(mnt.pid).encode()


def test_unknown_xattr_enodata(mnt, ipc):
    seg = ipc.shm(size=4096)
    util.expect_errno(errno.ENODATA, os.getxattr,
                      mnt.p('sysv', util.keyname(seg.key)), 'user.ipc.nope')
    n = ipc.name()
    ipc.sem(name=n)
    util.expect_errno(errno.ENODATA, os.getxattr, mnt.p('sem', n),
                      'user.other')


@pytest.mark.parametrize('name', ['security.selinux',
                                  'system.posix_acl_access',
                                  'trusted.x'])
def test_other_namespaces_enotsup(mnt, ipc, name):
    # only user.* exists; ENOTSUP also tells ls -l that there are no ACLs
    # or labels on this file system, so it stops asking for each file
    seg = ipc.shm(size=4096)
    util.expect_errno(errno.ENOTSUP, os.getxattr,
                      mnt.p('sysv', util.keyname(seg.key)), name)
    util.expect_errno(errno.ENOTSUP, os.getxattr, mnt.sysv, name)


def _objects(mnt, ipc):
    seg = ipc.shm(size=4096)
    n = ipc.name()
    ipc.sem(name=n, value=0)
    pn = ipc.name()
    util.run(['touch', mnt.p('posix', pn)])
    return [mnt.p('sysv', util.keyname(seg.key)),
            mnt.p('sysv', 'id', str(seg.id)), mnt.p('sem', n),
            mnt.p('posix', pn)]


def test_setxattr_refused(mnt, ipc):
    for path in _objects(mnt, ipc):
        before = stable_xattrs(path)
        for name in ('user.ipc.key', 'user.ipc.nattch', 'user.ipc.ncnt',
                     'user.new'):
            util.expect_errno((errno.ENOTSUP, errno.EPERM), os.setxattr,
                              path, name, b'0x1')
        assert stable_xattrs(path) == before
        res = util.run(['setfattr', '-n', 'user.ipc.key', '-v', '7', path],
                       rc='nonzero')
        assert ('Operation not supported' in res.err or
                'Operation not permitted' in res.err), res.err


def test_removexattr_refused(mnt, ipc):
    for path in _objects(mnt, ipc):
        names = os.listxattr(path)
        before = stable_xattrs(path)
        for name in names:
            util.expect_errno((errno.ENOTSUP, errno.EPERM), os.removexattr,
                              path, name)
        assert stable_xattrs(path) == before
        assert sorted(os.listxattr(path)) == sorted(names)
        if names:
            util.run(['setfattr', '-x', sorted(names)[0], path],
                     rc='nonzero')


def test_getfattr_on_folders(mnt):
    for d in (mnt.path, mnt.sysv, mnt.ids, mnt.posix, mnt.sem):
        util.run(['getfattr', '-d', d])
