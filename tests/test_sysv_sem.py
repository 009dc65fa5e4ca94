"""sysv-sem/<key> and sysv-sem/id/<semid>: System V semaphore sets of any
size, their values as text and the sem/ commands with a semaphore index,
all of one write as one semop.  Checked side by side with semget/semop/
semctl (ctypes), ipcs, ipcmk, sysv_ipc and real C programs."""

import errno
import json
import os
import signal
import stat
import subprocess
import time

import pytest
import sysv_ipc

import util


def kpath(mnt, key):
    return mnt.p('sysv-sem', util.keyname(key))


def ipath(mnt, semid):
    return mnt.p('sysv-sem', 'id', str(semid))


def vals(semid):
    return util.semset_values(semid)


def cmd(path, data):
    """Writes one buffer in one write(2); None or the errno."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        n = os.write(fd, data)
        assert n == len(data), (n, data)
        return None
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def ok(path, data):
    e = cmd(path, data)
    assert e is None, '%r: %s' % (data, errno.errorcode[e])


def fails(path, data, want):
    e = cmd(path, data)
    assert e == want, '%r: got %s, want %s' % (
        data, e and errno.errorcode[e], errno.errorcode[want])


def wait_cnt(semid, num, n=1, what=util.GETNCNT, timeout=util.PROMPT):
    util.wait_until(lambda: util.semset_cnt(semid, num, what) >= n,
                    timeout=timeout,
                    what='%d waiter(s) on semaphore %d of %d' % (n, num,
                                                               semid))


WAITER = '''
import errno, os, sys
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
try:
    os.write(fd, %r)
    print('OK', flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
'''

# Survives the signal and reports what write(2) itself returned.
SURVIVOR = '''
import ctypes, errno, os, signal
signal.signal(signal.SIGINT, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(%r, os.O_WRONLY)
print('open', flush=True)
data = %r
r = libc.write(fd, data, len(data))
e = ctypes.get_errno()
print('OK' if r == len(data) else errno.errorcode.get(e, str(e)), flush=True)
'''


def spawn_waiter(procs, path, data, survivor=False):
    code = (SURVIVOR if survivor else WAITER) % (path, data)
    p = procs.py(code)
    assert p.stdout.readline() == b'open\n'
    return p


def waiter_result(p, timeout=util.PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip()


# ------------------------------------------------------------------
# Reading and listing
# ------------------------------------------------------------------

def test_cat_one_value_per_line(mnt, ipc):
    semid, key = ipc.semset(3, values=[0, 5, 32767])
    want = b'0\n5\n32767\n'
    assert util.run(['cat', kpath(mnt, key)]).out == want
    assert util.run(['cat', ipath(mnt, semid)]).out == want
    assert util.read_file(kpath(mnt, key)) == util.semset_text(semid)
    util.semset_setall(semid, [7, 0, 1])
    assert util.read_file(ipath(mnt, semid)) == b'7\n0\n1\n'


def test_cat_big_set(mnt, ipc):
    vs = [(i * 37) % 32768 for i in range(250)]
    semid, key = ipc.semset(250, values=vs)
    assert util.read_file(kpath(mnt, key)) == \
        b''.join(b'%d\n' % v for v in vs)


def test_listing_by_key_and_id(mnt, ipc):
    semid, key = ipc.semset(4)
    psemid, _ = ipc.semset(2, private=True)
    listed = os.listdir(mnt.p('sysv-sem'))
    assert util.keyname(key) in listed
    assert 'id' in listed
    ids = os.listdir(mnt.p('sysv-sem', 'id'))
    assert str(semid) in ids and str(psemid) in ids
    # a private set has no key name
    assert util.read_file(ipath(mnt, psemid)) == b'0\n0\n'
    st = os.stat(mnt.p('sysv-sem'))
    assert stat.S_IMODE(st.st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(mnt.p('sysv-sem', 'id')).st_mode) == 0o555
    # every set ipcs lists is there by id
    for r in util.sem_table():
        if r['semid'] in (semid, psemid):
            assert str(r['semid']) in ids


def test_one_semaphore_set_in_sem_and_sysv_sem(mnt, ipc):
    n = ipc.name()
    s = ipc.sem(name=n, value=3)
    assert util.read_file(kpath(mnt, s.key)) == b'3\n'
    assert util.read_file(mnt.p('sem', n)) == b'3\n'
    ok(kpath(mnt, s.key), 'post')
    assert util.read_file(mnt.p('sem', n)) == b'4\n'


def test_ipcmk_set_seen(mnt, ipc):
    out = util.run(['ipcmk', '-S', '3', '-p', '0640']).text
    semid = ipc.add_semid(int(out.strip().split(':')[-1]))
    key = util.sem_by_id(semid)['key']
    assert util.keyname(key) in os.listdir(mnt.p('sysv-sem'))
    assert util.read_file(ipath(mnt, semid)) == b'0\n0\n0\n'
    st = os.stat(ipath(mnt, semid))
    assert stat.S_IMODE(st.st_mode) == 0o640


def test_looking_changes_nothing(mnt, ipc):
    semid, key = ipc.semset(2, values=[1, 2])
    before = util.sem_by_id(semid)
    for _ in range(3):
        util.read_file(kpath(mnt, key))
        os.stat(ipath(mnt, semid))
        util.run(['getfattr', '-d', kpath(mnt, key)])
        os.listdir(mnt.p('sysv-sem'))
    assert vals(semid) == [1, 2]
    assert util.sem_by_id(semid)['otime'] == before['otime'] == 0


def test_missing(mnt, ipc):
    key = ipc.key()
    util.expect_errno(errno.ENOENT, os.stat, kpath(mnt, key))
    util.expect_errno(errno.ENOENT, os.open, kpath(mnt, key), os.O_RDONLY)
    util.expect_errno(errno.ENOENT, os.stat, ipath(mnt, 2147483647))


# ------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------

def test_commands_with_index(mnt, ipc):
    semid, key = ipc.semset(3)
    p = kpath(mnt, key)
    ok(p, 'post')
    assert vals(semid) == [1, 0, 0]
    ok(p, '2:post 3')
    assert vals(semid) == [1, 0, 3]
    ok(p, '1:post\n')
    assert vals(semid) == [1, 1, 3]
    ok(p, '2:wait 2')
    assert vals(semid) == [1, 1, 1]
    ok(p, '0:trywait\n1:wait\n2:wait')
    assert vals(semid) == [0, 0, 0]
    ok(p, 'zero\n1:zero\n2:zero')
    ok(p, '1:set 7')
    assert vals(semid) == [0, 7, 0]
    ok(p, '1:timedwait 5')
    assert vals(semid) == [0, 6, 0]
    util.sh('echo "2:post 2" > %s' % p)
    util.sh('printf "0:post\\n2:wait\\n" >> %s' % ipath(mnt, semid))
    assert vals(semid) == [1, 6, 1]


def test_write_is_one_semop(mnt, ipc):
    semid, key = ipc.semset(3, values=[2, 0, 0])
    p = kpath(mnt, key)
    before = util.sem_by_id(semid)['otime']
    # all of it or none: the trywait on 1 fails, 0 keeps its value
    fails(p, '0:wait\n1:trywait', errno.EAGAIN)
    fails(p, '0:trywait 2\n2:post\n1:trywait', errno.EAGAIN)
    fails(p, '2:post 3\n0:trywait 3', errno.EAGAIN)
    assert vals(semid) == [2, 0, 0]
    # the same write through the kernel answers the same
    util.expect_errno(errno.EAGAIN, util.semop, semid, [(0, -1), (1, -1)],
                      nowait=True)
    # in order within the semop: a post makes a later wait possible
    ok(p, '1:post\n1:trywait\n0:trywait 2\n2:post 4\n2:wait 4\n2:zero')
    assert vals(semid) == [0, 0, 0]
    assert util.sem_by_id(semid)['otime'] >= before


def test_range_past_max_nothing_done(mnt, ipc):
    semid, key = ipc.semset(2, values=[1, 32767])
    p = kpath(mnt, key)
    fails(p, '0:post\n1:post', errno.ERANGE)
    fails(p, '0:post 32767', errno.ERANGE)
    fails(p, '0:post 20000\n0:post 20000', errno.ERANGE)
    assert vals(semid) == [1, 32767]
    util.expect_errno(errno.ERANGE, util.semop, semid, [(0, 1), (1, 1)],
                      nowait=True)
    res = util.sh('/bin/echo "1:post" > %s' % p, rc='nonzero')
    assert 'Numerical result out of range' in res.err
    fails(p, '1:set 32768', errno.ERANGE)
    assert vals(semid) == [1, 32767]


def test_index_past_the_set_einval(mnt, ipc):
    semid, key = ipc.semset(3, values=[1, 1, 1])
    p = kpath(mnt, key)
    for text in ('3:post', '0:post\n3:post', '3:zero', '65535:wait',
                 '65536:post', '3:set 1', '99999999999:post',
                 '0:post\n4:trywait'):
        fails(p, text, errno.EINVAL)
    assert vals(semid) == [1, 1, 1]
    assert util.sem_by_id(semid)['otime'] == 0


EINVAL_FORMS = [
    '\n', 'bogus', 'POST', 'post 0', 'wait 0', 'post -1', 'post x',
    'post 1 2', 'post1', 'set', 'set -1', 'timedwait', 'timedwait x',
    'post\n\n', '\npost', 'post\0', 'post\nbogus', 'set 1\npost',
    'post\nset 1', '0:set 1\n1:set 1', ':post', '1:', '1: post', ' 1:post',
    '1 :post', '1::post', '-1:post', '+1:post', 'a:post', '0x1:post',
    '1:2:post', 'zero 1', '1:zero 0', 'zero ', 'ZERO', '1;post', 'post:1',
]


@pytest.mark.parametrize('text', EINVAL_FORMS)
def test_einval_and_nothing_done(mnt, ipc, text):
    semid, key = ipc.semset(2, values=[3, 3])
    fails(kpath(mnt, key), text, errno.EINVAL)
    assert vals(semid) == [3, 3]
    assert util.sem_by_id(semid)['otime'] == 0


def test_timedwait_bounds_the_write(mnt, ipc):
    semid, key = ipc.semset(2, values=[1, 0])
    p = kpath(mnt, key)
    t0 = time.monotonic()
    fails(p, '0:wait\n1:timedwait 0.3', errno.ETIMEDOUT)
    took = time.monotonic() - t0
    assert 0.27 <= took < 0.3 + util.PROMPT, took
    assert vals(semid) == [1, 0]
    assert util.semset_cnt(semid, 1) == 0
    # trywait wins: no waiting at all
    t0 = time.monotonic()
    fails(p, '1:timedwait 10\n0:trywait', errno.EAGAIN)
    assert time.monotonic() - t0 < 2


def test_offset_ignored_and_truncate_of_existing(mnt, ipc):
    semid, key = ipc.semset(2)
    p = kpath(mnt, key)
    util.sh('echo post >> %s' % p)
    fd = os.open(p, os.O_RDWR)
    try:
        assert os.pwrite(fd, b'1:post', 1000) == 6
        assert os.pread(fd, 100, 0) == b'1\n1\n'
    finally:
        os.close(fd)
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert vals(semid) == [1, 1]
    assert util.sem_by_id(semid)['nsems'] == 2


# ------------------------------------------------------------------
# Blocking
# ------------------------------------------------------------------

def test_multi_op_blocks_and_takes_nothing_meanwhile(mnt, ipc, procs):
    semid, key = ipc.semset(2, values=[1, 0])
    p = kpath(mnt, key)
    w = spawn_waiter(procs, p, b'0:wait\n1:wait')
    wait_cnt(semid, 1)
    assert vals(semid) == [1, 0]            # 0 was not taken
    # another writer can take 0 meanwhile: it is still there
    ok(p, '0:trywait')
    ok(p, '1:post')
    time.sleep(0.3)
    assert w.poll() is None
    assert vals(semid) == [0, 1]
    ok(p, '0:post')
    assert waiter_result(w) == 'OK'
    assert vals(semid) == [0, 0]


def test_zero_waits_for_zero(mnt, ipc, procs):
    semid, key = ipc.semset(3, values=[0, 2, 0])
    p = kpath(mnt, key)
    w = spawn_waiter(procs, p, b'1:zero\n2:post')
    wait_cnt(semid, 1, what=util.GETZCNT)
    assert vals(semid) == [0, 2, 0]
    ok(p, '1:wait')
    time.sleep(0.2)
    assert w.poll() is None
    ok(p, '1:wait')
    assert waiter_result(w) == 'OK'
    assert vals(semid) == [0, 0, 1]


def test_blocked_wait_blocks_nothing_else(mnt, ipc, procs):
    semid, key = ipc.semset(2)
    other, okey = ipc.semset(1)
    p = kpath(mnt, key)
    w = procs.sh('echo "1:wait" > %s' % p)
    wait_cnt(semid, 1)
    assert util.run(['cat', p], timeout=util.PROMPT).out == b'0\n0\n'
    assert util.keyname(key) in util.run(
        ['ls', mnt.p('sysv-sem')], timeout=util.PROMPT).text.split()
    util.run(['ls', '-l', mnt.p('sysv-sem', 'id'), mnt.sem],
             timeout=util.PROMPT)
    util.run(['getfattr', '-d', p], timeout=util.PROMPT)
    util.sh('echo post > %s' % kpath(mnt, okey), timeout=util.PROMPT)
    assert vals(other) == [1]
    util.sh('echo "0:post" > %s' % p, timeout=util.PROMPT)
    assert w.poll() is None
    # another open of the same file releases it
    util.sh('echo "1:post" > %s' % ipath(mnt, semid), timeout=util.PROMPT)
    assert w.wait(timeout=util.PROMPT) == 0
    assert vals(semid) == [1, 0]


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGKILL])
def test_ctrl_c_returns_promptly_takes_nothing(mnt, ipc, procs, sig):
    semid, key = ipc.semset(2, values=[1, 0])
    p = kpath(mnt, key)
    w = procs.sh('printf "0:wait\\n1:wait 2\\n" > %s' % p)
    wait_cnt(semid, 1)
    os.killpg(w.pid, sig)
    try:
        rc = w.wait(timeout=util.PROMPT)
    except subprocess.TimeoutExpired:
        raise AssertionError('waiter still blocked %.0f s after %s'
                             % (util.PROMPT, sig.name))
    assert rc in (-sig, 128 + sig), rc
    util.wait_until(lambda: util.semset_cnt(semid, 1) == 0, what='ncnt 0')
    assert vals(semid) == [1, 0]
    # the cancelled write must not take what comes later
    ok(p, '1:post 2')
    time.sleep(1.5)
    assert vals(semid) == [1, 2]


def test_interrupted_writer_gets_eintr(mnt, ipc, procs):
    semid, key = ipc.semset(2, values=[1, 0])
    w = spawn_waiter(procs, kpath(mnt, key), b'0:wait\n1:wait',
                     survivor=True)
    wait_cnt(semid, 1)
    w.send_signal(signal.SIGINT)
    assert waiter_result(w) == 'EINTR'
    assert vals(semid) == [1, 0]


MANY = '''
import errno, json, os, sys, threading
threading.stack_size(256 * 1024)
path, n = sys.argv[1], int(sys.argv[2])
results = [None] * n
def waiter(i):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, b'%d:wait\\n' % (i % 3))
        results[i] = 'OK'
    except OSError as e:
        results[i] = errno.errorcode[e.errno]
    finally:
        os.close(fd)
threads = [threading.Thread(target=waiter, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
print('started', flush=True)
for t in threads:
    t.join()
print(json.dumps(results), flush=True)
'''


def test_removed_under_100_waiters_all_eidrm(mnt, ipc, procs):
    n = 100
    semid, key = ipc.semset(3)
    p = kpath(mnt, key)
    ws = procs.spawn([util.PYTHON, '-c', MANY, p, str(n)])
    assert ws.stdout.readline().strip() == b'started'
    util.wait_until(lambda: sum(util.semset_cnt(semid, i)
                                for i in range(3)) == n,
                    timeout=30, interval=0.05, what='%d waiters' % n)
    assert util.read_file(p) == b'0\n0\n0\n'
    t0 = time.monotonic()
    os.unlink(p)
    out, _ = ws.communicate(timeout=30)
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert results == ['EIDRM'] * n, {r: results.count(r) for r in results}
    assert time.monotonic() - t0 < util.PROMPT + 1
    assert util.sem_by_id(semid) is None


def test_ipcrm_under_waiter_eidrm(mnt, ipc, procs):
    semid, key = ipc.semset(2)
    w = spawn_waiter(procs, ipath(mnt, semid), b'1:wait')
    wait_cnt(semid, 1)
    util.run(['ipcrm', '-s', str(semid)])
    assert waiter_result(w) == 'EIDRM'


# ------------------------------------------------------------------
# Create, remove, attributes
# ------------------------------------------------------------------

def ipcs_i(semid):
    return util.run(['ipcs', '-s', '-i', str(semid)]).text


def test_touch_creates_one_semaphore(mnt, ipc):
    key = ipc.key()
    util.sh('umask 022; touch %s' % kpath(mnt, key))
    r = util.sem_by_key(key)
    assert r is not None
    ipc.add_semid(r['semid'])
    assert (r['nsems'], r['mode'], r['uid'], r['cuid']) == (1, 0o644, 0, 0)
    assert 'nsems = 1' in ipcs_i(r['semid'])
    assert sysv_ipc.Semaphore(key).value == 0
    assert util.read_file(kpath(mnt, key)) == b'0\n'
    st = os.stat(kpath(mnt, key))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644


@pytest.mark.parametrize('n', [2, 5, 250])
def test_truncate_sets_the_number(mnt, ipc, n):
    key = ipc.key()
    util.sh('umask 077; truncate -s %d %s' % (n, kpath(mnt, key)))
    r = util.sem_by_key(key)
    assert r is not None
    assert (r['nsems'], r['mode']) == (n, 0o600)
    assert 'nsems = %d' % n in ipcs_i(r['semid'])
    assert util.read_file(kpath(mnt, key)) == b'0\n' * n
    ok(kpath(mnt, key), '%d:post' % (n - 1))
    assert vals(r['semid'])[-1] == 1


def test_open_creat_then_ftruncate(mnt, ipc):
    key = ipc.key()
    fd = os.open(kpath(mnt, key), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
    try:
        os.ftruncate(fd, 3)
        assert os.pread(fd, 100, 0) == b'0\n0\n0\n'
        assert os.write(fd, b'2:post 4') == 8
    finally:
        os.close(fd)
    r = util.sem_by_key(key)
    assert (r['nsems'], r['mode']) == (3, 0o640)
    assert vals(r['semid']) == [0, 0, 4]


def test_truncate_above_semmsl(mnt, ipc):
    semmsl = int(open('/proc/sys/kernel/sem').read().split()[0])
    key = ipc.key()
    res = util.run(['truncate', '-s', str(semmsl + 1), kpath(mnt, key)],
                   rc='nonzero')
    assert 'Invalid argument' in res.err
    r = util.sem_by_key(key)
    assert r is None or r['nsems'] == 1


def test_second_user_creates_and_owns(mnt, ipc):
    key = ipc.key()
    util.sh('umask 022; truncate -s 2 %s' % kpath(mnt, key), uid=util.NOBODY)
    r = util.sem_by_key(key)
    assert (r['uid'], r['gid'], r['cuid'], r['cgid'], r['mode'],
            r['nsems']) == (util.NOBODY, util.NOGROUP, util.NOBODY,
                            util.NOGROUP, 0o644, 2)
    util.sh('echo "1:post" > %s' % kpath(mnt, key), uid=util.NOBODY)
    assert vals(r['semid']) == [0, 1]
    util.run(['rm', kpath(mnt, key)], uid=util.NOBODY)
    assert util.sem_by_key(key) is None


def test_create_existing_untouched(mnt, ipc):
    semid, key = ipc.semset(3, mode=0o640, values=[1, 2, 3])
    p = kpath(mnt, key)
    util.sh('umask 000; touch %s' % p)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o666)
    os.close(fd)
    util.expect_errno(errno.EEXIST, os.open, p,
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    r = util.sem_by_key(key)
    assert (r['semid'], r['nsems'], r['mode']) == (semid, 3, 0o640)
    assert vals(semid) == [1, 2, 3]


def test_rm_by_key_and_by_id(mnt, ipc):
    semid, key = ipc.semset(2)
    util.run(['rm', kpath(mnt, key)])
    assert util.sem_by_id(semid) is None
    assert util.keyname(key) not in os.listdir(mnt.p('sysv-sem'))
    semid, _ = ipc.semset(3, private=True)
    util.run(['rm', ipath(mnt, semid)])
    assert util.sem_by_id(semid) is None


def test_chmod_chown_are_ipc_set(mnt, ipc):
    semid, key = ipc.semset(2, mode=0o600)
    p = kpath(mnt, key)
    util.run(['chmod', '0604', p])
    util.run(['chown', 'nobody:users', ipath(mnt, semid)])
    r = util.sem_by_id(semid)
    assert (r['mode'], r['uid'], r['gid'], r['cuid']) == \
        (0o604, util.NOBODY, util.OTHER_GID, 0)
    st = os.stat(p)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
        (0o604, util.NOBODY, util.OTHER_GID)
    row = util.ipcs_sem_row(semid)
    assert (row['owner'], row['perms'], row['nsems']) == ('nobody', '604', 2)


def test_times(mnt, ipc):
    semid, key = ipc.semset(2)
    util.semctl(semid, 0, util.SETVAL, 1)
    time.sleep(1.1)
    util.semop(semid, [(1, 1)])
    r = util.sem_by_id(semid)
    st = os.stat(kpath(mnt, key))
    assert int(st.st_mtime) == r['otime']
    assert int(st.st_ctime) == r['ctime']


def getfattrs(path):
    out = util.run(['getfattr', '-d', '--absolute-names', path]).text
    attrs = {}
    for line in out.splitlines():
        if line.startswith('user.ipc.'):
            k, v = line.split('=', 1)
            attrs[k[len('user.ipc.'):]] = v.strip('"')
    return attrs


def test_xattrs(mnt, ipc, procs):
    semid, key = ipc.semset(3, values=[0, 2, 0])
    p = kpath(mnt, key)
    util.semop(semid, [(2, 1)])
    w1 = spawn_waiter(procs, p, b'0:wait')
    w2 = spawn_waiter(procs, p, b'1:zero')
    wait_cnt(semid, 0)
    wait_cnt(semid, 1, what=util.GETZCNT)
    pids = ' '.join(str(util.semctl(semid, i, util.GETPID))
                    for i in range(3))
    want = {'key': util.keyname(key), 'semid': str(semid), 'nsems': '3',
            'ncnt': '1 0 0', 'zcnt': '0 1 0', 'pid': pids}
    for path in (p, ipath(mnt, semid)):
        got = getfattrs(path)
        assert {k: got.get(k) for k in want} == want, got
    util.expect_errno((errno.ENOTSUP, errno.EPERM), os.setxattr, p,
                      'user.ipc.key', b'0x1')
    util.expect_errno((errno.ENOTSUP, errno.EPERM), os.removexattr, p,
                      'user.ipc.semid')
    ok(p, '0:post')
    assert waiter_result(w1) == 'OK'
    ok(p, '1:wait 2')
    assert waiter_result(w2) == 'OK'


# ------------------------------------------------------------------
# Permissions, side by side with the kernel as the same user
# ------------------------------------------------------------------

KERNEL_AS = '''
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
class B(ctypes.Structure):
    _fields_ = [('n', ctypes.c_ushort), ('o', ctypes.c_short),
                ('f', ctypes.c_short)]
semid, what = int(sys.argv[1]), sys.argv[2]
if what == 'read':
    arr = (ctypes.c_ushort * 64)()
    r = libc.semctl(semid, 0, 13, arr)      # GETALL
else:
    b = B(0, 1, 0o4000)                     # post, IPC_NOWAIT
    r = libc.semop(semid, ctypes.byref(b), 1)
e = ctypes.get_errno()
print('OK' if r >= 0 else errno.errorcode[e])
'''


def kernel_as_nobody(semid, what):
    return util.run([util.PYTHON, '-c', KERNEL_AS, str(semid), what],
                    uid=util.NOBODY).text.strip()


@pytest.mark.parametrize('mode', [0o600, 0o660, 0o606, 0o602, 0o620,
                                  0o644, 0o400, 0o604])
def test_permission_matrix(mnt, ipc, mode):
    semid, key = ipc.semset(2, mode=mode)
    p = kpath(mnt, key)
    kread = kernel_as_nobody(semid, 'read')
    kpost = kernel_as_nobody(semid, 'post')
    util.semset_setall(semid, [0, 0])
    read = util.op_as('open(%r, "rb").read()' % p)
    post = util.op_as('''
        fd = os.open(%r, os.O_WRONLY)
        os.write(fd, b"0:post")
        ''' % p)
    assert read == kread, (oct(mode), read, kread)
    assert post == kpost, (oct(mode), post, kpost)
    assert read == ('OK' if mode & 0o004 else 'EACCES')
    assert post == ('OK' if mode & 0o002 else 'EACCES')
    assert vals(semid) == [1 if post == 'OK' else 0, 0]
    # chmod / rm by another user: EPERM, nothing changed
    assert util.op_as('os.chmod(%r, 0o666)' % p) == 'EPERM'
    assert util.sem_by_id(semid)['mode'] == mode


# ------------------------------------------------------------------
# Real C programs on the other side
# ------------------------------------------------------------------

C_CLIENT = r'''
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

/* client KEY NSEMS: waits for {0:-1, 1:-1} as one semop, then posts 2
   by 3, then prints the values */
int main(int argc, char **argv)
{
    key_t key = (key_t)strtol(argv[1], NULL, 0);
    int nsems = atoi(argv[2]);
    int id = semget(key, nsems, IPC_CREAT | 0600);
    struct sembuf take[2] = { { 0, -1, 0 }, { 1, -1, 0 } };
    struct sembuf give = { 2, 3, 0 };
    unsigned short v[16];

    if (id < 0) { perror("semget"); return 1; }
    printf("ready %d\n", id);
    fflush(stdout);
    if (semop(id, take, 2) < 0) { perror("semop"); return 2; }
    if (semop(id, &give, 1) < 0) { perror("semop give"); return 3; }
    if (semctl(id, 0, GETALL, v) < 0) { perror("GETALL"); return 4; }
    for (int i = 0; i < nsems; i++)
        printf("%d%c", v[i], i + 1 < nsems ? ' ' : '\n');
    return 0;
}
'''


def test_c_client_multi_semop(mnt, ipc, procs, tmp_path):
    exe = util.build_c(C_CLIENT, str(tmp_path), 'semclient')
    key = ipc.key()
    # made through the mount, used by the program
    util.run(['truncate', '-s', '3', kpath(mnt, key)])
    c = procs.spawn([exe, str(key), '3'])
    line = c.stdout.readline().decode()
    assert line.startswith('ready ')
    semid = int(line.split()[1])
    assert util.sem_by_key(key)['semid'] == semid
    wait_cnt(semid, 0)
    ok(kpath(mnt, key), '0:post')
    time.sleep(0.2)
    assert c.poll() is None                 # needs 1 as well
    assert util.read_file(kpath(mnt, key)) == b'1\n0\n0\n'
    ok(kpath(mnt, key), '1:post')
    out, err = c.communicate(timeout=util.PROMPT)
    assert c.returncode == 0, err
    assert out == b'0 0 3\n'
    assert util.read_file(kpath(mnt, key)) == b'0\n0\n3\n'
    # and the other way: a shell waits on what the program posts
    ok(kpath(mnt, key), '2:wait 3')
    assert vals(semid) == [0, 0, 0]
