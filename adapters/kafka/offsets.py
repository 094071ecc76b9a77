"""Which offsets may be committed: only those below every message still in flight."""

from __future__ import annotations

from collections import deque

TopicPartition = tuple[str, int]


class OffsetTracker:
    """Messages of one partition finish out of order; the commit point moves only past a
    contiguous run of finished ones, so a crash never skips an unanswered request."""

    def __init__(self) -> None:
        self._pending: dict[TopicPartition, deque[list[int | bool]]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def begin(self, tp: TopicPartition, offset: int) -> None:
        self._pending.setdefault(tp, deque()).append([offset, False])

    def finish(self, tp: TopicPartition, offset: int) -> None:
        queue = self._pending.get(tp)
        if queue is None:
            return  # the partition was revoked meanwhile; its new owner answers again
        for entry in queue:
            if entry[0] == offset:
                entry[1] = True
                break
        while queue and queue[0][1]:
            done = int(queue.popleft()[0])
            self._next[tp] = done + 1

    def in_flight(self, tp: TopicPartition) -> int:
        return len(self._pending.get(tp, ()))

    def committable(self) -> dict[TopicPartition, int]:
        """The next offset to consume per partition, for partitions that moved since the last
        call to ``committed``."""
        return {tp: n for tp, n in self._next.items() if self._committed.get(tp) != n}

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def clear(self) -> None:
        self._pending.clear()
        self._next.clear()
        self._committed.clear()

    def forget(self, tp: TopicPartition) -> None:
        self._pending.pop(tp, None)
        self._next.pop(tp, None)
        self._committed.pop(tp, None)
