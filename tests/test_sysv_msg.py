"""sysv-msg/<key> and sysv-msg/id/<msqid>: System V message queues.

Looking never takes: reading the plain name gives the queued bytes (a
snapshot, msgrcv MSG_COPY) and leaves the queue as it was; NAME@T streams
take (reads) and send (writes) one message per call.  Every check is made
side by side with the kernel (sysv_ipc, msgsnd / msgrcv, ipcs).
"""

import errno
import os
import random
import signal
import stat
import subprocess
import time

import pytest
import sysv_ipc

import util


def one_call(procs, path, arg, flags=0, survive=False, **kw):
    return util.one_call(procs, path, arg, flags, survive, **kw)


def blocked(mnt, n=1, nrs=(util.SYS_MSGRCV,), timeout=util.PROMPT):
    """Waits until n calls sit blocked in the daemon (msgrcv / msgsnd)."""
    util.wait_daemon_blocked(mnt.pid, n, nrs, timeout)


result = util.call_result
read_errno = util.read_once
write_once = util.write_once
getfattr = util.getfattr_d


def qpath(mnt, q, *, key=None, by_id=False, stream=None):
    """The file of queue q (a sysv_ipc.MessageQueue) or of a bare key."""
    if by_id:
        name = mnt.p('sysv-msg', 'id', str(q.id))
    else:
        name = mnt.p('sysv-msg', util.keyname(q.key if key is None else key))
    return name if stream is None else '%s@%s' % (name, stream)


def qnum(q):
    return util.msg_by_id(q.id)['qnum']


def drain(q):
    """Every message left, oldest first, as (bytes, type)."""
    out = []
    while True:
        try:
            out.append(q.receive(block=False))
        except sysv_ipc.BusyError:
            return out


def set_qbytes(q, n):
    q.max_size = n
    assert util.msg_by_id(q.id) is not None


# ------------------------------------------------------------------
# Names and listings
# ------------------------------------------------------------------

def test_listing_live_keys_and_ids(mnt, ipc):
    a = ipc.msq()
    priv = ipc.msq(private=True)
    names = os.listdir(mnt.p('sysv-msg'))
    assert util.keyname(a.key) in names
    assert 'id' in names
    assert not any('@' in n for n in names)
    ids = os.listdir(mnt.p('sysv-msg', 'id'))
    assert str(a.id) in ids and str(priv.id) in ids
    # IPC_PRIVATE has no key name
    assert util.keyname(0) not in names
    a.remove()
    assert util.keyname(a.key) not in os.listdir(mnt.p('sysv-msg'))
    assert str(a.id) not in os.listdir(mnt.p('sysv-msg', 'id'))


def test_folder_modes(mnt):
    assert stat.S_IMODE(os.stat(mnt.p('sysv-msg')).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(mnt.p('sysv-msg', 'id')).st_mode) == 0o555


def test_key_forms_reach_one_queue(mnt, ipc):
    q = ipc.msq(key=ipc.add_key(0x00000abc + random.randint(1, 0xff) *
                                0x1000000))
    q.send(b'x')
    k = q.key & 0xffffffff
    forms = ['0x%08x' % k, '0x%x' % k, '0X%X' % k, '0x%08X' % k]
    inos = {os.stat(mnt.p('sysv-msg', f)).st_ino for f in forms}
    inos.add(os.stat(qpath(mnt, q, by_id=True)).st_ino)
    assert len(inos) == 1
    for f in forms:
        assert util.read_file(mnt.p('sysv-msg', f)) == b'x'


@pytest.mark.parametrize('name', ['0x0', '0x', 'abc', '0x123456789',
                                  '0x00001234 ', 'id@0', '@1', '0x1@'])
def test_bad_names_enoent(mnt, name):
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv-msg', name))


@pytest.mark.parametrize('suffix', ['@', '@x', '@1x', '@+1', '@01', '@-0',
                                    '@--1', '@1.0', '@ 1', '@0x1',
                                    '@99999999999999999999'])
def test_bad_stream_suffixes_enoent(mnt, ipc, suffix):
    q = ipc.msq()
    q.send(b'stays')
    util.expect_errno(errno.ENOENT, os.stat, qpath(mnt, q) + suffix)
    util.expect_errno(errno.ENOENT, os.open, qpath(mnt, q) + suffix,
                      os.O_RDONLY)
    assert qnum(q) == 1


