"""Hardening: load.

- stress-ng --shm-sysv, --shm and --sem-sysv run beside loops of `ls -l`,
  `cat` and `echo post` / `echo wait` over the mount, for a bounded time
  (10 s; 60 s with IPCFS_LONG=1): no daemon crash, no error except for
  objects that vanished under the loops (ENOENT, or EIDRM for a semaphore
  removed after its open), and the daemon's fds, threads, private memory
  and attachments back to their baseline afterwards.  The daemon and
  stress-ng share a private IPC namespace, so whatever stress-ng leaves
  behind dies with it.
- N concurrent waiters on one semaphore (300; 1,000 with IPCFS_LONG=1)
  released by N posts: every waiter returns, the value ends at 0, the
  mount keeps answering while they block, the daemon's thread count stays
  bounded and comes back down.
"""

import json
import os
import re
import subprocess
import time

import pytest

import util
from test_hardening_lib import (LONG, DaemonStats, extend_watchdog, record,
                                start_waiters, wait_back_to_baseline,
                                wait_for_ncnt)
from test_cli import assert_one_error_line, run_daemon
from conftest import is_mounted

STRESS_SECONDS = 60 if LONG else 10
WAITERS = 1000 if LONG else 300


def have_stress_ng():
    return subprocess.run(['sh', '-c', 'command -v stress-ng'],
                          stdout=subprocess.DEVNULL).returncode == 0


def timed_loop(body):
    """A shell loop: body, again and again for %d seconds (the first
    argument), then how many rounds it counted in n."""
    return ('\nend=$(( $(date +%%s) + %d )); n=0\n'
            'while [ "$(date +%%s)" -lt "$end" ]; do' + body +
            'done\necho "$n"\n')


# Each loop prints its count of operations on its last line; errors go to
# stderr as the tools print them.
LS_LOOP = timed_loop(r'''
    ls -l %s/sysv %s/sysv/id %s/posix %s/sem > /dev/null
    n=$((n + 1))
''')

CAT_LOOP = timed_loop(r'''
    for f in %s/sysv/0x* %s/posix/* %s/sem/*; do
        [ -e "$f" ] || continue
        head -c 65536 "$f" > /dev/null
        n=$((n + 1))
    done
''')

SEM_LOOP = timed_loop(r'''
    echo post > %s || exit 1
    echo wait >> %s || exit 1
    n=$((n + 2))
''')

# What a tool prints for an object that vanished between its readdir and
# its stat/open/read.
VANISHED = re.compile(r'(No such file or directory|Identifier removed)$')


def unexpected_errors(stderr):
    return [line for line in stderr.splitlines()
            if line.strip() and not VANISHED.search(line)]


def finish_stress(m, stress, loops, seconds, shm_before=None,
                  shm_prefixes=('stress-ng',)):
    """Waits for stress-ng and the loops run beside it, removes what
    stress-ng left in /dev/shm (its own to remove; make sure), and checks
    that the daemon lived and every run succeeded without unexpected
    errors.  Returns the operations counted by each loop and stress-ng's
    output (stderr, then stdout)."""
    timeout = seconds + 60
    s_out, s_err = stress.communicate(timeout=timeout)
    results = {}
    for what, proc in loops.items():
        out, err = proc.communicate(timeout=timeout)
        results[what] = (proc.returncode, out.decode(),
                         err.decode(errors='replace'))
    if shm_before is not None:
        for n in set(os.listdir('/dev/shm')) - shm_before:
            if n.startswith(shm_prefixes):
                try:
                    os.unlink('/dev/shm/' + n)
                except FileNotFoundError:
                    pass
    assert m.alive(), 'daemon died:\n' + m.stderr()
    assert stress.returncode == 0, (s_out, s_err)
    ops = {}
    for what, (rc, out, err) in results.items():
        bad = unexpected_errors(err)
        assert rc == 0 and not bad, '%s: exit %d, errors:\n%s' % (
            what, rc, '\n'.join(bad[:20]))
        ops[what] = int(out.strip().splitlines()[-1])
        assert ops[what] > 0, what
    return ops, s_err.decode() + s_out.decode()


