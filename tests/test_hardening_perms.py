"""Hardening: the permission matrix, as other users, against the kernel.

For every kind of object (sysv, posix, sem), every mode in MODES and every
caller (the owner, a member of the object's group, anybody else, and for
SysV objects their creator), a process running as that user tries each
operation twice: through the mount, and directly on an identical twin
object with the kernel's own calls (shmat / shmctl, semop / semctl, open /
chmod / unlink of /dev/shm/<name>).  The two must give the same result
(the same errno name).  For the creator of a SysV object who is not its
owner the mount may be stricter (a file shows one owner, so the kernel's
checks treat the creator as "other", and the sticky directory and
chown(2) rules apply before ipcfs sees the call), never more permissive.

Writing a SysV segment through the mount (write, truncate, O_TRUNC,
through sysv/ and sysv/id/ alike) is compared with what the kernel lets
the same user write: shmat() without SHM_RDONLY, which needs read AND
write permission (the owner's or creator's bits, then the group's or
creator group's, then the others').  Modes 0602, 0620 and 0606 are where
a rule that only looks at the w bit would allow more than the kernel.
"""

import json
import os
import subprocess

import pytest
import sysv_ipc

import util
from test_hardening_lib import CREATOR, GROUP, OWNER, record

MODES = [0o000, 0o400, 0o200, 0o600, 0o040, 0o020, 0o060, 0o004, 0o002,
         0o006, 0o640, 0o604, 0o666, 0o066, 0o460, 0o406,
         # write bit without read in the caller's class, read elsewhere
         0o602, 0o620, 0o606]

# The group the creator runs in: the objects' cgid.
CREATOR_GID = 4040

CALLERS = {
    # name: (uid, gid, who made the objects)
    'owner': (OWNER, util.NOGROUP, 'root'),
    'group': (util.NOBODY, GROUP, 'root'),
    'other': (util.NOBODY, util.NOGROUP, 'root'),
    # SysV only: the kernel gives the creator the owner's bits and members
    # of the creator's group the group bits.
    'creator': (CREATOR, util.NOGROUP, 'creator'),
    'creator-group': (util.NOBODY, CREATOR_GID, 'creator'),
}

OPS = ('read', 'write', 'trunc', 'otrunc', 'write-id', 'trunc-id',
       'otrunc-id', 'rdwr', 'xattr', 'chmod', 'chown', 'rm')
# Which operations apply to which kind (sysv/id/ is SysV's alone; what a
# truncate of a semaphore file means is not a permission question).
KIND_OPS = {
    'sysv': OPS,
    'posix': tuple(op for op in OPS if not op.endswith('-id')),
    'sem': tuple(op for op in OPS if 'trunc' not in op and
                 not op.endswith('-id')),
}
WRITE_OPS = ('write', 'trunc', 'otrunc', 'write-id', 'trunc-id',
             'otrunc-id', 'rdwr')
# Operations after which the twin may have changed hands or gone: last.
ADMIN_OPS = ('chmod', 'chown', 'rm')

