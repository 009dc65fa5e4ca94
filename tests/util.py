"""Helpers shared by the ipcfs black-box tests.

Everything here talks to the system the way a user would: running
programs, calling os.* for exact errnos, and reading the kernel's own view
of IPC objects (/proc/sysvipc, ipcs, sysv_ipc) to compare against what the
mount shows.
"""

import errno
import os
import random
import signal
import subprocess
import textwrap
import time

import sysv_ipc

PYTHON = '/usr/bin/python3'
NOBODY = 65534
NOGROUP = 65534
# A second group the tests chgrp objects to ("users" on Debian); any gid
# works because setpriv does not need the group to exist.
OTHER_GID = 100
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
SEM_VALUE_MAX = 32767
NAME_MAX = 251

# The folders at the root of a mount, as `ls` sorts them: a new kind of
# object adds its folder here (and nowhere else in the tests).
ROOT_FOLDERS = ['posix', 'posix-mq', 'posix-sem', 'sem', 'sysv', 'sysv-msg',
                'sysv-sem']

# "promptly" in the contract; never assert anything tighter.
PROMPT = 5.0

SANITIZER_MARKERS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:')


# ------------------------------------------------------------------
# Running programs
# ------------------------------------------------------------------

class Result:
    def __init__(self, cmd, rc, out, err):
        self.cmd = cmd
        self.rc = rc
        self.out = out        # bytes
        self.err = err        # text

    @property
    def text(self):
        return self.out.decode(errors='replace')

    def __repr__(self):
        return 'Result(cmd=%r, rc=%r, out=%r, err=%r)' % (
            self.cmd, self.rc, self.out[:200], self.err[:500])


def as_user(cmd, uid=NOBODY, gid=NOGROUP):
    """Prefixes cmd so that it runs as uid/gid with no supplementary groups."""
    return ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
            '--clear-groups'] + list(cmd)


def run(cmd, rc=0, input=None, uid=None, gid=None, timeout=30, env=None):
    """Runs cmd (a list) and checks its exit status.

    rc: the expected exit status, 'nonzero' for any failure, or None for
    no check.  uid/gid: run as that user (gid defaults to nogroup).
    """
    cmd = list(cmd)
    if uid is not None:
        cmd = as_user(cmd, uid, NOGROUP if gid is None else gid)
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd='/',
                       env=env)
    res = Result(cmd, p.returncode, p.stdout,
                 p.stderr.decode(errors='replace'))
    if rc == 'nonzero':
        assert res.rc != 0, res
    elif rc is not None:
        assert res.rc == rc, res
    return res


def sh(script, rc=0, **kw):
    """Runs a POSIX shell script (dash), like a user at a prompt."""
    return run(['sh', '-c', script], rc=rc, **kw)


def py(code, rc=0, **kw):
    """Runs a Python snippet in a fresh /usr/bin/python3."""
    return run([PYTHON, '-c', textwrap.dedent(code)], rc=rc, **kw)


_OP_TEMPLATE = '''\
import errno, os, sys
try:
%s
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(0)
print('OK')
'''


def op_as(stmts, uid=NOBODY, gid=NOGROUP, timeout=30):
    """Runs Python statements as another user.

    Returns 'OK' if they completed, else the errno name of the OSError
    they raised (e.g. 'EACCES').
    """
    body = textwrap.indent(textwrap.dedent(stmts).strip('\n'), '    ')
    res = run([PYTHON, '-c', _OP_TEMPLATE % body], uid=uid, gid=gid,
              timeout=timeout)
    return res.text.strip().splitlines()[-1]


def errno_of(func, *args, **kw):
    """Calls func; returns None on success, else the OSError's errno."""
    try:
        func(*args, **kw)
    except OSError as e:
        return e.errno
    return None


def expect_errno(expected, func, *args, **kw):
    """Asserts that func(*args) fails with one of the expected errnos."""
    if isinstance(expected, int):
        expected = (expected,)
    try:
        func(*args, **kw)
    except OSError as e:
        assert e.errno in expected, '%s%r: got %s, want %s' % (
            getattr(func, '__name__', func), args,
            errno.errorcode.get(e.errno, e.errno),
            '/'.join(errno.errorcode[x] for x in expected))
        return e.errno
    raise AssertionError('%s%r succeeded, want %s' % (
        getattr(func, '__name__', func), args,
        '/'.join(errno.errorcode[x] for x in expected)))