def test_stress_ng_beside_ls_cat_post(ns_mount_factory, ipc, procs):
    if not have_stress_ng():
        pytest.skip('stress-ng is not installed')
    extend_watchdog(STRESS_SECONDS + 180)
    m = ns_mount_factory()
    # Objects of our own, in the daemon's namespace and in /dev/shm.
    name = ipc.name('load')
    semp = os.path.join(m.sem, name)
    with open(semp, 'w'):
        pass
    seg = os.path.join(m.sysv, util.keyname(util.random_key()))
    util.run(['truncate', '-s', '64K', seg])
    with open(os.path.join(m.posix, ipc.name('load')), 'wb') as f:
        f.write(b'load' * 1024)
    # Warm up (first-use allocations), then take the baseline.
    util.run(['ls', '-l', m.sysv, m.ids, m.posix, m.sem], rc=None)
    base = DaemonStats(m.pid)
    shm_before = set(os.listdir('/dev/shm'))

    stress = procs.spawn(m.nsenter([
        'stress-ng', '--shm-sysv', '1', '--shm', '1', '--sem-sysv', '1',
        '--timeout', '%ds' % STRESS_SECONDS, '--metrics-brief']))
    p = m.path
    loops = {
        'ls -l': procs.sh(LS_LOOP % (STRESS_SECONDS, p, p, p, p)),
        'cat': procs.sh(CAT_LOOP % (STRESS_SECONDS, p, p, p)),
        'echo post/wait': procs.sh(SEM_LOOP % (STRESS_SECONDS, semp, semp)),
    }
    ops, s_text = finish_stress(m, stress, loops, STRESS_SECONDS, shm_before)
    assert util.read_file(semp) == b'0\n'
    after = wait_back_to_baseline(m.pid, base)
    bogo = sum(int(x) for x in re.findall(
        r'\] (?:shm-sysv|shm|sem-sysv)\s+(\d+)\s', s_text))
    record('load operations', sum(ops.values()) + bogo)
    record('load seconds', STRESS_SECONDS)
    print('load: %d s, ops %r, stress-ng bogo ops %d, daemon %r -> %r'
          % (STRESS_SECONDS, ops, bogo, base, after))


def test_many_waiters_released_by_posts(mnt, ipc, procs):
    n = WAITERS
    extend_watchdog(240 if LONG else 120)
    name = ipc.name('many')
    s = ipc.sem(value=0, name=name)
    p = os.path.join(mnt.sem, name)
    util.run(['ls', '-l', mnt.sem], rc=None)
    base = DaemonStats(mnt.pid)
    waiters = start_waiters(procs, p, n)
    wait_for_ncnt(s.key, n, timeout=60)
    # The rest of the filesystem keeps answering while they block.
    t0 = time.monotonic()
    assert util.read_file(p) == b'0\n'
    assert name in os.listdir(mnt.sem)
    util.run(['ls', '-l', mnt.sysv, mnt.posix, mnt.sem], rc=None)
    assert time.monotonic() - t0 < util.PROMPT
    busy = DaemonStats(mnt.pid)
    # One thread per blocked wait at most, plus the loop's workers.
    assert busy.threads <= base.threads + n + 20, (base, busy)
    # n posts, one write each, from another process.
    poster = util.py('''
        import os
        fd = os.open(%r, os.O_WRONLY)
        for _ in range(%d):
            os.write(fd, b'post\\n')
        os.close(fd)
        print('done')
        ''' % (p, n), timeout=120)
    assert poster.text.strip() == 'done'
    out, err = waiters.communicate(timeout=60)
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert results == ['OK'] * n, {r: results.count(r) for r in results}
    assert s.value == 0
    assert util.sem_ncnt(s.key) == 0
    after = wait_back_to_baseline(mnt.pid, base, timeout=20)
    record('load operations', 2 * n)
    print('waiters: %d released by %d posts; daemon %r, busy %r, after %r'
          % (n, n, base, busy, after))


# Message queues: loops over the mount beside stress-ng's own queues.
MSG_LS_LOOP = timed_loop(r'''
    ls -l %s/sysv-msg %s/sysv-msg/id %s/posix-mq > /dev/null
    n=$((n + 1))
''')

# Reading every plain name: snapshots and status lines, never blocking.
MSG_CAT_LOOP = timed_loop(r'''
    for f in %s/sysv-msg/0x* %s/sysv-msg/id/* %s/posix-mq/*; do
        [ -e "$f" ] || continue
        cat "$f" > /dev/null
        n=$((n + 1))
    done
''')

MSG_GREP_LOOP = timed_loop(r'''
    # its status says whether a file vanished: stderr tells which
    grep -r -c canary %s/sysv-msg %s/posix-mq > /dev/null
    n=$((n + 1))
''')

