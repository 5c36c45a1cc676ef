"""The request pool's lanes (what a batch being planned waits for goes before the creates already queued) and the
bounded work beside the caller (Background, read-ahead)."""

from __future__ import annotations

import threading

import pytest

from stsync_dagster.sync.read.prefetch import prefetch
from stsync_dagster.sync.requests_pool import Background, RequestPool


def _held(start):
    """Work started (by `start`) that holds its thread until `release` is set: (its future, release)."""
    release, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(timeout=30)

    future = start(hold)
    assert started.wait(timeout=30)
    return future, release


def _held_pool():
    """A one-worker pool whose worker is busy until `release` is set: what is queued meanwhile waits."""
    pool = RequestPool(1, "test")
    return pool, _held(pool.submit)[1]


def test_work_goes_in_lane_order_then_in_the_order_submitted():
    pool, release = _held_pool()
    done: list[str] = []
    futures = [pool.submit(done.append, "create 1"), pool.submit(done.append, "create 2")]
    futures.append(pool.submit(done.append, "finish 1", lane=RequestPool.FINISHING))
    futures += [pool.submit(done.append, f"pull {n}", lane=RequestPool.PLANNING) for n in (1, 2)]
    futures.append(pool.submit(done.append, "create 3"))  # the default lane: creates
    release.set()
    for future in futures:
        future.result(timeout=30)
    pool.shutdown()
    assert done == ["pull 1", "pull 2", "finish 1", "create 1", "create 2", "create 3"]


def test_the_lane_is_the_submitters_whatever_thread_submits():
    # No thread-local state: work submitted from another thread goes in the lane it names, and map keeps it.
    pool, release = _held_pool()
    done: list[str] = []
    other: list = []

    def submit_from_another_thread() -> None:
        other.append(pool.submit(done.append, "another thread's pull", lane=RequestPool.PLANNING))

    creates = pool.map(done.append, ["create"])
    finishing = pool.map(done.append, ["finish"], lane=RequestPool.FINISHING)
    thread = threading.Thread(target=submit_from_another_thread)
    thread.start()
    thread.join()
    release.set()
    other[0].result(timeout=30)
    list(creates), list(finishing)
    pool.shutdown()
    assert done == ["another thread's pull", "finish", "create"]


def test_map_keeps_the_order_of_the_items_and_errors_reach_the_caller():
    pool = RequestPool(4, "test")
    assert list(pool.map(lambda n: n * n, range(20))) == [n * n for n in range(20)]

    def fail(n: int) -> int:
        if n == 3:
            raise ValueError("record 3 refused")
        return n

    with pytest.raises(ValueError, match="record 3 refused"):
        list(pool.map(fail, range(6)))
    pool.shutdown()


def test_shutdown_lets_the_queued_work_finish():
    pool, release = _held_pool()
    done: list[int] = []
    for n in range(5):
        pool.submit(done.append, n)
    release.set()
    pool.shutdown()
    assert done == [0, 1, 2, 3, 4]


def test_background_work_runs_on_the_caller_when_every_thread_is_busy():
    background = Background(1, "test")
    first, release = _held(background.start)
    ran_on: list = []
    second = background.start(lambda: ran_on.append(threading.current_thread()))
    assert second.done() and ran_on == [threading.current_thread()]  # never a thread more than it has
    assert background.try_start(lambda: None) is None
    release.set()
    first.result(timeout=30)
    beside = background.try_start(threading.current_thread)
    assert beside is not None and beside.result(timeout=30) is not threading.current_thread()
    background.shutdown()


def test_read_ahead_without_a_free_thread_reads_as_the_items_are_used():
    read: list[int] = []

    def pages():
        for n in range(3):
            read.append(n)
            yield n

    items = prefetch(pages(), lambda work: None)
    assert next(items) == 0 and read == [0]  # nothing read ahead
    assert list(items) == [1, 2]


def test_read_ahead_hands_on_an_error_in_order():
    background = Background(2, "test")

    def pages():
        yield 1
        raise ValueError("page 2 refused")

    items = prefetch(pages(), background.try_start)
    assert next(items) == 1
    with pytest.raises(ValueError, match="page 2 refused"):
        next(items)
    background.shutdown()


def test_a_map_asked_by_a_worker_is_done_by_that_worker_not_queued_behind_it():
    # A read made by a request the pool is sending (a SKU read while creates are sent again) fans out through
    # the same pool: queued behind the very worker that waits for it, it would never run.
    pool = RequestPool(1, "test")
    nested = pool.submit(lambda: list(pool.map(lambda n: n * 10, [1, 2, 3], lane=RequestPool.PLANNING)))
    assert nested.result(timeout=30) == [10, 20, 30]
    pool.shutdown()
