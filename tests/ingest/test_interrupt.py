"""Ctrl-C during a build: the first one is deferred to a safe point, a second one is immediate."""

from __future__ import annotations

import signal
import threading

import pytest

from latentsearch.ingest.interrupt import deferred_interrupt


def test_first_ctrl_c_sets_the_flag_and_a_second_interrupts_at_once() -> None:
    # As in a terminal (the test run itself may have been started with SIGINT ignored).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with deferred_interrupt() as stop:
            stop.check()  # nothing requested yet
            signal.raise_signal(signal.SIGINT)
            assert stop.requested
            with pytest.raises(KeyboardInterrupt):
                stop.check()
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_outside_the_main_thread_it_installs_nothing() -> None:
    seen: list[object] = []

    def run() -> None:
        with deferred_interrupt() as stop:
            seen.append(signal.getsignal(signal.SIGINT))
            seen.append(stop.requested)

    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [before, False]


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupt() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            stop.check()  # nothing was requested
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
