"""When to poll a booting instance next: soon after it is ready, seldom before.

Every readiness poll is a cloud call (the first ones also ask the addresses),
so polling often costs the cloud, its rate limits and the engine's threads;
polling seldom sees a ready instance late, and everything that depends on it
starts late. `Pacing` decides with three rules:

- Its own schedule (`Tuning.poll`, `Backoff.paced`): the next poll comes a
  share, `factor - 1`, of the time the instance has been booting after the
  last one (at least `initial`, at most `cap`, with jitter). An instance is
  then seen ready at most that share of its boot time late (and `cap`),
  whether it boots in a second or in ten minutes, with a number of polls
  that grows with the logarithm of its boot time.
- Its peers: the instances of one node on one cloud that an execution
  creates boot in about the same time. Once one of them is seen ready by a
  poll made after booting E seconds, every other one still booting is
  polled when it has booted E seconds, unless a poll of it made at that age
  has been answered already or its own schedule comes first. A group of
  hundreds is then seen ready moments after its first member, though each
  member polls on a sparse schedule: the jitter spreads the members' polls,
  so that one of them looks soon after the group has booted.
- Its kin: the instances made from one resource section (one cloud, image
  and flavor) boot alike whatever node they are. A group none of whose
  instances has been seen ready yet polls each of its instances once at
  the age its kin were seen ready at, first in the execution. Readiness
  also waits for a node's own services and health checks, so this is a
  guess: if it is wrong, the group keeps its own schedule and costs one
  poll an instance more; if it is right, a level that waits for the one
  before it sees it ready one latency sooner than its scouts would tell.
- Both peers and kin give the age the first of them was seen ready at: the
  instances a call made earliest. The last of a batch may be made some
  milliseconds later, and polled a moment too early it costs a whole poll
  more, so these polls come `LATE` after the age they were given.
- Scouts: while no instance of a group has been seen ready, only its first
  `SCOUTS` instances keep that schedule; the others poll at doubling
  intervals from `4 x initial` (they will hear from their scouts when it is
  time). Hundreds of instances of one node then cost a few polls each rather
  than one every quarter of their age, and the engine's and the cloud's time
  go to the creates of the next level instead.
- Hurrying, at the retry delays (`Tuning.retry`: short, doubling), while
  those are shorter than the schedule: after a poll that failed
  transiently (it told nothing), and after a poll that found the instance
  still booting when its peers were ready at that age (it is most likely
  ready a moment later: E is measured in threads that may wait for their
  turn, so it comes out a little short, and boot times vary). The doubling
  bounds the polls this adds, and a cloud that stays down is soon polled
  at the schedule's pace again.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from .retry import Backoff

LATE = 0.01      # seconds a poll at an age its peers or kin give comes after that age
SCOUTS = 16       # instances of a group that poll at the full pace until one is seen ready


def peer_group(name: str, connection: str) -> str:
    """The instances that boot alike: one node's, on one cloud (its connection's key)."""
    return f"{name}\0{connection}"


@dataclass
class Boot:
    """What pacing knows of one booting instance; times are monotonic seconds."""

    peers: str | None                   # its group; None: it has none (not made by this execution)
    began: float                        # when its create was sent, or it was first seen
    asked: float | None = None          # when the last poll that got an answer was made
    hurry: Iterator[float] | None = None    # the retry delays, while it is hurried
    scout: bool | None = None           # one of its group's scouts; decided at its first poll
    kin: str | None = None              # its resource section (`section_key`); None: no guess


class Pacing:
    """The poll delays of one execution's booting instances; used from its owning thread."""

    def __init__(self, poll: Backoff, retry: Backoff, rng: random.Random, *,
                 late: float = LATE) -> None:
        self.poll = poll
        self.retry = retry
        self.rng = rng
        self.late = late
        self._booted: dict[str, float] = {}      # group -> the shortest boot seen ready
        self._kin_booted: dict[str, float] = {}  # kin -> the shortest boot seen ready
        self._scouts: Counter[str] = Counter()   # group -> how many scouts it has

    def delay(self, boot: Boot, now: float) -> float:
        """Seconds from `now` until its next poll."""
        age = now - boot.began
        scheduled = self.poll.paced(age, self.rng)
        if self._waits_for_scouts(boot):
            scheduled = max(scheduled, min(self.poll.cap, max(age, 4 * self.poll.initial)))
        due = self.hint(boot)
        if due is None:
            due = self._guess(boot)
        if boot.hurry is None and due is not None:
            return min(scheduled, max(0.0, due - now))
        if boot.hurry is None and self._overdue(boot):
            boot.hurry = self.retry.delays(self.rng)
        return scheduled if boot.hurry is None else min(scheduled, next(boot.hurry))

    def sooner(self, boot: Boot, now: float) -> float | None:
        """When to poll it, now that its peers were seen ready sooner than before: at the age
        they were, or hurried if it was looked at that age already; None if it need not be."""
        due = self.hint(boot)
        if due is not None:
            return due
        if not self._overdue(boot):
            return None
        if boot.hurry is None:
            boot.hurry = self.retry.delays(self.rng)
        return now + next(boot.hurry)

    def hint(self, boot: Boot) -> float | None:
        """When its peers say it should be ready, unless a poll of it at that age was answered."""
        booted = None if boot.peers is None else self._booted.get(boot.peers)
        if booted is None or (boot.asked is not None and boot.asked - boot.began >= booted):
            return None
        return boot.began + booted + self.late

    def _guess(self, boot: Boot) -> float | None:
        """When its kin say it may be ready: while its group has seen none ready, and no poll
        of it at that age was answered."""
        guessed = None if boot.kin is None else self._kin_booted.get(boot.kin)
        if (guessed is None or (boot.peers is not None and boot.peers in self._booted)
                or (boot.asked is not None and boot.asked - boot.began >= guessed)):
            return None
        return boot.began + guessed + self.late

    def answered(self, boot: Boot, asked: float) -> None:
        """A poll made at `asked` was answered, ready or not."""
        boot.asked = asked
        if not self._overdue(boot):
            boot.hurry = None

    def failed(self, boot: Boot) -> None:
        """A poll failed transiently: hurry."""
        if boot.hurry is None:
            boot.hurry = self.retry.delays(self.rng)

    def ready(self, boot: Boot) -> bool:
        """Its last answered poll saw it ready; True when that makes its peers due sooner."""
        if boot.peers is None or boot.asked is None:
            return False
        booted = boot.asked - boot.began
        if booted >= self._booted.get(boot.peers, math.inf):
            return False
        self._booted[boot.peers] = booted
        if boot.kin is not None:
            self._kin_booted[boot.kin] = min(booted, self._kin_booted.get(boot.kin, math.inf))
        return True

    def _waits_for_scouts(self, boot: Boot) -> bool:
        if boot.peers is None or boot.peers in self._booted:
            return False
        if boot.scout is None:
            boot.scout = self._scouts[boot.peers] < SCOUTS
            self._scouts[boot.peers] += boot.scout
        return not boot.scout

    def _overdue(self, boot: Boot) -> bool:
        """A poll of it made at the age its peers were seen ready at was answered."""
        booted = None if boot.peers is None else self._booted.get(boot.peers)
        return booted is not None and boot.asked is not None and boot.asked - boot.began >= booted
