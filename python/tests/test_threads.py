"""The context's thread count from Python: by default one per online CPU, settable, range
checked (results do not depend on it: tests/unit/test_speed.c checks that bit for bit)."""
import os

import pytest

from sq25.core import Context, Error


def test_thread_count_setting():
    ctx = Context()
    assert ctx.threads == min(os.sysconf("SC_NPROCESSORS_ONLN"), 256)
    ctx.threads = 1
    assert ctx.threads == 1
    ctx.threads = 2
    assert ctx.threads == 2
    with pytest.raises(Error):
        ctx.threads = -1
    with pytest.raises(Error):
        ctx.threads = 257
    assert ctx.threads == 2
