"""pytest harness for the ipcfs black-box tests.

Every test gets its own freshly started daemon (`ipcfs -f -o allow_other
MNT`), which is always unmounted afterwards; its exit status must be 0 and
its stderr free of sanitizer reports.  Registries remove every IPC object
and process a test made, even when the test fails, and a session check
makes sure ipcs, /dev/shm and /proc/mounts end as they started.

Run: IPCFS_BUILD=<builddir> /usr/bin/python3 -m pytest -q tests
"""

import faulthandler
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
import sysv_ipc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import util  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('IPCFS_BUILD') or
                        os.path.join(TOP, 'build'))
DAEMON = os.path.join(BUILD, 'fs', 'ipcfs')

# Per-test limits: a soft one raising in the test, then a hard one that
# dumps every thread's stack and exits rather than hang a CI run for ever.
TEST_SOFT_TIMEOUT = 120
TEST_HARD_TIMEOUT = 240

# Every mount point the tests make lives in a tmp dir named like this.
MOUNT_PREFIXES = ('/tmp/ipcfs-test-', '/tmp/ipcfs-cli-')


def _mountinfo():
    """(mount point, fstype, source) of every mount."""
    out = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, right = line.split(' - ', 1)
            point = left.split()[4]
            point = point.encode().decode('unicode_escape')
            r = right.split()
            out.append((point, r[0], r[1] if len(r) > 1 else ''))
    return out


def is_mounted(path):
    return any(p == path for p, _, _ in _mountinfo())


def ipcfs_mounts():
    """ipcfs mounts made by these tests (others may mount their own)."""
    return sorted(p + ' ' + t for p, t, _ in _mountinfo()
                  if p.startswith(MOUNT_PREFIXES))


def check_environment():
    if not os.path.exists('/dev/fuse'):
        pytest.skip('/dev/fuse is missing')
    if os.geteuid() != 0:
        pytest.skip('the ipcfs tests need root (allow_other, second user)')
    if not os.access(DAEMON, os.X_OK):
        pytest.fail('daemon %s not built (set IPCFS_BUILD to the meson '
                    'build folder)' % DAEMON, pytrace=False)


# ------------------------------------------------------------------
# Mounting
# ------------------------------------------------------------------