# One message sent, then taken through the stream (one read(2) each).
MSG_STREAM_LOOP = timed_loop(r'''
    echo "m $n" > %s || exit 1
    [ "$(dd if=%s@0 bs=65536 count=1 status=none)" = "m $n" ] || exit 1
    n=$((n + 2))
''')


def test_stress_ng_msg_mq_beside_loops(ns_mount_factory, ipc, procs):  # noqa: F811,E501
    if not have_stress_ng():
        pytest.skip('stress-ng is not installed')
    extend_watchdog(STRESS_SECONDS + 180)
    m = ns_mount_factory()
    p = m.path
    # ours, in the daemon's namespace: two for the stream loops, two
    # canaries that only ever get looked at
    sq = os.path.join(p, 'sysv-msg', util.keyname(util.random_key()))
    pq = os.path.join(p, 'posix-mq', ipc.mq_name('load'))
    canary_s = os.path.join(p, 'sysv-msg', util.keyname(util.random_key()))
    canary_p = os.path.join(p, 'posix-mq', ipc.mq_name('canary'))
    for q in (sq, pq, canary_s, canary_p):
        util.run(['touch', q])
    for i in range(3):
        util.sh('echo canary %d > %s; echo canary %d > %s@%d'
                % (i, canary_s, i, canary_p, i))
    canary_s_bytes = util.read_file(canary_s)
    assert canary_s_bytes == b'canary 0\ncanary 1\ncanary 2\n'
    util.run(['ls', '-l', p + '/sysv-msg', p + '/posix-mq'], rc=None)
    base = DaemonStats(m.pid)

    stress = procs.spawn(m.nsenter([
        'stress-ng', '--msg', '1', '--mq', '1',
        '--timeout', '%ds' % STRESS_SECONDS, '--metrics-brief']))
    loops = {
        'ls -l': procs.sh(MSG_LS_LOOP % (STRESS_SECONDS, p, p, p)),
        'cat': procs.sh(MSG_CAT_LOOP % (STRESS_SECONDS, p, p, p)),
        'grep -r': procs.sh(MSG_GREP_LOOP % (STRESS_SECONDS, p, p)),
        'sysv stream': procs.sh(MSG_STREAM_LOOP % (STRESS_SECONDS, sq, sq)),
        'mq stream': procs.sh(MSG_STREAM_LOOP % (STRESS_SECONDS, pq, pq)),
    }
    ops, s_text = finish_stress(m, stress, loops, STRESS_SECONDS)
    # looking took nothing
    assert util.read_file(canary_s) == canary_s_bytes
    assert util.read_file(canary_p).startswith(b'QSIZE:27 ')
    for q in (sq, pq, canary_s, canary_p):
        os.unlink(q)
    after = wait_back_to_baseline(m.pid, base)
    bogo = sum(int(x) for x in re.findall(
        r'\] (?:msg|mq)\s+(\d+)\s', s_text))
    record('load operations', sum(ops.values()) + bogo)
    print('msg load: %d s, ops %r, stress-ng bogo ops %d, daemon %r -> %r'
          % (STRESS_SECONDS, ops, bogo, base, after))
# ------------------------------------------------------------------
# Bounded waiters (issue 10): -o max_waiters=N, -o max_waiters_per_user=N
# ------------------------------------------------------------------

WAIT_ONE = '''
import errno, os, sys
try:
    fd = os.open(%r, os.O_WRONLY)
    os.write(fd, b'%s\\n')
    os.close(fd)
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
    sys.exit(1)
print('OK')
'''


def waiter(procs, path, uid, cmd='wait'):
    return procs.spawn([util.PYTHON, '-c', WAIT_ONE % (path, cmd)], uid=uid)


def result_of(p, timeout=util.PROMPT):
    out, _ = p.communicate(timeout=timeout)
    return out.decode().strip().splitlines()[-1]


def refused_at_once(path, uid, cmd='wait'):
    """What a wait beyond the bound gives, and that it came at once."""
    t0 = time.monotonic()
    res = util.run([util.PYTHON, '-c', WAIT_ONE % (path, cmd)], uid=uid,
                   rc=None, timeout=util.PROMPT)
    return res.text.strip().splitlines()[-1], time.monotonic() - t0


