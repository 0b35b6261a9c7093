"""Shared helpers for the asyncio trace scenarios.

Each scenario builds a trace of tokens and prints it as one line; the C
suite "asyncio" asserts the same line (see test/test-asyncio.c). Scenarios
use asyncio's own pure-Python event loop, the reference auv follows.
"""
import asyncio


class Trace:
    def __init__(self):
        self.tokens = []

    def add(self, token):
        self.tokens.append(str(token))

    def mark(self, token):
        """Return a callback that records token (for call_soon and friends)."""
        return lambda *args: self.add(token)

    def line(self):
        return " ".join(self.tokens)


def new_loop():
    # asyncio's reference loop, whatever event loop policy is installed.
    return asyncio.SelectorEventLoop()