def wait_until(pred, timeout=PROMPT, interval=0.02, what='condition'):
    """Polls pred() until it is true; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1f s waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def pread_all(fd, size, off=0):
    """Reads size bytes at off through fd, looping over short reads."""
    out = b''
    while len(out) < size:
        b = os.pread(fd, size - len(out), off + len(out))
        if not b:
            break
        out += b
    return out


# ------------------------------------------------------------------
# Keys and names
# ------------------------------------------------------------------

def fnv1a32(data):
    h = 0x811c9dc5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xffffffff
    return h


def signed32(k):
    k &= 0xffffffff
    return k - (1 << 32) if k >= (1 << 31) else k


def sem_key(name):
    """The SysV key of sem/<name>: fnv1a32("/" name), signed."""
    if isinstance(name, str):
        name = name.encode()
    return signed32(fnv1a32(b'/' + name))


def keyname(key):
    """The canonical file name of a key, as ipcs prints it."""
    return '0x%08x' % (key & 0xffffffff)


def kpath(mnt, key, folder='sysv'):
    """The path of a key's file in a mount's folder."""
    return mnt.p(folder, keyname(key))


_used_keys = set()
_name_counter = [0]
_RUN_TAG = '%x%04x' % (os.getpid(), random.getrandbits(16))


def _live_keys():
    return ({s['key'] for s in shm_table()} |
            {s['key'] for s in sem_table()} |
            {s['key'] for s in msg_table()})


def random_key():
    """A random positive SysV key used by no shm segment or semaphore set."""
    live = _live_keys()
    while True:
        k = random.randint(0x10000000, 0x7ffffff0)
        if k not in live and k not in _used_keys:
            _used_keys.add(k)
            return k


def unique_name(prefix='t'):
    """A POSIX shm / semaphore name nobody else uses."""
    _name_counter[0] += 1
    while True:
        n = 'ipcfs-%s-%s-%d-%04x' % (prefix, _RUN_TAG, _name_counter[0],
                                     random.getrandbits(16))
        k = sem_key(n)
        if (not os.path.exists('/dev/shm/' + n) and k not in _live_keys()
                and k != 0):
            return n


# ------------------------------------------------------------------
# The kernel's view of SysV objects
# ------------------------------------------------------------------

_SHM_FIELDS = ('key', 'shmid', 'perms', 'size', 'cpid', 'lpid', 'nattch',
               'uid', 'gid', 'cuid', 'cgid', 'atime', 'dtime', 'ctime')
_SEM_FIELDS = ('key', 'semid', 'perms', 'nsems', 'uid', 'gid', 'cuid',
               'cgid', 'otime', 'ctime')


def _table(path, fields):
    rows = []
    with open(path) as f:
        f.readline()
        for line in f:
            parts = line.split()
            if not parts:
                continue
            row = {}
            for name, val in zip(fields, parts):
                row[name] = int(val, 8) if name == 'perms' else int(val)
            row['mode'] = row['perms'] & 0o777
            rows.append(row)
    return rows


def shm_table():
    """Every segment as the kernel reports it (IPC_STAT fields)."""
    rows = _table('/proc/sysvipc/shm', _SHM_FIELDS)
    for r in rows:
        r['dest'] = bool(r['perms'] & 0o1000)
    return rows


def sem_table():
    return _table('/proc/sysvipc/sem', _SEM_FIELDS)


def shm_by_id(shmid):
    for r in shm_table():
        if r['shmid'] == shmid:
            return r
    return None


def shm_by_key(key):
    """The live (not removed) segment with this key, or None."""
    for r in shm_table():
        if r['key'] == key and not r['dest']:
            return r
    return None


def sem_by_key(key):
    for r in sem_table():
        if r['key'] == key:
            return r
    return None


def sem_by_id(semid):
    for r in sem_table():
        if r['semid'] == semid:
            return r
    return None


def ipcs_shm_row(shmid):
    """The `ipcs -m` line of a segment as a dict of its columns."""
    out = run(['ipcs', '-m']).text
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 6 and p[1] == str(shmid):
            return {'key': p[0], 'shmid': int(p[1]), 'owner': p[2],
                    'perms': p[3], 'bytes': int(p[4]), 'nattch': int(p[5]),
                    'status': ' '.join(p[6:])}
    return None


def ipcs_sem_row(semid):
    out = run(['ipcs', '-s']).text
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 5 and p[1] == str(semid):
            return {'key': p[0], 'semid': int(p[1]), 'owner': p[2],
                    'perms': p[3], 'nsems': int(p[4])}
    return None


def nattch(shmid):
    r = shm_by_id(shmid)
    return None if r is None else r['nattch']


def ipcmk_shm(size, mode=None):
    """Creates a segment with ipcmk; returns (shmid, key)."""
    cmd = ['ipcmk', '-M', str(size)]
    if mode is not None:
        cmd += ['-p', '%o' % mode]
    out = run(cmd).text
    shmid = int(out.strip().split(':')[-1])
    return shmid, shm_by_id(shmid)['key']


def daemon_sysv_maps(pid):
    """Permissions of every SysV segment mapping in process pid, by key.

    /proc/PID/maps names them /SYSV%08x; the permission column tells a
    SHM_RDONLY attachment (r--s) from a read-write one (rw-s).
    """
    maps = []
    try:
        with open('/proc/%d/maps' % pid) as f:
            for line in f:
                p = line.split()
                if len(p) >= 6 and p[5].startswith('/SYSV'):
                    maps.append((p[5][5:13], p[1]))
    except FileNotFoundError:
        pass
    return maps


def daemon_shm_fds(pid):
    """Open files of process pid that live in /dev/shm."""
    fds = []
    d = '/proc/%d/fd' % pid
    try:
        for fd in os.listdir(d):
            try:
                t = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            if t.startswith('/dev/shm/'):
                fds.append(t)
    except FileNotFoundError:
        pass
    return fds


# ------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------

def kill_tree(proc, sig=signal.SIGKILL):
    """Signals the process group a test process was started in."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def proc_state(pid):
    """One-letter state of a process (R, S, D, Z...), or None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
    except FileNotFoundError:
        return None
    return s[s.rindex(')') + 2]


def sem_value(key):
    return sysv_ipc.Semaphore(key).value


def sem_ncnt(key):
    return sysv_ipc.Semaphore(key).waiting_for_nonzero


# ------------------------------------------------------------------
# Message queues: System V (/proc/sysvipc/msg, sysv_ipc) and POSIX
# (ctypes on libc's mq_* calls; no mqueue filesystem is mounted here)
# ------------------------------------------------------------------

_MSG_FIELDS = ('key', 'msqid', 'perms', 'cbytes', 'qnum', 'lspid', 'lrpid',
               'uid', 'gid', 'cuid', 'cgid', 'stime', 'rtime', 'ctime')

# syscall numbers (x86_64) a daemon thread sits in while a stream blocks
SYS_MSGSND, SYS_MSGRCV = 69, 70
SYS_MQ_TIMEDSEND, SYS_MQ_TIMEDRECEIVE = 242, 243
MQ_NAME_MAX = 255


def msg_table():
    """Every SysV message queue as the kernel reports it."""
    return _table('/proc/sysvipc/msg', _MSG_FIELDS)


def msg_by_id(msqid):
    for r in msg_table():
        if r['msqid'] == msqid:
            return r
    return None


def msg_by_key(key):
    for r in msg_table():
        if r['key'] == key:
            return r
    return None


def ipcs_msg_row(msqid):
    """The `ipcs -q` line of a queue as a dict of its columns."""
    for line in run(['ipcs', '-q']).text.splitlines():
        p = line.split()
        if len(p) >= 6 and p[1] == str(msqid):
            return {'key': p[0], 'msqid': int(p[1]), 'owner': p[2],
                    'perms': p[3], 'bytes': int(p[4]), 'messages': int(p[5])}
    return None


def daemon_in_syscall(pid, nrs):
    """How many threads of process pid are in one of the syscalls nrs."""
    n = 0
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except FileNotFoundError:
        return 0
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/syscall' % (pid, tid)) as f:
                first = f.read().split(' ', 1)[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if first.isdigit() and int(first) in nrs:
            n += 1
    return n


def unique_mq_name(prefix='q'):
    """A POSIX message queue name nobody uses (no leading '/')."""
    _name_counter[0] += 1
    while True:
        n = 'ipcfs-%s-%s-%d-%04x' % (prefix, _RUN_TAG, _name_counter[0],
                                     random.getrandbits(16))
        if mq_exists(n) is False:
            return n


_libc = None


def libc():
    global _libc
    if _libc is None:
        import ctypes
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def mq_unlink(name):
    """mq_unlink("/" name): None, or the errno."""
    import ctypes
    if libc().mq_unlink(('/' + name).encode()) == 0:
        return None
    return ctypes.get_errno()


def mq_exists(name):
    """True, False, or None when it cannot be told (another errno)."""
    import ctypes
    fd = libc().mq_open(('/' + name).encode(), os.O_RDONLY)
    if fd >= 0:
        os.close(fd)
        return True
    e = ctypes.get_errno()
    if e == errno.ENOENT:
        return False
    return True if e == errno.EACCES else None


def mq_list():
    """Names of every POSIX queue: an mqueue mount in a private mount
    namespace (same IPC namespace), listed and gone with it."""
    import tempfile
    d = tempfile.mkdtemp(prefix='ipcfs-mqls-', dir='/tmp')
    try:
        out = run(['unshare', '--mount', '--propagation', 'private', 'sh',
                   '-c', 'mount -t mqueue mqueue %s && ls -1A %s' % (d, d)],
                  timeout=30).text
    finally:
        os.rmdir(d)
    return sorted(out.split())


# One read(2) or write(2) through the mount, by a process of its own.

# A process that opens a path, then makes ONE read(2) or write(2) of its
# own (ctypes: Python neither retries after EINTR nor reads in a loop) and
# prints what it returned.  argv: path, read size or hex data, open flags,
# whether it survives SIGINT / SIGTERM.
ONE_CALL = r'''
import ctypes, errno, os, signal, sys
path, arg, flags, survive = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4] == '1'
if survive:
    signal.signal(signal.SIGINT, lambda *a: None)
    signal.signal(signal.SIGTERM, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
write = arg.startswith('w:')
fd = os.open(path, (os.O_WRONLY if write else os.O_RDONLY) | flags)
print('open', flush=True)
if write:
    data = bytes.fromhex(arg[2:])
    r = libc.write(fd, data, len(data))
else:
    buf = ctypes.create_string_buffer(int(arg))
    r = libc.read(fd, buf, int(arg))
e = ctypes.get_errno()
if r < 0:
    print(errno.errorcode.get(e, str(e)), flush=True)
elif write:
    print('OK %d' % r, flush=True)
else:
    print('OK ' + buf.raw[:r].hex(), flush=True)
'''


def one_call(procs, path, arg, flags=0, survive=False, **kw):
    """Starts a process that opens path (once 'open' is printed) and
    makes one call: arg is a read size, or 'w:' + the hex bytes to
    write.  call_result() gives 'OK <hex or count>' or the errno name."""
    p = procs.spawn([PYTHON, '-c', ONE_CALL, path, str(arg), str(flags),
                     '1' if survive else '0'], **kw)
    assert p.stdout.readline() == b'open\n'
    return p


def call_result(p, timeout=PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip()


def wait_daemon_blocked(pid, n=1, nrs=(SYS_MSGRCV,), timeout=PROMPT):
    """Waits until n threads of daemon pid sit in one of the syscalls."""
    wait_until(lambda: daemon_in_syscall(pid, nrs) >= n, timeout=timeout,
               what='%d blocked call(s) in the daemon' % n)


def read_once(path, size=65536, flags=0):
    """One read(2) of a fresh open: the bytes, or the errno."""
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        return os.read(fd, size)
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def write_once(path, data, flags=0):
    """One write(2) of a fresh open: its count, or the errno."""
    fd = os.open(path, os.O_WRONLY | flags)
    try:
        return os.write(fd, data)
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def getfattr_d(path):
    """`getfattr -d` as a dict name -> value (text)."""
    res = run(['getfattr', '-d', '--absolute-names', path])
    attrs = {}
    for line in res.text.splitlines():
        if not line or line.startswith('#'):
            continue
        name, _, val = line.partition('=')
        assert val.startswith('"') and val.endswith('"'), line
        attrs[name] = val[1:-1]
    return attrs
# System V semaphore sets of any size, and POSIX named semaphores
# (sysv-sem/, posix-sem/): the kernel's and the C library's own calls
# ------------------------------------------------------------------

import ctypes  # noqa: E402

_libc = ctypes.CDLL(None, use_errno=True)
_libc.semget.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
_libc.semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_libc.sem_open.restype = ctypes.c_void_p
_libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                           ctypes.c_uint]
for _f in ('sem_post', 'sem_trywait', 'sem_close', 'sem_wait'):
    getattr(_libc, _f).argtypes = [ctypes.c_void_p]
_libc.sem_getvalue.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]

IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID = 0o1000, 0o2000, 0o4000, 0
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, \
    15, 16, 17
SEM_T_SIZE = 32         # sizeof(sem_t) of glibc on 64-bit Linux


class _Sembuf(ctypes.Structure):
    _fields_ = [('sem_num', ctypes.c_ushort), ('sem_op', ctypes.c_short),
                ('sem_flg', ctypes.c_short)]


def _check(r):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def semget(key, nsems=0, flags=0):
    return _check(_libc.semget(key, nsems, flags))


def semctl(semid, num, cmd, arg=0):
    if isinstance(arg, int):
        arg = ctypes.c_long(arg)
    return _check(_libc.semctl(semid, num, cmd, arg))


def semop(semid, ops, nowait=False):
    """ops: [(num, op), ...] as one semop, never SEM_UNDO."""
    arr = (_Sembuf * len(ops))(*[
        _Sembuf(n, o, IPC_NOWAIT if nowait else 0) for n, o in ops])
    return _check(_libc.semop(semid, ctypes.byref(arr), len(ops)))


def semset_values(semid):
    """GETALL of a set: its values in index order."""
    n = sem_by_id(semid)['nsems']
    arr = (ctypes.c_ushort * n)()
    _check(_libc.semctl(semid, 0, GETALL, arr))
    return list(arr)


def semset_setall(semid, values):
    arr = (ctypes.c_ushort * len(values))(*values)
    _check(_libc.semctl(semid, 0, SETALL, arr))


def semset_cnt(semid, num, cmd=GETNCNT):
    return semctl(semid, num, cmd)


def semset_text(semid):
    """What `cat sysv-sem/...` must print: one value per line."""
    return b''.join(b'%d\n' % v for v in semset_values(semid))


def psem_path(name):
    return '/dev/shm/sem.' + name


def psem_open(name, create=False, mode=0o600, value=0, excl=True):
    """sem_open("/name") of the C library; returns the sem_t pointer."""
    flags = (os.O_CREAT | (os.O_EXCL if excl else 0)) if create else 0
    p = _libc.sem_open(('/' + name).encode(), flags, mode, value)
    if p is None or p == ctypes.c_void_p(-1).value:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), '/' + name)
    return p


def psem_close(p):
    _libc.sem_close(p)


def psem_getvalue(p):
    v = ctypes.c_int()
    _check(_libc.sem_getvalue(p, ctypes.byref(v)))
    return v.value


def psem_post(p):
    _check(_libc.sem_post(p))


def psem_trywait(p):
    _check(_libc.sem_trywait(p))


def psem_value(name):
    """The value as sem_open + sem_getvalue see it."""
    p = psem_open(name)
    try:
        return psem_getvalue(p)
    finally:
        psem_close(p)


def build_c(source, directory, name):
    """Compiles C source into directory/name (mode 0755); returns the path."""
    src = os.path.join(directory, name + '.c')
    exe = os.path.join(directory, name)
    with open(src, 'w') as f:
        f.write(textwrap.dedent(source))
    run(['cc', '-O1', '-Wall', '-Werror', '-o', exe, src, '-lpthread'])
    os.chmod(exe, 0o755)
    return exe
# FUSE passthrough and mmap (issue 12)
# ------------------------------------------------------------------

def build_option(build, name):
    """The value of meson option name in build folder build."""
    import json
    with open(os.path.join(build, 'meson-info',
                           'intro-buildoptions.json')) as f:
        for o in json.load(f):
            if o['name'] == name:
                return o['value']
    return None


def kernel_at_least(major, minor):
    rel = os.uname().release.split('-')[0].split('.')
    return (int(rel[0]), int(rel[1])) >= (major, minor)


def mount_fd(source, target, fstype, data):
    """mount(2) as this process (root): for a FUSE mount whose /dev/fuse fd
    is handed to a daemon that could not mount by itself."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong,
                                                   ctypes.c_char_p]
    if libc.mount(source.encode(), target.encode(), fstype.encode(), 0,
                  data.encode()) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), target)


def sysv_map_sizes(pid, key):
    """Sizes of process pid's mappings of SysV key (/proc/PID/maps)."""
    sizes = []
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and p[5] == '/SYSV%08x' % (key & 0xffffffff):
                lo, hi = (int(x, 16) for x in p[0].split('-'))
                sizes.append(hi - lo)
    return sizes


def mmap_errno(fd, length, flags=None, prot=None):
    """errno of mmap(MAP_SHARED) of fd, or None if it mapped (unmapped at
    once)."""
    import mmap
    kw = {'flags': mmap.MAP_SHARED if flags is None else flags}
    if prot is not None:
        kw['prot'] = prot
    try:
        m = mmap.mmap(fd, length, **kw)
    except OSError as e:
        return e.errno
    m.close()
    return None