# Runs as the caller: reads the cases as JSON on stdin, prints results.
CALLER = r'''
import ctypes, errno, json, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                        ctypes.c_void_p]
libc.semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
IPC_RMID, IPC_SET, IPC_STAT, GETVAL = 0, 1, 2, 12
WRITE_OPS = @WRITE_OPS@
SHM_RDONLY, IPC_NOWAIT = 0o10000, 0o4000
FAILED = ctypes.c_void_p(-1).value


class Fail(Exception):
    pass


def check(rc):
    if rc == -1 or rc == FAILED:
        raise OSError(ctypes.get_errno(), 'native call failed')
    return rc


def perm(uid, gid, mode):
    # glibc struct ipc_perm (first in shmid_ds / semid_ds): uid at 4,
    # gid at 8, mode at 20; the kernel reads nothing else for IPC_SET.
    buf = ctypes.create_string_buffer(256)
    struct.pack_into('=I', buf, 4, uid)
    struct.pack_into('=I', buf, 8, gid)
    struct.pack_into('=I', buf, 20, mode)
    return buf


def shmat(shmid, flags):
    addr = check(libc.shmat(shmid, None, flags))
    libc.shmdt(addr)


def semop(semid, op):
    sb = struct.pack('=Hhh', 0, op, IPC_NOWAIT)
    buf = ctypes.create_string_buffer(sb, len(sb))
    check(libc.semop(semid, buf, 1))


def open_io(path, flags, data=None):
    fd = os.open(path, flags)
    try:
        if data is None:
            os.read(fd, 64)
        else:
            os.write(fd, data)
    finally:
        os.close(fd)


def native(c, op, me):
    k, o = c['kind'], c['native']
    if k == 'posix':
        return mount_like(o, op, me, b'x', 'user.ipc.key', c)
    if k == 'sysv' and op in WRITE_OPS:
        # what the kernel lets this user write: a writable attach, which
        # needs read and write (creator as owner, creator's group too)
        return shmat(o, 0)
    if op == 'rdwr' and k == 'sem':
        native(c, 'read', me)
        return native(c, 'write', me)
    if k == 'sysv':
        i = o
        if op == 'read':
            return shmat(i, SHM_RDONLY)
        if op == 'xattr':
            return check(libc.shmctl(i, IPC_STAT, ctypes.create_string_buffer(256)))
        if op == 'chmod':
            return check(libc.shmctl(i, IPC_SET, perm(c['uid'], c['gid'], c['mode'])))
        if op == 'chown':
            return check(libc.shmctl(i, IPC_SET, perm(me['uid'], c['gid'], c['mode'])))
        if op == 'rm':
            return check(libc.shmctl(i, IPC_RMID, None))
    if k == 'sem':
        i = o
        if op == 'read':
            return check(libc.semctl(i, 0, GETVAL, None))
        if op == 'write':
            return semop(i, 1)
        if op == 'xattr':
            return check(libc.semctl(i, 0, IPC_STAT, ctypes.create_string_buffer(256)))
        if op == 'chmod':
            return check(libc.semctl(i, 0, IPC_SET, perm(c['uid'], c['gid'], c['mode'])))
        if op == 'chown':
            return check(libc.semctl(i, 0, IPC_SET, perm(me['uid'], c['gid'], c['mode'])))
        if op == 'rm':
            return check(libc.semctl(i, 0, IPC_RMID, None))
    raise AssertionError((k, op))


def mount_like(path, op, me, data, xattr, c):
    if op.endswith('-id'):
        path, op = c['mount_id'], op[:-3]
    if op == 'read':
        return open_io(path, os.O_RDONLY)
    if op == 'write':
        return open_io(path, os.O_WRONLY, data)
    if op == 'trunc':
        return os.truncate(path, 0)
    if op == 'otrunc':
        return os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
    if op == 'rdwr':
        return os.close(os.open(path, os.O_RDWR))
    if op == 'xattr':
        try:
            os.getxattr(path, xattr)
        except OSError as e:
            if e.errno != errno.ENODATA:
                raise
        return
    if op == 'chmod':
        return os.chmod(path, c['mode'])
    if op == 'chown':
        return os.chown(path, me['uid'], -1)
    if op == 'rm':
        return os.unlink(path)
    raise AssertionError(op)


def mounted(c, op, me):
    data = b'post\n' if c['kind'] == 'sem' else b'x'
    xattr = {'sysv': 'user.ipc.shmid', 'sem': 'user.ipc.semid',
             'posix': 'user.ipc.key'}[c['kind']]
    return mount_like(c['mount'], op, me, data, xattr, c)


def outcome(f, *args):
    try:
        f(*args)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return 'OK'


me = {'uid': os.getuid(), 'gid': os.getgid()}
out = []
for c in json.load(sys.stdin):
    res = {'native': {}, 'mount': {}}
    for op in c['ops']:
        res['native'][op] = outcome(native, c, op, me)
        res['mount'][op] = outcome(mounted, c, op, me)
    out.append(res)
print(json.dumps(out))
'''


def run_as(caller, cases):
    uid, gid, _ = CALLERS[caller]
    res = util.run([util.PYTHON, '-c', CALLER.replace('@WRITE_OPS@', repr(WRITE_OPS))], uid=uid,
                   gid=gid,
                   input=json.dumps(cases).encode(), timeout=120)
    return json.loads(res.text)


# ------------------------------------------------------------------
# Twins: two identical objects per (mode, caller), one for each side
# ------------------------------------------------------------------