class Mount:
    """One running daemon and its mount point."""

    def __init__(self, opts=(), args=(), foreground=True):
        self.opts = list(opts)
        self.args = list(args)
        self.foreground = foreground
        self.dir = tempfile.mkdtemp(prefix='ipcfs-test-', dir='/tmp')
        # The second user must reach the mount point.
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, 'mnt')
        SESSION['mounts'].add(self.path)
        os.mkdir(self.path)
        os.chmod(self.path, 0o755)
        self.errpath = os.path.join(self.dir, 'stderr')
        self.proc = None
        self.expect_rc = 0
        self.unmounted = False

    # paths inside the mount
    def p(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def sysv(self):
        return self.p('sysv')

    @property
    def ids(self):
        return self.p('sysv', 'id')

    @property
    def posix(self):
        return self.p('posix')

    @property
    def sem(self):
        return self.p('sem')

    @property
    def pid(self):
        return self.proc.pid

    def cmdline(self):
        opts = ','.join(['allow_other'] + self.opts)
        fg = ['-f'] if self.foreground else []
        return [DAEMON] + fg + ['-o', opts] + self.args + [self.path]

    def stderr(self):
        try:
            with open(self.errpath, 'rb') as f:
                return f.read().decode(errors='replace')
        except FileNotFoundError:
            return ''

    def start(self):
        with open(self.errpath, 'wb') as err:
            try:
                self.proc = subprocess.Popen(
                    self.cmdline(), stdin=subprocess.DEVNULL, stdout=err,
                    stderr=err, cwd='/', start_new_session=True)
            except OSError:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise
        deadline = time.monotonic() + 20
        while not is_mounted(self.path):
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    'ipcfs exited with status %d before mounting:\n%s'
                    % (rc, self.stderr()))
            if time.monotonic() > deadline:
                raise AssertionError('ipcfs did not mount within 20 s:\n%s'
                                     % self.stderr())
            time.sleep(0.01)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def held_resources(self):
        """Attachments and /dev/shm files the daemon still holds."""
        if not self.alive():
            return []
        return (['attached ' + k + ' ' + perm
                 for k, perm in util.daemon_sysv_maps(self.pid)] +
                ['open ' + f for f in util.daemon_shm_fds(self.pid)])

    def unmount(self):
        """Unmounts and waits for the daemon; returns a list of problems."""
        problems = []
        if self.proc is None:
            return problems
        # Every file is closed by now: the daemon must hold nothing.  The
        # kernel sends RELEASE after close() returns, so give it time.
        if self.alive() and is_mounted(self.path):
            deadline = time.monotonic() + util.PROMPT
            held = self.held_resources()
            while held and time.monotonic() < deadline:
                time.sleep(0.05)
                held = self.held_resources()
            if held:
                problems.append('daemon still holds after every file was '
                                'closed: %s' % ', '.join(held))
        if is_mounted(self.path):
            subprocess.run(['fusermount3', '-u', self.path],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30)
        if is_mounted(self.path):
            problems.append('fusermount3 -u did not unmount (busy?)')
            subprocess.run(['fusermount3', '-uz', self.path],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(timeout=20)
            problems.append('daemon did not exit within 20 s of unmount')
        self.unmounted = True
        if self.expect_rc is not None and rc != self.expect_rc:
            problems.append('daemon exit status %d, want %d'
                            % (rc, self.expect_rc))
        err = self.stderr()
        for marker in util.SANITIZER_MARKERS:
            if marker in err:
                problems.append('daemon stderr has "%s"' % marker)
        if problems:
            problems.append('daemon stderr:\n' + err[-20000:])
        if is_mounted(self.path):
            problems.append('%s is still mounted' % self.path)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems


@pytest.fixture
def mount_factory():
    """mount(opts=(), args=()) -> a started Mount; all unmounted at the end."""
    check_environment()
    mounts = []

    def mount(opts=(), args=(), foreground=True):
        m = Mount(opts, args, foreground)
        mounts.append(m)
        return m.start()

    yield mount
    problems = []
    for m in reversed(mounts):
        problems += m.unmount()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


class NsMount(Mount):
    """ipcfs started by `unshare --ipc`, with kernel.shmmax set inside.

    The daemon's pid is the namespace's first process; SysV objects made
    in it vanish once the daemon and every process that entered the
    namespace exit.  /dev/shm is shared with the machine.
    """

    def __init__(self, opts=(), args=(), shmmax=None):
        super().__init__(opts, args, True)
        self.shmmax = shmmax

    def cmdline(self):
        setup = 'exec "$@"'
        if self.shmmax is not None:
            setup = ('echo %d > /proc/sys/kernel/shmmax && exec "$@"'
                     % self.shmmax)
        return (['unshare', '--ipc', '--', 'sh', '-c', setup, 'sh'] +
                super().cmdline())

    def nsenter(self, cmd):
        """cmd prefixed to run in the daemon's IPC namespace."""
        return ['nsenter', '--ipc=/proc/%d/ns/ipc' % self.pid, '--'] + \
            list(cmd)

    def py(self, code, rc=0, uid=None, gid=None, timeout=30, input=None):
        """Runs a Python snippet in the daemon's IPC namespace."""
        cmd = [util.PYTHON, '-c', textwrap.dedent(code)]
        if uid is not None:
            cmd = util.as_user(cmd, uid,
                               util.NOGROUP if gid is None else gid)
        return util.run(self.nsenter(cmd), rc=rc, timeout=timeout,
                        input=input)


@pytest.fixture
def ns_mount_factory():
    """ns_mount(opts=(), args=(), shmmax=None) -> a started NsMount."""
    check_environment()
    if subprocess.run(['unshare', '--ipc', 'true']).returncode != 0:
        pytest.skip('unshare --ipc is not available')
    mounts = []

    def ns_mount(opts=(), args=(), shmmax=None):
        m = NsMount(opts, args, shmmax)
        mounts.append(m)
        return m.start()

    yield ns_mount
    problems = []
    for m in reversed(mounts):
        problems += m.unmount()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


@pytest.fixture
def scratch_dir():
    """An empty mount point for a daemon expected to exit by itself;
    unmounted if it did not."""
    check_environment()
    d = tempfile.mkdtemp(prefix='ipcfs-cli-', dir='/tmp')
    os.chmod(d, 0o755)
    yield d
    if is_mounted(d):
        subprocess.run(['fusermount3', '-uz', d], stderr=subprocess.DEVNULL)
    os.rmdir(d)


@pytest.fixture
def mnt(mount_factory):
    """A fresh ipcfs mount with default options."""
    return mount_factory()


# ------------------------------------------------------------------
# Objects the tests create
# ------------------------------------------------------------------

# Everything this session registered, for telling our leaks from the
# objects of other programs running at the same time.
SESSION = {'keys': set(), 'shmids': set(), 'semids': set(), 'names': set(),
           'mounts': set()}
# message queues: SysV ids and POSIX queue names
SESSION.update({'msqids': set(), 'mqnames': set()})


class IpcRegistry:
    """Remembers every IPC object a test may create and removes it."""

    def __init__(self):
        self.keys = set()        # SysV keys (segments and semaphore sets)
        self.shmids = set()
        self.semids = set()
        self.names = set()       # POSIX shm names (also checked as sems)
        self.attached = []       # sysv_ipc.SharedMemory objects
        self.pshms = []          # multiprocessing SharedMemory objects
        self.msqids = set()      # SysV message queues (keys: self.keys)
        self.mq_names = set()    # POSIX message queues, without '/'

    def key(self):
        """A fresh random key, removed (segment and semaphore) at the end."""
        k = util.random_key()
        self.keys.add(k)
        return k

    def add_key(self, k):
        self.keys.add(k)
        return k

    def name(self, prefix='t'):
        """A fresh name for posix/ or sem/, removed at the end."""
        n = util.unique_name(prefix)
        self.add_name(n)
        return n

    def add_name(self, n):
        self.names.add(n)
        self.keys.add(util.sem_key(n))
        return n

    def add_shmid(self, shmid):
        self.shmids.add(shmid)
        return shmid

    def add_semid(self, semid):
        self.semids.add(semid)
        return semid

    # --- makers ---

    def shm(self, size=util.PAGE_SIZE, mode=0o600, key=None, private=False):
        """Creates and attaches a new segment (sysv_ipc); detached at end."""
        if private:
            key = sysv_ipc.IPC_PRIVATE
        elif key is None:
            key = self.key()
        # sysv_ipc fills new segments with spaces unless told otherwise
        m = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, mode=mode,
                                  size=size, init_character=b'\0')
        # Registered by id only: a fixed key may belong to someone else
        # once ours is gone.
        self.shmids.add(m.id)
        self.attached.append(m)
        return m

    def attach(self, key=None, shmid=None, readonly=False):
        """Attaches an existing segment by key or id; detached at end."""
        if shmid is None:
            shmid = util.shm_by_key(key)['shmid']
        flags = sysv_ipc.SHM_RDONLY if readonly else 0
        m = sysv_ipc.attach(shmid, None, flags)
        self.attached.append(m)
        return m

    def sem(self, value=0, mode=0o600, key=None, name=None, init_op=True):
        """Creates a one-semaphore set (sysv_ipc, no SEM_UNDO)."""
        if name is not None:
            key = util.sem_key(self.add_name(name))
        elif key is None:
            key = self.key()
        s = sysv_ipc.Semaphore(key, sysv_ipc.IPC_CREX, mode=mode,
                               initial_value=value)
        self.semids.add(s.id)
        if init_op:
            # A careful creator makes one semop after creating, which sets
            # sem_otime: openers wait a moment for sets that have none yet.
            if value < util.SEM_VALUE_MAX:
                s.release()
                s.acquire()
            else:
                s.acquire()
                s.release()
        return s

    def semset(self, nsems, mode=0o600, key=None, private=False,
               values=None):
        """Creates a System V set of nsems semaphores (semget); returns
        (semid, key).  values: SETALL right after."""
        if private:
            key = sysv_ipc.IPC_PRIVATE
        elif key is None:
            key = self.key()
        semid = util.semget(key, nsems, util.IPC_CREAT | util.IPC_EXCL |
                            mode)
        self.semids.add(semid)
        if values is not None:
            util.semset_setall(semid, values)
        return semid, key

    def psem(self, name=None, value=0, mode=0o600):
        """A POSIX named semaphore made by sem_open; returns its name.
        sem.<name> in /dev/shm is removed at the end."""
        if name is None:
            name = self.name('ps')
        else:
            self.add_name(name)
        util.psem_close(util.psem_open(name, create=True, mode=mode,
                                       value=value))
        os.chmod(util.psem_path(name), mode)    # sem_open applies the umask
        return name

    def pshm(self, name, create=False, size=0):
        """multiprocessing.shared_memory.SharedMemory, without the resource
        tracker (it would unlink objects this process only attached)."""
        from multiprocessing import resource_tracker, shared_memory
        if create:
            self.add_name(name)
        s = shared_memory.SharedMemory(name, create=create, size=size)
        resource_tracker.unregister(s._name, 'shared_memory')
        self.pshms.append(s)
        return s

    def add_msqid(self, msqid):
        self.msqids.add(msqid)
        return msqid

    def msq(self, mode=0o600, key=None, private=False):
        """Creates a new SysV message queue (sysv_ipc); removed at end."""
        if private:
            key = sysv_ipc.IPC_PRIVATE
        elif key is None:
            key = self.key()
        q = sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, mode=mode)
        self.msqids.add(q.id)
        return q

    def mq_name(self, prefix='q'):
        """A fresh POSIX message queue name, unlinked at the end."""
        return self.add_mq_name(util.unique_mq_name(prefix))

    def add_mq_name(self, n):
        self.mq_names.add(n)
        return n

    def remove_msgs(self):
        """Removes our message queues (wakes blocked ones with EIDRM)."""
        for r in util.msg_table():
            if r['key'] in self.keys or r['msqid'] in self.msqids:
                try:
                    sysv_ipc.remove_message_queue(r['msqid'])
                except sysv_ipc.Error:
                    pass
        for n in self.mq_names:
            util.mq_unlink(n)

    # --- cleanup ---

    def remove_sems(self):
        """Removes our semaphore sets (wakes any waiter with EIDRM)."""
        for r in util.sem_table():
            if r['key'] in self.keys or r['semid'] in self.semids:
                try:
                    sysv_ipc.remove_semaphore(r['semid'])
                except sysv_ipc.Error:
                    pass

    def cleanup(self):
        SESSION['keys'] |= {util.keyname(k) for k in self.keys}
        SESSION['shmids'] |= {str(i) for i in self.shmids}
        SESSION['semids'] |= {str(i) for i in self.semids}
        SESSION['names'] |= self.names
        for s in self.pshms:
            try:
                s.close()
            except Exception:
                pass
        for m in self.attached:
            try:
                if m.attached:
                    m.detach()
            except sysv_ipc.Error:
                pass
        for r in util.shm_table():
            if r['key'] in self.keys or r['shmid'] in self.shmids:
                try:
                    sysv_ipc.remove_shared_memory(r['shmid'])
                except sysv_ipc.Error:
                    pass
        self.remove_sems()
        SESSION['msqids'] |= {str(i) for i in self.msqids}
        SESSION['mqnames'] |= self.mq_names
        self.remove_msgs()
        for n in self.names:
            try:
                os.unlink('/dev/shm/' + n)
            except (FileNotFoundError, IsADirectoryError):
                pass
        # POSIX named semaphores (posix-sem/) of the same names
        for n in self.names:
            try:
                os.unlink(util.psem_path(n))
            except OSError:     # none, or a name too long for sem.<name>
                pass