def test_waiters_per_user_bound(mount_factory, ipc, procs):
    limit = 3
    m = mount_factory(opts=['max_waiters=1000',
                            'max_waiters_per_user=%d' % limit])
    name = ipc.name('bound')
    s = ipc.sem(value=0, name=name, mode=0o666)
    p = os.path.join(m.sem, name)
    # every folder once first: what is opened once and kept (the /dev/shm
    # directory) belongs to the baseline
    util.run(['ls', '-l', m.sem, m.sysv, m.posix])
    util.run(['cat', p])
    base = DaemonStats(m.pid)

    mine = [waiter(procs, p, util.NOBODY) for _ in range(limit)]
    wait_for_ncnt(s.key, limit)
    # at the limit: this user's next wait fails at once, takes nothing
    got, took = refused_at_once(p, util.NOBODY)
    assert got == 'EBUSY' and took < util.PROMPT, (got, took)
    got, _ = refused_at_once(p, util.NOBODY, 'wait 2')
    assert got == 'EBUSY'
    # a shell sees the same, and trywait still says EAGAIN (told apart)
    res = util.run(['bash', '-c', 'echo wait > "$0"', p], uid=util.NOBODY,
                   rc='nonzero', timeout=util.PROMPT)
    assert 'Device or resource busy' in res.err, res
    assert refused_at_once(p, util.NOBODY, 'trywait')[0] == 'EAGAIN'
    assert s.value == 0 and util.sem_ncnt(s.key) == limit
    # another user's wait still blocks, and a post releases it
    other = waiter(procs, p, 4242)
    wait_for_ncnt(s.key, limit + 1)
    # the mount keeps answering
    t0 = time.monotonic()
    assert name in util.run(['ls', m.sem], timeout=util.PROMPT).text.split()
    assert util.read_file(p) == b'0\n'
    util.run(['ls', '-l', m.sysv, m.posix], timeout=util.PROMPT)
    assert time.monotonic() - t0 < util.PROMPT
    busy = DaemonStats(m.pid)
    assert busy.threads <= base.threads + limit + 1 + 20, (base, busy)
    # posts release exactly the blocked ones: the refused waits took no
    # place in the queue
    util.sh('echo "post %d" > %s' % (limit + 1, p), timeout=util.PROMPT)
    assert [result_of(w) for w in mine + [other]] == ['OK'] * (limit + 1)
    assert s.value == 0 and util.sem_ncnt(s.key) == 0
    # below the limit again: waits block as before
    again = waiter(procs, p, util.NOBODY)
    wait_for_ncnt(s.key, 1)
    util.sh('echo post > %s' % p, timeout=util.PROMPT)
    assert result_of(again) == 'OK'
    wait_back_to_baseline(m.pid, base, timeout=20)


def test_waiters_total_bound(mount_factory, ipc, procs):
    limit = 4
    m = mount_factory(opts=['max_waiters=%d' % limit,
                            'max_waiters_per_user=100'])
    name = ipc.name('bound')
    s = ipc.sem(value=0, name=name, mode=0o666)
    p = os.path.join(m.sem, name)
    util.run(['ls', '-l', m.sem, m.sysv, m.posix])
    base = DaemonStats(m.pid)
    blocked = [waiter(procs, p, uid) for uid in (util.NOBODY, util.NOBODY,
                                                 4242, 4343)]
    wait_for_ncnt(s.key, limit)
    for uid in (util.NOBODY, 4444, 0):
        got, took = refused_at_once(p, uid)
        assert got == 'EBUSY' and took < util.PROMPT, (uid, got, took)
    assert s.value == 0 and util.sem_ncnt(s.key) == limit
    assert util.read_file(p) == b'0\n'
    # a post still works at the bound, and frees a place
    util.sh('echo post > %s' % p, timeout=util.PROMPT)
    util.wait_until(lambda: util.sem_ncnt(s.key) == limit - 1,
                    what='one waiter released')
    late = waiter(procs, p, 4444)
    wait_for_ncnt(s.key, limit)
    util.sh('echo "post %d" > %s' % (limit, p), timeout=util.PROMPT)
    results = [result_of(w) for w in blocked + [late]]
    assert results == ['OK'] * (limit + 1), results
    assert s.value == 0
    wait_back_to_baseline(m.pid, base, timeout=20)


