"""Hardening: the libFuzzer harnesses of core's parsers, short form.

Builds tests/fuzz/fuzz_*.c against core/ and runs each target briefly over
its checked-in corpus (every crash ever found is kept there as a
regression input).  IPCFS_FUZZ_SECONDS sets the time per target (default 3,
60 with IPCFS_LONG=1; `tests/fuzz/run 600` is the documented long run).
Needs no mount.
"""

import os
import re
import subprocess

import pytest

from test_hardening_lib import extend_watchdog, record

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, 'fuzz', 'run')


def fuzz_seconds():
    if os.environ.get('IPCFS_FUZZ_SECONDS'):
        return int(os.environ['IPCFS_FUZZ_SECONDS'])
    return 60 if os.environ.get('IPCFS_LONG') == '1' else 3


def test_fuzz_parsers_short_run():
    seconds = fuzz_seconds()
    extend_watchdog(180 + 6 * seconds)
    p = subprocess.run([RUN, str(seconds)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120 + 10 * seconds,
                       cwd='/')
    out = p.stdout.decode(errors='replace')
    if p.returncode == 0 and 'fuzz: skipped' in out:
        pytest.skip(out.strip().splitlines()[-1])
    assert p.returncode == 0, out
    # Every target ran, and ran inputs.
    for target in ('sem_cmd', 'key', 'id', 'size', 'name', 'stream'):
        assert 'fuzz: %s: ok,' % target in out, out
    assert 'no crash' in out, out
    m = re.search(r'fuzz: (\d+) inputs in total', out)
    assert m and int(m.group(1)) > 0, out
    record('fuzz inputs', int(m.group(1)))