def test_stream_of_missing_queue_enoent(mnt, ipc):
    k = ipc.key()
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv-msg',
                                                   util.keyname(k) + '@0'))
    util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv-msg', 'id',
                                                   '2147483647@0'))


def test_name_too_long(mnt):
    util.expect_errno(errno.ENAMETOOLONG, os.stat,
                      mnt.p('sysv-msg', '0x1' + '0' * 300))


def test_stat_sizes_owner_times(mnt, ipc):
    q = ipc.msq(mode=0o640)
    st = os.stat(qpath(mnt, q))
    k = util.msg_by_id(q.id)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_size == 0
    assert (st.st_uid, st.st_gid) == (k['uid'], k['gid'])
    # never sent or received: every time is the ctime, not 1970
    assert int(st.st_mtime) == int(st.st_atime) == int(st.st_ctime) == \
        k['ctime']
    q.send(b'12345')
    q.send(b'678', type=4)
    k = util.msg_by_id(q.id)
    st = os.stat(qpath(mnt, q))
    assert st.st_size == k['cbytes'] == 8
    assert int(st.st_mtime) == k['stime']
    assert int(st.st_atime) == k['ctime']       # rtime still 0
    q.receive()
    k = util.msg_by_id(q.id)
    st = os.stat(qpath(mnt, q))
    assert st.st_size == 3
    assert int(st.st_atime) == k['rtime']
    # ls -l shows the bytes queued; a stream has no size
    line = util.run(['ls', '-l', qpath(mnt, q)]).text.split()
    assert line[4] == '3'
    assert os.stat(qpath(mnt, q, stream=0)).st_size == 0
    assert stat.S_IMODE(os.stat(qpath(mnt, q, stream=0)).st_mode) == 0o640


# ------------------------------------------------------------------
# Looking never takes
# ------------------------------------------------------------------

MESSAGES = [(b'first line\n', 1), (b'\x00\x01binary\xff', 7), (b'', 3),
            (b'last', 2)]


def fill(q, msgs=MESSAGES):
    for data, t in msgs:
        q.send(data, type=t)
    return b''.join(d for d, _ in msgs)


def test_snapshot_exact_bytes_takes_nothing(mnt, ipc):
    q = ipc.msq()
    want = fill(q)
    before = util.msg_by_id(q.id)
    for path in (qpath(mnt, q), qpath(mnt, q, by_id=True)):
        assert util.read_file(path) == want
        assert util.run(['cat', path]).out == want
    after = util.msg_by_id(q.id)
    for f in ('qnum', 'cbytes', 'lrpid', 'rtime'):
        assert after[f] == before[f], f
    # the order is msgrcv's own
    assert drain(q) == MESSAGES


def test_snapshot_in_small_reads_and_at_offsets(mnt, ipc):
    q = ipc.msq()
    want = fill(q)
    fd = os.open(qpath(mnt, q), os.O_RDONLY)
    try:
        got = b''
        while True:
            b = os.read(fd, 3)
            if not b:
                break
            got += b
        assert got == want
        assert os.pread(fd, 5, 2) == want[2:7]
        assert os.pread(fd, 100, len(want)) == b''
        # offset 0 takes a fresh snapshot
        q.send(b'more')
        assert os.pread(fd, 1000, 0) == want + b'more'
    finally:
        os.close(fd)
    assert qnum(q) == len(MESSAGES) + 1


def test_empty_queue_reads_empty_at_once(mnt, ipc):
    q = ipc.msq()
    t = time.monotonic()
    assert util.run(['cat', qpath(mnt, q)], timeout=util.PROMPT).out == b''
    assert time.monotonic() - t < util.PROMPT


def test_grep_r_takes_nothing_never_blocks(mnt, ipc):
    full, empty = ipc.msq(), ipc.msq()
    full.send(b'a needle in a queue\n')
    full.send(b'hay\n', type=5)
    res = util.run(['grep', '-r', 'needle', mnt.p('sysv-msg')],
                   rc=None, timeout=30)
    assert res.rc in (0, 2), res           # 2: others' queues we may not read
    assert ('%s:a needle in a queue' % qpath(mnt, full)) in res.text
    assert qpath(mnt, empty) not in res.text
    assert qnum(full) == 2 and qnum(empty) == 0
    # tar reads every file too
    util.run(['tar', 'cf', '/dev/null', qpath(mnt, full), qpath(mnt, empty)],
             timeout=30)
    assert drain(full) == [(b'a needle in a queue\n', 1), (b'hay\n', 5)]