def make_sysv(ipc, mnt, mode, creator):
    """A segment owned by OWNER:GROUP with `mode`, made by `creator`."""
    key = ipc.key()
    if creator == 'root':
        m = ipc.shm(size=util.PAGE_SIZE, mode=0o600, key=key)
        m.detach()
        shmid = m.id
    else:
        out = util.py('''
            import sysv_ipc
            m = sysv_ipc.SharedMemory(%d, sysv_ipc.IPC_CREX, mode=0o600,
                                      size=%d)
            m.detach()
            print(m.id)
            ''' % (key, util.PAGE_SIZE), uid=CREATOR, gid=CREATOR_GID).text
        shmid = ipc.add_shmid(int(out))
    m = sysv_ipc.SharedMemory(key)
    m.uid, m.gid, m.mode = OWNER, GROUP, mode
    m.detach()
    return shmid, os.path.join(mnt.sysv, util.keyname(key))


def make_sem(ipc, mnt, mode, creator):
    name = ipc.name('perm')
    key = util.sem_key(name)
    if creator == 'root':
        s = ipc.sem(value=0, mode=0o600, key=key)
        semid = s.id
    else:
        out = util.py('''
            import sysv_ipc
            s = sysv_ipc.Semaphore(%d, sysv_ipc.IPC_CREX, mode=0o600)
            s.release()     # a careful creator's first semop sets otime
            s.acquire()
            print(s.id)
            ''' % key, uid=CREATOR, gid=CREATOR_GID).text
        semid = ipc.add_semid(int(out))
    s = sysv_ipc.Semaphore(key)
    s.uid, s.gid, s.mode = OWNER, GROUP, mode
    return semid, os.path.join(mnt.sem, name)


def make_posix(ipc, mnt, mode, creator):
    name = ipc.name('perm')
    path = '/dev/shm/' + name
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, util.PAGE_SIZE)
        os.fchown(fd, OWNER, GROUP)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path, os.path.join(mnt.posix, name)


MAKERS = {'sysv': make_sysv, 'sem': make_sem, 'posix': make_posix}


def build_cases(ipc, mnt, kind, caller):
    cases = []
    creator = CALLERS[caller][2]
    for mode in MODES:
        native, _ = MAKERS[kind](ipc, mnt, mode, creator)
        mid, mounted = MAKERS[kind](ipc, mnt, mode, creator)
        cases.append({'kind': kind, 'mode': mode, 'uid': OWNER,
                      'gid': GROUP, 'native': native, 'mount': mounted,
                      'mount_id': (os.path.join(mnt.ids, str(mid))
                                   if kind == 'sysv' else None),
                      'cuid': CREATOR if creator == 'creator' else 0,
                      'cgid': CREATOR_GID if creator == 'creator' else 0,
                      'ops': list(KIND_OPS[kind])})
    return cases


def matrix_params():
    for kind in ('sysv', 'posix', 'sem'):
        for caller in CALLERS:
            if kind == 'posix' and CALLERS[caller][2] == 'creator':
                continue        # a file has no creator apart from its owner
            yield kind, caller


@pytest.mark.parametrize('kind,caller', list(matrix_params()))
def test_permission_matrix_matches_kernel(mnt, ipc, kind, caller):
    cases = build_cases(ipc, mnt, kind, caller)
    results = run_as(caller, cases)
    assert len(results) == len(cases)
    wrong = []
    ops = KIND_OPS[kind]
    seen = {op: set() for op in ops}
    for c, r in zip(cases, results):
        for op in ops:
            nat, got = r['native'][op], r['mount'][op]
            seen[op].add(got)
            if got == nat:
                continue
            if (caller.startswith('creator') and nat == 'OK'
                    and got in ('EPERM', 'EACCES')):
                # The mount shows the owner, not the creator: the kernel's
                # checks on the file treat the creator as "other".
                continue
            wrong.append('mode %04o %s: mount %s, kernel %s'
                         % (c['mode'], op, got, nat))
    record('permission cases', len(cases) * len(ops))
    assert not wrong, '%s as %s:\n  %s' % (kind, caller, '\n  '.join(wrong))
    # The matrix must exercise both answers where the modes allow both.
    for op in ops:
        if op in ADMIN_OPS:
            continue
        assert 'OK' in seen[op] and 'EACCES' in seen[op], (op, seen[op])
    if caller == 'owner':
        for op in ADMIN_OPS:
            assert seen[op] == {'OK'}, (op, seen[op])
    elif caller in ('group', 'other', 'creator-group'):
        for op in ADMIN_OPS:
            assert 'OK' not in seen[op], (op, seen[op])


