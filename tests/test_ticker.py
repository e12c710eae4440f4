"""One ticker per host: every worker process starts a Ticker on the same lock file; only the holder ticks,
and another takes over when the holder stops (the kernel drops a dead process's lock the same way)."""
import threading
import time

import pytest

from automations import ticker


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def ticks(monkeypatch):
    """The names of the threads that ticked, in order (the tick itself is not what is tested here)."""
    names = []
    monkeypatch.setattr(ticker, "tick", lambda: names.append(threading.current_thread().name))
    monkeypatch.setattr(ticker, "close_old_connections", lambda: None)
    return names


def candidates(tmp_path, n=2):
    return [ticker.Ticker(interval=0.02, lock_path=tmp_path / "ticker-test.lock") for _ in range(n)]


def test_only_the_lock_holder_ticks_and_another_takes_over(tmp_path, ticks):
    first, second = candidates(tmp_path)
    first.name, second.name = "first", "second"
    first.start()
    assert _wait(lambda: "first" in ticks)
    second.start()
    time.sleep(0.3)
    assert set(ticks) == {"first"}  # the second waits for the lock
    first.stop()
    first.join(5)
    assert _wait(lambda: "second" in ticks)  # ... and ticks once the holder is gone
    second.stop()
    second.join(5)
    assert not first.is_alive() and not second.is_alive()


def test_a_stopped_candidate_never_ticks(tmp_path, ticks):
    holder, waiting = candidates(tmp_path)
    waiting.name = "waiting"
    holder.start()
    assert _wait(lambda: ticks)
    waiting.start()
    waiting.stop()
    waiting.join(5)
    holder.stop()
    holder.join(5)
    assert "waiting" not in ticks