# ------------------------------------------------------------------
# Writing: one write(2), one message
# ------------------------------------------------------------------

def test_echo_sends_one_message_type_1(mnt, ipc):
    q = ipc.msq()
    util.sh('echo hello > %s' % qpath(mnt, q))
    util.sh('echo again >> %s' % qpath(mnt, q))
    util.sh('printf "no newline" > %s' % qpath(mnt, q, by_id=True))
    assert drain(q) == [(b'hello\n', 1), (b'again\n', 1), (b'no newline', 1)]


def test_each_write_one_message_exact_bytes(mnt, ipc):
    q = ipc.msq()
    data = bytes(range(256)) * 4
    fd = os.open(qpath(mnt, q), os.O_WRONLY | os.O_TRUNC)
    try:
        assert os.write(fd, data[:1000]) == 1000
        assert os.pwrite(fd, b'\x00', 12345) == 1    # offsets ignored
        assert os.write(fd, b'x') == 1
    finally:
        os.close(fd)
    assert drain(q) == [(data[:1000], 1), (b'\x00', 1), (b'x', 1)]


def test_zero_byte_write_sends_nothing(mnt, ipc):
    # the kernel never passes a 0-byte write to the daemon
    q = ipc.msq()
    assert write_once(qpath(mnt, q), b'') == 0
    assert write_once(qpath(mnt, q, stream=4), b'') == 0
    assert qnum(q) == 0


def test_write_longer_than_msgmax_emsgsize(mnt, ipc):
    q = ipc.msq()
    msgmax = int(open('/proc/sys/kernel/msgmax').read())
    assert write_once(qpath(mnt, q), b'm' * (msgmax + 1)) == errno.EMSGSIZE
    assert write_once(qpath(mnt, q), b'm' * (4 * 1024 * 1024)) == \
        errno.EMSGSIZE
    assert write_once(qpath(mnt, q, stream=2), b'm' * (msgmax + 1)) == \
        errno.EMSGSIZE
    assert qnum(q) == 0
    # the kernel's own answer for the same: msgsnd EINVAL
    with pytest.raises(ValueError):
        q.send(b'm' * (msgmax + 1))
    assert write_once(qpath(mnt, q), b'm' * msgmax) == msgmax
    assert qnum(q) == 1


def test_write_longer_than_queue_limit_emsgsize(mnt, ipc):
    q = ipc.msq()
    set_qbytes(q, 16)
    assert write_once(qpath(mnt, q), b'x' * 17) == errno.EMSGSIZE
    assert write_once(qpath(mnt, q), b'x' * 16) == 16
    assert qnum(q) == 1


def test_truncate_and_o_trunc_change_nothing(mnt, ipc):
    q = ipc.msq()
    fill(q)
    util.run(['truncate', '-s', '0', qpath(mnt, q)])
    os.truncate(qpath(mnt, q), 5)
    os.close(os.open(qpath(mnt, q), os.O_WRONLY | os.O_TRUNC))
    assert qnum(q) == len(MESSAGES)
    # touch on an existing queue: accepted, nothing else changes
    util.run(['touch', qpath(mnt, q)])
    assert drain(q) == MESSAGES


# ------------------------------------------------------------------
# Streams
# ------------------------------------------------------------------

RULE_MESSAGES = [(b'a5', 5), (b'b2', 2), (b'c9', 9), (b'd2', 2), (b'e1', 1),
                 (b'f7', 7), (b'g3', 3)]


@pytest.mark.parametrize('rule', [[0, 0, 0], [2, 2, 9], [-4, -4, -4, -4],
                                  [-1, 7, 0, -100, -100],
                                  [9, 5, -3, 0, 0, 7]])