@pytest.fixture
def ipc():
    reg = IpcRegistry()
    yield reg
    reg.cleanup()


class ProcRegistry:
    """Background processes of a test, each in its own process group."""

    def __init__(self, ipc):
        self.ipc = ipc
        self.procs = []

    def spawn(self, cmd, uid=None, gid=None, **kw):
        cmd = list(cmd)
        if uid is not None:
            cmd = util.as_user(cmd, uid, util.NOGROUP if gid is None else gid)
        kw.setdefault('stdout', subprocess.PIPE)
        kw.setdefault('stderr', subprocess.PIPE)
        kw.setdefault('stdin', subprocess.DEVNULL)
        p = subprocess.Popen(cmd, cwd='/', start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def sh(self, script, **kw):
        return self.spawn(['sh', '-c', script], **kw)

    def py(self, code, **kw):
        import textwrap
        return self.spawn([util.PYTHON, '-c', textwrap.dedent(code)], **kw)

    def cleanup(self):
        alive = [p for p in self.procs if p.poll() is None]
        for p in alive:
            util.kill_tree(p, signal.SIGKILL)
        stuck = []
        for p in alive:
            try:
                p.wait(timeout=util.PROMPT)
            except subprocess.TimeoutExpired:
                stuck.append(p)
        if stuck:
            # Blocked in a semaphore wait the daemon did not cancel:
            # removing the set releases them, so the mount can go.
            self.ipc.remove_sems()
            self.ipc.remove_msgs()
            for p in stuck:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
        for p in self.procs:
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        if stuck:
            pytest.fail('%d test process(es) did not die within %.0f s of '
                        'SIGKILL: %r' % (len(stuck), util.PROMPT,
                                         [p.args for p in stuck]),
                        pytrace=False)


@pytest.fixture
def procs(mount_factory, ipc):
    """Spawns background processes; kills them before anything else goes."""
    reg = ProcRegistry(ipc)
    yield reg
    reg.cleanup()


# ------------------------------------------------------------------
# Session-wide guards
# ------------------------------------------------------------------

def _ipc_snapshot():
    shm = []
    for line in util.run(['ipcs', '-m']).text.splitlines():
        p = line.split()
        # key shmid owner perms bytes [nattch status]: nattch of others'
        # segments may change while we run.
        if len(p) >= 5 and p[0].startswith('0x'):
            shm.append(' '.join(p[:5] + p[6:]))
    sem = [line for line in util.run(['ipcs', '-s']).text.splitlines()
           if line.startswith('0x')]
    # key msqid owner perms: used-bytes and messages change with use
    msg = [' '.join(line.split()[:4])
           for line in util.run(['ipcs', '-q']).text.splitlines()
           if line.startswith('0x')]
    return {
        'ipcs -m': sorted(shm),
        'ipcs -s': sorted(sem),
        'ls /dev/shm': sorted(os.listdir('/dev/shm')),
        'ipcs -q': sorted(msg),
        'POSIX message queues': util.mq_list(),
        'mounts under /tmp/ipcfs-*': ipcfs_mounts(),
    }


def _ours(what, entry):
    """Whether a snapshot entry is something this session made."""
    if what == 'ipcs -m':
        key, shmid = entry.split()[:2]
        return key in SESSION['keys'] or shmid in SESSION['shmids']
    if what == 'ipcs -s':
        key, semid = entry.split()[:2]
        return key in SESSION['keys'] or semid in SESSION['semids']
    if what == 'ipcs -q':
        key, msqid = entry.split()[:2]
        return key in SESSION['keys'] or msqid in SESSION['msqids']
    if what == 'POSIX message queues':
        return entry in SESSION['mqnames'] or util._RUN_TAG in entry
    if what == 'ls /dev/shm':
        return (entry in SESSION['names'] or
                entry[len('sem.'):] in SESSION['names'] or
                util._RUN_TAG in entry)
    return entry.split()[0] in SESSION['mounts']


@pytest.fixture(scope='session', autouse=True)
def session_leak_check():
    """ipcs, /dev/shm and the mounts must end as they started.

    With IPCFS_TESTS_SHARED_HOST=1 (other programs, maybe another run of
    this suite, use IPC at the same time) only what this session made is
    checked.
    """
    shared = os.environ.get('IPCFS_TESTS_SHARED_HOST') == '1'
    before = _ipc_snapshot()
    yield
    after = _ipc_snapshot()
    diffs = []
    for what in before:
        b, a = set(before[what]), set(after[what])
        new, gone = sorted(a - b), sorted(b - a)
        if shared:
            new = [e for e in new if _ours(what, e)]
            gone = []
        for word, items in (('new', new), ('gone', gone)):
            if items:
                more = ' (and %d more)' % (len(items) - 20) \
                    if len(items) > 20 else ''
                diffs.append('%s: %d %s %r%s' % (what, len(items), word,
                                                 items[:20], more))
    assert not diffs, 'the tests left the system changed (if other programs '\
        'use IPC meanwhile, set IPCFS_TESTS_SHARED_HOST=1):\n' + \
        '\n'.join(diffs)


@pytest.fixture(autouse=True)
def test_watchdog():
    def on_alarm(signum, frame):
        raise TimeoutError('test ran longer than %d s' % TEST_SOFT_TIMEOUT)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_SOFT_TIMEOUT)
    faulthandler.dump_traceback_later(TEST_HARD_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)



