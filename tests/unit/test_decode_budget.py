"""The look-ahead's decode budget: big packuments are decoded a bounded amount at a time."""

from __future__ import annotations

import threading
import time

from ipnpm.proxy.lookahead import _Budget


def _peak_of(sizes: list[int], limit: int) -> int:
    budget = _Budget(limit)
    used = peak = 0
    lock = threading.Lock()

    def work(size: int) -> None:
        nonlocal used, peak
        with budget.hold(size):
            with lock:
                used += size
                peak = max(peak, used)
            time.sleep(0.05)
            with lock:
                used -= size

    threads = [threading.Thread(target=work, args=(size,)) for size in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    return peak


def test_holders_never_exceed_the_budget_together() -> None:
    assert _peak_of([6, 6, 6, 6, 6, 6], limit=13) <= 12


def test_small_bodies_share_the_budget() -> None:
    assert _peak_of([1] * 8, limit=100) > 1  # not serialised needlessly


def test_a_body_larger_than_the_budget_goes_alone() -> None:
    assert _peak_of([50, 5, 5], limit=10) == 50