def test_stream_reads_follow_msgrcv_rule(mnt, ipc, rule):
    q, twin = ipc.msq(), ipc.msq()
    fill(q, RULE_MESSAGES)
    fill(twin, RULE_MESSAGES)
    for t in rule:
        try:
            want = twin.receive(block=False, type=t)[0]
        except sysv_ipc.BusyError:
            want = errno.EAGAIN
        got = read_errno(qpath(mnt, q, stream=t), flags=os.O_NONBLOCK)
        assert got == want, t
    assert drain(q) == drain(twin)


def test_cat_stream_prints_as_they_arrive(mnt, ipc, procs):
    q = ipc.msq()
    q.send(b'one\n')
    p = procs.spawn(['cat', qpath(mnt, q, stream=0)])
    assert p.stdout.readline() == b'one\n'
    util.sh('echo two > %s' % qpath(mnt, q))
    assert p.stdout.readline() == b'two\n'
    q.send(b'three\n', type=8)
    assert p.stdout.readline() == b'three\n'
    blocked(mnt)
    os.killpg(p.pid, signal.SIGINT)
    p.wait(timeout=util.PROMPT)
    assert qnum(q) == 0


def test_stream_write_sends_its_type(mnt, ipc):
    q = ipc.msq()
    assert write_once(qpath(mnt, q, stream=7), b'seven') == 5
    util.sh('echo big > %s' % qpath(mnt, q, stream=2 ** 62))
    util.sh('echo byid > %s' % qpath(mnt, q, by_id=True, stream=3))
    assert drain(q) == [(b'seven', 7), (b'big\n', 2 ** 62), (b'byid\n', 3)]


@pytest.mark.parametrize('t', [0, -1, -2 ** 62])
def test_stream_write_type_below_1_einval(mnt, ipc, t):
    q = ipc.msq()
    assert write_once(qpath(mnt, q, stream=t), b'nope') == errno.EINVAL
    assert qnum(q) == 0


def test_stream_read_buffer_too_small_emsgsize_keeps_it(mnt, ipc):
    q = ipc.msq()
    q.send(b'0123456789', type=4)
    q.send(b'after')
    assert read_errno(qpath(mnt, q, stream=0), size=9) == errno.EMSGSIZE
    assert read_errno(qpath(mnt, q, stream=4), size=1) == errno.EMSGSIZE
    assert qnum(q) == 2
    # the message stays first
    assert read_errno(qpath(mnt, q, stream=0), size=10) == b'0123456789'
    assert drain(q) == [(b'after', 1)]


def test_stream_empty_message_reads_zero_bytes(mnt, ipc):
    q = ipc.msq()
    q.send(b'', type=2)
    q.send(b'x')
    assert read_errno(qpath(mnt, q, stream=0)) == b''
    assert qnum(q) == 1


def test_nonblock_eagain_both_ways(mnt, ipc):
    q = ipc.msq()
    t = time.monotonic()
    assert read_errno(qpath(mnt, q, stream=0), flags=os.O_NONBLOCK) == \
        errno.EAGAIN
    assert read_errno(qpath(mnt, q, stream=3), flags=os.O_NONBLOCK) == \
        errno.EAGAIN
    set_qbytes(q, 4)
    q.send(b'full')
    assert write_once(qpath(mnt, q), b'more', os.O_NONBLOCK) == errno.EAGAIN
    assert write_once(qpath(mnt, q, stream=2), b'more', os.O_NONBLOCK) == \
        errno.EAGAIN
    assert time.monotonic() - t < util.PROMPT
    assert drain(q) == [(b'full', 1)]


def test_blocked_read_released_by_write(mnt, ipc, procs):
    q = ipc.msq()
    r = one_call(procs, qpath(mnt, q, stream=6), 100)
    blocked(mnt)
    q.send(b'not for it', type=2)
    time.sleep(0.3)
    assert r.poll() is None
    util.sh('printf hi > %s' % qpath(mnt, q, stream=6))
    assert result(r) == 'OK ' + b'hi'.hex()
    assert drain(q) == [(b'not for it', 2)]


def test_blocked_write_released_by_read(mnt, ipc, procs):
    q = ipc.msq()
    set_qbytes(q, 4)
    q.send(b'full')
    w = one_call(procs, qpath(mnt, q, stream=9), 'w:' + b'next'.hex())
    blocked(mnt, nrs=(util.SYS_MSGSND,))
    assert w.poll() is None
    assert q.receive() == (b'full', 1)
    assert result(w) == 'OK 4'
    assert drain(q) == [(b'next', 9)]