# ------------------------------------------------------------------
# FUSE passthrough (issue 12)
# ------------------------------------------------------------------

def daemon_version_text():
    return subprocess.run([DAEMON, '--version'], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True,
                          timeout=30).stdout


@pytest.fixture(scope='session')
def passthrough():
    """Whether this build's daemon serves sysv/ and posix/ content by FUSE
    passthrough: built in and a kernel that has it (the tests run as root,
    so the daemon has CAP_SYS_ADMIN)."""
    check_environment()
    return ('passthrough: built in' in daemon_version_text() and
            util.kernel_at_least(6, 9))


class NoCapMount(Mount):
    """A daemon without CAP_SYS_ADMIN: the kernel mount is made here, and
    the daemon gets its /dev/fuse fd (mount point /dev/fd/N), as a
    container manager would hand it over."""

    DROP = ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin']

    def __init__(self, opts=(), args=()):
        super().__init__(opts, args, True)
        self.fusefd = -1

    def cmdline(self):
        return self.DROP + [DAEMON, '-f', '-o',
                            ','.join(['allow_other'] + self.opts)] + \
            self.args + ['/dev/fd/%d' % self.fusefd]

    def start(self):
        fd = os.open('/dev/fuse', os.O_RDWR)
        try:
            util.mount_fd('ipcfs', self.path, 'fuse.ipcfs',
                          'fd=%d,rootmode=40000,user_id=0,group_id=0,'
                          'default_permissions,allow_other' % fd)
            self.fusefd = fd
            with open(self.errpath, 'wb') as err:
                self.proc = subprocess.Popen(
                    self.cmdline(), stdin=subprocess.DEVNULL, stdout=err,
                    stderr=err, cwd='/', start_new_session=True,
                    pass_fds=[fd])
        except BaseException:
            if is_mounted(self.path):
                subprocess.run(['umount', '-l', self.path])
            raise
        finally:
            os.close(fd)
        return self


