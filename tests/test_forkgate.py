"""automations.forkgate: a fork waits for the threads' calls in progress, and threads wait for a fork.
Real threads and real os.fork()."""
import os
import queue
import threading
import time

from automations.forkgate import ForkGate, GatedBroker, GatedQueue


def fork_and_wait() -> int:
    """Fork a child that exits at once; return its exit status."""
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_fork_waits_for_the_call_in_progress():
    gate, events = ForkGate(), []
    inside, finish = threading.Event(), threading.Event()

    def call():
        inside.set()
        finish.wait(5)
        events.append("call ended")

    worker = threading.Thread(target=gate.call, args=(call,))
    worker.start()
    inside.wait(5)
    forker = threading.Thread(target=lambda: events.append(("forked", fork_and_wait())))
    forker.start()
    time.sleep(0.3)
    assert events == []  # the fork is waiting
    finish.set()
    forker.join(5)
    worker.join(5)
    assert events == ["call ended", ("forked", 7)]


def test_a_call_waits_while_a_fork_is_pending():
    events = []
    # registered before the gate's own hooks, so it runs (in the parent) before the gate opens again
    os.register_at_fork(after_in_parent=lambda: events.append("forked") if len(events) < 2 else None)
    gate = ForkGate()
    inside, finish = threading.Event(), threading.Event()
    first = threading.Thread(target=gate.call, args=(lambda: (inside.set(), finish.wait(5)),))
    first.start()
    inside.wait(5)
    forker = threading.Thread(target=fork_and_wait)
    forker.start()
    time.sleep(0.2)  # the fork is pending: the gate is closed
    second = threading.Thread(target=gate.call, args=(lambda: events.append("second call"),))
    second.start()
    time.sleep(0.2)
    assert events == []
    finish.set()
    for t in (forker, second, first):
        t.join(5)
    assert events == ["forked", "second call"]


def test_the_child_starts_with_an_open_gate():
    gate = ForkGate()
    inside, finish = threading.Event(), threading.Event()
    holder = threading.Thread(target=gate.call, args=(lambda: (inside.set(), finish.wait(5)),))
    holder.start()
    inside.wait(5)
    threading.Timer(0.2, finish.set).start()
    pid = os.fork()
    if pid == 0:  # the holder thread does not exist here; entering must not block, nor may a fork
        gate.call(lambda: None)
        os._exit(fork_and_wait())
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7
    holder.join(5)


def test_gated_broker_passes_attributes_and_gates_calls():
    gate = ForkGate()

    class Broker:
        list_key = "flowline"

        def dequeue(self):
            return gate._inside

    broker = GatedBroker(Broker(), gate)
    assert broker.list_key == "flowline"
    assert broker.dequeue() == 1  # inside the gate during the call
    assert gate._inside == 0


def test_gated_queue_is_inside_between_gets_and_released_at_the_end():
    gate, q = ForkGate(), queue.Queue()
    results = GatedQueue(q, gate)
    q.put("a")
    q.put("STOP")
    assert results.get() == "a"
    assert gate._inside == 1  # handling "a"
    assert results.get() == "STOP"
    assert gate._inside == 1
    results.release()
    assert gate._inside == 0
    results.release()  # twice is harmless
    assert gate._inside == 0