def test_blocked_stream_blocks_nothing_else(mnt, ipc, procs):
    q, other = ipc.msq(), ipc.msq()
    q.send(b'x')
    readers = [one_call(procs, qpath(mnt, q, stream=5), 64)
               for _ in range(3)]
    blocked(mnt, 3)
    # the same queue stays readable, writable and listable
    assert util.run(['cat', qpath(mnt, q)], timeout=util.PROMPT).out == b'x'
    util.sh('echo w > %s' % qpath(mnt, q), timeout=util.PROMPT)
    util.sh('echo o > %s' % qpath(mnt, other), timeout=util.PROMPT)
    util.run(['ls', '-l', mnt.p('sysv-msg')], timeout=util.PROMPT)
    assert qnum(q) == 2 and qnum(other) == 1
    for _ in readers:
        q.send(b'five', type=5)
    for r in readers:
        assert result(r) == 'OK ' + b'five'.hex()


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGKILL])
def test_ctrl_c_blocked_cat_takes_nothing(mnt, ipc, procs, sig):
    q = ipc.msq()
    c = procs.spawn(['cat', qpath(mnt, q, stream=0)])
    blocked(mnt)
    os.killpg(c.pid, sig)
    try:
        rc = c.wait(timeout=util.PROMPT)
    except subprocess.TimeoutExpired:
        raise AssertionError('cat still blocked %.0f s after %s'
                             % (util.PROMPT, sig.name))
    assert rc in (-sig, 128 + sig), rc
    util.wait_until(lambda: util.daemon_in_syscall(
        mnt.pid, (util.SYS_MSGRCV,)) == 0, what='no receive left')
    # the cancelled read must not take a later message
    q.send(b'later')
    time.sleep(1.0)
    assert drain(q) == [(b'later', 1)]


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupted_reader_gets_eintr(mnt, ipc, procs, sig):
    q = ipc.msq()
    r = one_call(procs, qpath(mnt, q, stream=0), 64, survive=True)
    blocked(mnt)
    r.send_signal(sig)
    assert result(r) == 'EINTR'
    q.send(b'kept')
    time.sleep(1.0)
    assert qnum(q) == 1


def test_interrupted_writer_sends_nothing(mnt, ipc, procs):
    q = ipc.msq()
    set_qbytes(q, 4)
    q.send(b'full')
    w = one_call(procs, qpath(mnt, q), 'w:' + b'nope'.hex(), survive=True)
    blocked(mnt, nrs=(util.SYS_MSGSND,))
    w.send_signal(signal.SIGINT)
    assert result(w) == 'EINTR'
    assert q.receive() == (b'full', 1)
    time.sleep(1.0)
    assert qnum(q) == 0