@pytest.fixture
def nocap_mount_factory():
    """nocap_mount(opts=(), args=()) -> a NoCapMount; unmounted at the end."""
    check_environment()
    mounts = []

    def mount(opts=(), args=()):
        m = NoCapMount(opts, args)
        mounts.append(m)
        return m.start()

    yield mount
    problems = []
    for m in reversed(mounts):
        problems += m.unmount()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)


# ------------------------------------------------------------------
# Containers: IPC and mount namespaces of their own (issue 15)
# ------------------------------------------------------------------

class Container:
    """A process in an IPC and a mount namespace of its own, with a tmpfs
    of its own on /dev/shm (`unshare --ipc --mount --fork`): a container
    as ipcfs -o pid= sees one.  Whatever is made inside dies with it."""

    SETUP = ('mount -t tmpfs -o mode=1777,size=64m ipcfs-test /dev/shm '
             '&& echo $$ && exec sleep 100000')

    def __init__(self, procs):
        self.procs = procs
        self.first = procs.spawn(['unshare', '--ipc', '--mount', '--fork',
                                  '--propagation', 'private', 'sh', '-c',
                                  self.SETUP])
        line = self.first.stdout.readline().strip()
        if not line.isdigit():
            err = self.first.stderr.read().decode(errors='replace') \
                if self.first.poll() is not None else ''
            raise AssertionError('container did not start: %r %s'
                                 % (line, err))
        self.pid = int(line)
        self.holders = []

    def enter(self, cmd, pid=None, uid=None, gid=None):
        """cmd prefixed to run inside (as uid/gid if given)."""
        cmd = list(cmd)
        if uid is not None:
            cmd = util.as_user(cmd, uid, util.NOGROUP if gid is None else gid)
        return ['nsenter', '-t', str(pid or self.pid), '--ipc', '--mount',
                '--'] + cmd

    def run(self, cmd, rc=0, pid=None, **kw):
        return util.run(self.enter(cmd, pid), rc=rc, **kw)

    def sh(self, script, rc=0, pid=None, **kw):
        return self.run(['sh', '-c', script], rc=rc, pid=pid, **kw)

    def py(self, code, rc=0, pid=None, **kw):
        import textwrap
        return self.run([util.PYTHON, '-c', textwrap.dedent(code)], rc=rc,
                        pid=pid, **kw)

    def hold(self):
        """A second process in the same namespaces; returns its pid."""
        p = self.procs.spawn(self.enter(['sh', '-c',
                                         'echo $$ && exec sleep 100000']))
        pid = int(p.stdout.readline().strip())
        self.holders.append(p)
        return pid

    def stop_first(self):
        """Ends the namespaces' first process (holders keep them)."""
        util.kill_tree(self.first)
        self.first.wait(timeout=util.PROMPT)
        util.wait_until(lambda: not os.path.exists('/proc/%d' % self.pid),
                        what='the container\'s first process gone')


@pytest.fixture
def container(procs):
    """container() -> a started Container; every one ends with the test
    (its processes are the test's: procs kills them)."""
    if subprocess.run(['unshare', '--ipc', '--mount', 'true']).returncode:
        pytest.skip('unshare --ipc --mount is not available')
    return lambda: Container(procs)