def test_waiter_bound_killed_waiters_free_their_places(mount_factory, ipc,
                                                       procs):
    """Waiters killed at the bound give their places back: the same user
    may wait again, and nothing was taken."""
    limit = 2
    m = mount_factory(opts=['max_waiters_per_user=%d' % limit])
    name = ipc.name('bound')
    s = ipc.sem(value=0, name=name, mode=0o666)
    p = os.path.join(m.sem, name)
    util.run(['ls', '-l', m.sem, m.sysv, m.posix])
    base = DaemonStats(m.pid)
    ws = [waiter(procs, p, util.NOBODY) for _ in range(limit)]
    wait_for_ncnt(s.key, limit)
    assert refused_at_once(p, util.NOBODY)[0] == 'EBUSY'
    for w in ws:
        util.kill_tree(w)
        w.wait(timeout=util.PROMPT)
    util.wait_until(lambda: util.sem_ncnt(s.key) == 0, what='waits cancelled')
    again = [waiter(procs, p, util.NOBODY) for _ in range(limit)]
    wait_for_ncnt(s.key, limit)
    util.sh('echo "post %d" > %s' % (limit, p), timeout=util.PROMPT)
    assert [result_of(w) for w in again] == ['OK'] * limit
    assert s.value == 0
    wait_back_to_baseline(m.pid, base, timeout=20)


@pytest.mark.parametrize('opt', ['max_waiters=abc', 'max_waiters=-1',
                                 'max_waiters_per_user=',
                                 'max_waiters_per_user=1x'])
def test_waiter_bound_bad_option(scratch_dir, opt):
    res = run_daemon(['-f', '-o', opt, scratch_dir])
    assert_one_error_line(res)
    assert 'max_waiters' in res.err, res
    assert not is_mounted(scratch_dir)


# ------------------------------------------------------------------
# sysv-sem/ and posix-sem/ under stress-ng's semaphore load (short form)
# ------------------------------------------------------------------

SEMSET_LS_LOOP = timed_loop(r'''
    ls -l %s/sysv-sem %s/sysv-sem/id %s/posix-sem > /dev/null
    n=$((n + 1))
''')

SEMSET_CAT_LOOP = timed_loop(r'''
    for f in %s/sysv-sem/0x* %s/sysv-sem/id/* %s; do
        [ -e "$f" ] || continue
        cat "$f" > /dev/null
        n=$((n + 1))
    done
''')

SEMSET_POST_LOOP = timed_loop(r'''
    printf "0:post\n2:post 2\n" > %s || exit 1
    printf "2:wait 2\n0:wait\n" >> %s || exit 1
    echo post > %s || exit 1
    echo wait >> %s || exit 1
    n=$((n + 4))
''')


def test_stress_ng_sem_beside_sysv_sem_posix_sem(ns_mount_factory, ipc,  # noqa: F811
                                                 procs):
    if not have_stress_ng():
        pytest.skip('stress-ng is not installed')
    seconds = STRESS_SECONDS
    extend_watchdog(seconds + 180)
    m = ns_mount_factory()
    key = util.random_key()
    setp = os.path.join(m.path, 'sysv-sem', util.keyname(key))
    util.run(['truncate', '-s', '3', setp])     # in the daemon's namespace
    pname = ipc.name('load')
    psemp = os.path.join(m.path, 'posix-sem', pname)
    util.run(['touch', psemp])
    util.run(['ls', '-l', os.path.join(m.path, 'sysv-sem'),
              os.path.join(m.path, 'posix-sem')], rc=None)
    base = DaemonStats(m.pid)
    shm_before = set(os.listdir('/dev/shm'))

    stress = procs.spawn(m.nsenter([
        'stress-ng', '--sem-sysv', '1', '--sem', '1',
        '--timeout', '%ds' % seconds, '--metrics-brief']))
    p = m.path
    loops = {
        'ls -l': procs.sh(SEMSET_LS_LOOP % (seconds, p, p, p)),
        'cat': procs.sh(SEMSET_CAT_LOOP % (seconds, p, p, psemp)),
        'echo post/wait': procs.sh(SEMSET_POST_LOOP % (
            seconds, setp, setp, psemp, psemp)),
    }
    ops, _ = finish_stress(m, stress, loops, seconds, shm_before,
                           ('stress-ng', 'sem.stress-ng'))
    assert util.read_file(setp) == b'0\n0\n0\n'
    assert util.read_file(psemp) == b'0\n'
    wait_back_to_baseline(m.pid, base)
    record('load operations', sum(ops.values()))
    print('sem load: %d s, ops %r' % (seconds, ops))