def test_rm_under_100_blocked_readers_all_eidrm(mnt, ipc, procs):
    N = 100
    q = ipc.msq()
    readers = [one_call(procs, qpath(mnt, q, stream=random.choice(
        [0, 1, -5])), 64, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(N)]
    blocked(mnt, N, timeout=60)
    writer_q = ipc.msq()
    set_qbytes(writer_q, 1)
    writer_q.send(b'f')
    w = one_call(procs, qpath(mnt, writer_q), 'w:' + b'x'.hex())
    blocked(mnt, nrs=(util.SYS_MSGSND,))
    os.unlink(qpath(mnt, q))
    os.unlink(qpath(mnt, writer_q))
    deadline = time.monotonic() + 60
    for r in readers:
        assert result(r, timeout=max(1, deadline - time.monotonic())) == \
            'EIDRM'
    assert result(w) == 'EIDRM'


def test_ipcrm_wakes_reader_eidrm(mnt, ipc, procs):
    q = ipc.msq()
    r = one_call(procs, qpath(mnt, q, by_id=True, stream=0), 64)
    blocked(mnt)
    util.run(['ipcrm', '-q', str(q.id)])
    assert result(r) == 'EIDRM'


def test_killed_blocked_readers_take_nothing(mnt, ipc, procs):
    """Readers killed while blocked take nothing; readers that live get
    each message exactly once."""
    q = ipc.msq()
    sent, got = [], []
    for i in range(30):
        r = procs.spawn(['cat', qpath(mnt, q, stream=0)])
        blocked(mnt)
        if i % 3 == 0:
            msg = b'message %d\n' % i
            q.send(msg)
            sent.append(msg)
            got.append(r.stdout.readline())
        os.killpg(r.pid, random.choice([signal.SIGINT, signal.SIGKILL]))
        r.wait(timeout=util.PROMPT)
        util.wait_until(lambda: util.daemon_in_syscall(
            mnt.pid, (util.SYS_MSGRCV,)) == 0, what='no receive left')
        assert qnum(q) == 0
    assert got == sent
    q.send(b'last')
    time.sleep(0.6)
    assert drain(q) == [(b'last', 1)]


def test_killing_readers_while_a_writer_counts(mnt, ipc, procs):
    """Readers are killed at random while messages flow: no message is
    ever delivered twice, and a message is missing only where a reader
    was killed between taking it and printing it (at most one per kill)."""
    q = ipc.msq()
    N = 300
    writer = procs.py('''
        import sysv_ipc, time
        q = sysv_ipc.MessageQueue(%d)
        for i in range(%d):
            q.send(b'%%06d\\n' %% i)
            if i %% 2 == 0:
                time.sleep(0.01)
        print('done', flush=True)
    ''' % (q.key, N))
    outs, kills = [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = procs.spawn(['cat', qpath(mnt, q, stream=0)],
                        stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.005, 0.05))
        os.killpg(r.pid, signal.SIGKILL)
        kills += 1
        out, _ = r.communicate(timeout=util.PROMPT)
        outs.append(out)
        if writer.poll() is not None and qnum(q) == 0:
            break
    assert writer.wait(timeout=60) == 0
    rest = [m for m, _ in drain(q)]
    lines = b''.join(outs).split(b'\n')[:-1] + \
        [m.rstrip(b'\n') for m in rest]
    seen = [int(x) for x in lines]
    assert len(seen) == len(set(seen)), 'a message arrived twice'
    missing = set(range(N)) - set(seen)
    assert len(missing) <= kills, (len(missing), kills)
    util.run(['true'])
    print('killed %d readers, %d of %d messages lost in a killed reader'
          % (kills, len(missing), N))


# ------------------------------------------------------------------
# Permissions, ownership, create, remove
# ------------------------------------------------------------------

KERNEL_OP = '''
import sysv_ipc
try:
    # mode 0: msgget asks for no permission, the operation does
    q = sysv_ipc.MessageQueue(%d, mode=0)
    if %r == 'send':
        q.send(b'k', block=False)
    else:
        q.receive(block=False)
    print('OK')
except sysv_ipc.PermissionsError:
    print('EACCES')
except sysv_ipc.BusyError:
    print('OK')
'''


@pytest.mark.parametrize('mode', [0o600, 0o602, 0o604, 0o606, 0o620, 0o640,
                                  0o660, 0o622, 0o644])
def test_permissions_match_the_kernel(mnt, ipc, mode):
    q = ipc.msq(mode=mode)
    q.gid = util.NOGROUP if mode & 0o070 and mode != 0o644 else 0
    for op in ('send', 'receive'):
        q.send(b'seed')
        kernel = util.py(KERNEL_OP % (q.key, op), uid=util.NOBODY).text \
            .strip()
        drain(q)
        q.send(b'seed')
        if op == 'send':
            through = [util.op_as('''
                fd = os.open(%r, os.O_WRONLY)
                os.write(fd, b'w')
            ''' % p) for p in (qpath(mnt, q), qpath(mnt, q, stream=3))]
        else:
            # reading, even a snapshot, needs read permission
            through = [util.op_as('''
                fd = os.open(%r, os.O_RDONLY | os.O_NONBLOCK)
                os.read(fd, 100)
            ''' % p) for p in (qpath(mnt, q), qpath(mnt, q, stream=0))]
        drain(q)
        assert through == [kernel, kernel], (oct(mode), op, through, kernel)


def test_touch_creates_with_mode_and_caller_as_owner(mnt, ipc, umask022):
    k = ipc.key()
    path = mnt.p('sysv-msg', util.keyname(k))
    util.run(['touch', path])
    r = util.msg_by_key(k)
    assert r is not None
    ipc.add_msqid(r['msqid'])
    assert r['mode'] == 0o644
    assert (r['uid'], r['cuid']) == (0, 0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    # as another user: owner and creator are theirs
    k2 = ipc.key()
    path2 = mnt.p('sysv-msg', util.keyname(k2))
    util.sh('umask 0; : > %s' % path2, uid=util.NOBODY)
    r = util.msg_by_key(k2)
    ipc.add_msqid(r['msqid'])
    assert (r['uid'], r['gid'], r['cuid'], r['cgid']) == \
        (util.NOBODY, util.NOGROUP, util.NOBODY, util.NOGROUP)
    assert r['mode'] == 0o666


def test_odd_create_modes_exact(mnt, ipc):
    old = os.umask(0)
    try:
        for mode in (0o602, 0o620, 0o606, 0o400):
            k = ipc.key()
            fd = os.open(mnt.p('sysv-msg', util.keyname(k)),
                         os.O_CREAT | os.O_RDONLY, mode)
            os.close(fd)
            ipc.add_msqid(util.msg_by_key(k)['msqid'])
            assert util.msg_by_key(k)['mode'] == mode
    finally:
        os.umask(old)


def test_create_through_stream_makes_queue_and_sends(mnt, ipc, umask022):
    k = ipc.key()
    util.sh('echo hi > %s@5' % mnt.p('sysv-msg', util.keyname(k)))
    r = util.msg_by_key(k)
    ipc.add_msqid(r['msqid'])
    q = sysv_ipc.MessageQueue(k)
    assert drain(q) == [(b'hi\n', 5)]


def test_create_existing_leaves_it(mnt, ipc):
    q = ipc.msq(mode=0o600)
    q.send(b'kept')
    fd = os.open(qpath(mnt, q), os.O_CREAT | os.O_WRONLY, 0o666)
    os.close(fd)
    util.expect_errno(errno.EEXIST, os.open, qpath(mnt, q),
                      os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    assert util.msg_by_id(q.id)['mode'] == 0o600
    assert drain(q) == [(b'kept', 1)]


def test_create_in_id_folder_refused(mnt, ipc):
    util.expect_errno(errno.EPERM, os.open, mnt.p('sysv-msg', 'id', '12345'),
                      os.O_CREAT | os.O_WRONLY, 0o600)


def test_chmod_chown_are_ipc_set(mnt, ipc):
    q = ipc.msq(mode=0o600)
    os.chmod(qpath(mnt, q), 0o640)
    os.chown(qpath(mnt, q), util.NOBODY, util.NOGROUP)
    r = util.msg_by_id(q.id)
    assert (r['mode'], r['uid'], r['gid'], r['cuid']) == \
        (0o640, util.NOBODY, util.NOGROUP, 0)
    st = os.stat(qpath(mnt, q))
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o640, util.NOBODY)
    # another user: EPERM, as IPC_SET
    q2 = ipc.msq(mode=0o666)
    assert util.op_as('os.chmod(%r, 0o600)' % qpath(mnt, q2)) == 'EPERM'
    assert util.msg_by_id(q2.id)['mode'] == 0o666


def test_rm(mnt, ipc):
    q = ipc.msq()
    q.send(b'x')
    # a stream is not the queue
    util.expect_errno(errno.EPERM, os.unlink, qpath(mnt, q, stream=0))
    # another user may not remove it
    assert util.op_as('os.unlink(%r)' % qpath(mnt, q)) == 'EPERM'
    assert util.msg_by_id(q.id) is not None
    util.run(['rm', qpath(mnt, q)])
    assert util.msg_by_id(q.id) is None
    util.expect_errno(errno.ENOENT, os.stat, qpath(mnt, q))
    priv = ipc.msq(private=True)
    os.unlink(qpath(mnt, priv, by_id=True))
    assert util.msg_by_id(priv.id) is None


def test_name_reaches_new_queue_after_recreate(mnt, ipc):
    k = ipc.key()
    q = ipc.msq(key=k)
    q.send(b'old')
    fd = os.open(qpath(mnt, q), os.O_RDONLY)
    try:
        q.remove()
        q2 = ipc.msq(key=k)
        q2.send(b'new')
        assert util.read_file(qpath(mnt, q2)) == b'new'
        util.expect_errno((errno.ENOENT, errno.EIDRM), os.pread, fd, 10, 0)
    finally:
        os.close(fd)


# ------------------------------------------------------------------
# Metadata, other programs
# ------------------------------------------------------------------

def test_xattrs(mnt, ipc):
    q = ipc.msq()
    q.send(b'abc')
    util.py('''
        import sysv_ipc
        sysv_ipc.MessageQueue(%d).send(b'de')
    ''' % q.key)
    q.receive()
    r = util.msg_by_id(q.id)
    want = {'key': util.keyname(q.key), 'msqid': str(q.id), 'qnum': '1',
            'qbytes': str(q.max_size), 'lspid': str(r['lspid']),
            'lrpid': str(os.getpid())}
    for path in (qpath(mnt, q), qpath(mnt, q, by_id=True)):
        assert getfattr(path) == {'user.ipc.' + a: v
                                  for a, v in want.items()}
    dirs = getfattr(mnt.p('sysv-msg'))
    assert dirs['user.ipc.msgmax'] == \
        open('/proc/sys/kernel/msgmax').read().strip()
    assert dirs['user.ipc.msgmnb'] == \
        open('/proc/sys/kernel/msgmnb').read().strip()
    assert dirs['user.ipc.msgmni'] == \
        open('/proc/sys/kernel/msgmni').read().strip()
    util.expect_errno((errno.ENOTSUP, errno.EPERM), os.setxattr,
                      qpath(mnt, q), 'user.ipc.qnum', b'5')


def test_ipcmk_and_ipcs(mnt, ipc):
    out = util.run(['ipcmk', '-Q', '-p', '0640']).text
    msqid = ipc.add_msqid(int(out.strip().split(':')[-1]))
    r = util.msg_by_id(msqid)
    assert util.keyname(r['key']) in os.listdir(mnt.p('sysv-msg'))
    assert str(msqid) in os.listdir(mnt.p('sysv-msg', 'id'))
    path = mnt.p('sysv-msg', 'id', str(msqid))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    util.sh('echo 12345 > %s; printf 678 > %s' % (path, path))
    row = util.ipcs_msg_row(msqid)
    assert (row['bytes'], row['messages']) == (9, 2)
    assert util.read_file(path) == b'12345\n678'


def test_python_client_both_ways(mnt, ipc):
    q = ipc.msq()
    util.py('''
        import sysv_ipc
        q = sysv_ipc.MessageQueue(%d)
        q.send(b'from python', type=3)
    ''' % q.key)
    assert read_errno(qpath(mnt, q, stream=3)) == b'from python'
    util.sh('printf "to python" > %s' % qpath(mnt, q, stream=11))
    res = util.py('''
        import sysv_ipc
        print(sysv_ipc.MessageQueue(%d).receive(block=False))
    ''' % q.key)
    assert res.text.strip() == "(b'to python', 11)"


def test_waiter_bound_refuses_stream_at_once_takes_nothing(mount_factory,
                                                            ipc, procs):
    limit = 2
    m = mount_factory(opts=['max_waiters=1000',
                            'max_waiters_per_user=%d' % limit])
    q = ipc.msq(mode=0o666)
    mine = [one_call(procs, qpath(m, q, stream=5), 64, uid=util.NOBODY)
            for _ in range(limit)]
    blocked(m, limit)
    # past the bound: at once, EBUSY (not EAGAIN), nothing taken
    t0 = time.monotonic()
    assert util.op_as('''
        fd = os.open(%r, os.O_RDONLY)
        os.read(fd, 64)
    ''' % qpath(m, q, stream=0)) == 'EBUSY'
    assert time.monotonic() - t0 < util.PROMPT
    q.send(b'later')
    time.sleep(0.5)
    assert qnum(q) == 1
    # a message that is there needs no place: taken at once all the same
    assert util.op_as('''
        fd = os.open(%r, os.O_RDONLY)
        assert os.read(fd, 64) == b'later'
    ''' % qpath(m, q, stream=1)) == 'OK'
    q.send(b'a', type=5)
    q.send(b'b', type=5)
    assert sorted(result(p) for p in mine) == ['OK ' + b'a'.hex(),
                                               'OK ' + b'b'.hex()]
    assert qnum(q) == 0