@pytest.mark.parametrize('kind', ['sysv', 'posix', 'sem'])
def test_nobody_cannot_remove_or_change_root_objects(mnt, ipc, kind):
    """A 0666 root object: others may use it, never remove or chmod it."""
    if kind == 'sysv':
        m = ipc.shm(mode=0o666)
        m.detach()
        path = os.path.join(mnt.sysv, util.keyname(m.key))
        before = lambda: (util.shm_by_id(m.id)['mode'],        # noqa: E731
                          util.shm_by_id(m.id)['uid'])
    elif kind == 'sem':
        name = ipc.name('perm')
        s = ipc.sem(mode=0o666, name=name)
        path = os.path.join(mnt.sem, name)
        before = lambda: (util.sem_by_id(s.id)['mode'],        # noqa: E731
                          util.sem_by_id(s.id)['uid'])
    else:
        name = ipc.name('perm')
        fd = os.open('/dev/shm/' + name, os.O_RDWR | os.O_CREAT, 0o666)
        os.fchmod(fd, 0o666)
        os.close(fd)
        path = os.path.join(mnt.posix, name)
        st = lambda: os.stat('/dev/shm/' + name)                 # noqa: E731
        before = lambda: (st().st_mode & 0o7777, st().st_uid)    # noqa: E731
    state = before()
    got = [util.op_as('os.unlink(%r)' % path),
           util.op_as('os.chmod(%r, 0o777)' % path),
           util.op_as('os.chown(%r, %d, -1)' % (path, util.NOBODY)),
           util.op_as('os.chown(%r, -1, %d)' % (path, util.NOGROUP))]
    assert got == ['EPERM'] * 4
    assert before() == state
    # ... while using it is allowed (mode 0666)
    assert util.op_as('open(%r, "rb").read()' % path) == 'OK'
    record('permission cases', 5)


def test_second_user_in_user_namespace_gains_nothing(mnt, ipc):
    """Root inside a user namespace is still nobody to ipcfs."""
    if subprocess.run(util.as_user(['unshare', '--user', '--map-root-user',
                                    'true']),
                      stderr=subprocess.DEVNULL).returncode != 0:
        pytest.skip('unprivileged user namespaces are disabled')
    m = ipc.shm(mode=0o600)
    m.detach()
    name = ipc.name('ns')
    ipc.sem(mode=0o600, name=name)
    seg = os.path.join(mnt.sysv, util.keyname(m.key))
    sem = os.path.join(mnt.sem, name)
    script = '''
import errno, os
def t(f, *a):
    try:
        f(*a)
        return 'OK'
    except OSError as e:
        return errno.errorcode[e.errno]
print(os.getuid(), t(lambda: open(%r, 'rb').read()),
      t(lambda: open(%r, 'w').write('post')), t(os.unlink, %r),
      t(os.chmod, %r, 0o666), t(os.unlink, %r))
''' % (seg, sem, seg, sem, sem)
    out = util.run(util.as_user(['unshare', '--user', '--map-root-user',
                                 util.PYTHON, '-c', script])).text.split()
    # uid 0 inside the namespace, EACCES / EPERM from ipcfs's view of
    # uid 65534 outside it.
    assert out == ['0', 'EACCES', 'EACCES', 'EPERM', 'EPERM', 'EPERM'], out
    assert util.shm_by_id(m.id) is not None
    assert util.sem_by_key(util.sem_key(name)) is not None
    record('permission cases', 5)


def test_caller_in_other_ipc_namespace_is_still_checked(mnt, ipc):
    """A process in another IPC namespace sees the daemon's objects through
    the mount, under the same permission checks."""
    open_seg = ipc.shm(mode=0o644)
    open_seg.write(b'visible')
    open_seg.detach()
    closed = ipc.shm(mode=0o600)
    closed.detach()
    script = '''
import errno, os
def t(f):
    try:
        return repr(f())
    except OSError as e:
        return errno.errorcode[e.errno]
print(t(lambda: open(%r, 'rb').read(7)), t(lambda: open(%r, 'rb').read(1)),
      t(lambda: os.unlink(%r)))
''' % (os.path.join(mnt.sysv, util.keyname(open_seg.key)),
       os.path.join(mnt.sysv, util.keyname(closed.key)),
       os.path.join(mnt.sysv, util.keyname(open_seg.key)))
    out = util.run(['unshare', '--ipc'] + util.as_user(
        [util.PYTHON, '-c', script])).text.split()
    assert out == ["b'visible'", 'EACCES', 'EPERM'], out
    assert util.shm_by_id(open_seg.id) is not None
    record('permission cases', 3)
