"""The maintainer's workers: each runs one job at a time, a pass or a destroy.

Each worker has a `Session` of its own (a store connection belongs to its
thread); all of them share one `CleanPasses`, so that recovery is skipped
after a clean pass whichever worker made it. A node whose creates keep
failing is held back as `occopus-maintain -c` holds it (the infrastructure's
`backoff`). A destroy refused the lease (another member's pass runs) is tried
again the next interval, one that failed less and less often; a destroy
cancelled (the service stops) stays marked in the store for the next start.
A worker that begins a check begins the checks queued after it too, up to
`CHECK_BATCH`, and makes them at once: their clouds are asked once for all.
"""
from __future__ import annotations

import logging
import threading
import time

from occo.enactor.cleanpasses import CleanPasses
from occo.enactor.outcome import PassResult
from occo.infobroker.store import InfrastructureNotFound, LeaseHeld, Store
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.redact import redact_url

from ...cli import error_text
from ...destroyed import forget_locally
from ...session import Session
from .schedule import Schedule, Tracked

log = logging.getLogger("occo.api.rest")

SHOWN_PROBLEMS = 3      # problems a log line of a failed pass quotes
CHECK_BATCH = 200       # checks one worker makes at once


def closed(resource: Store | Session | None) -> None:
    """Close what may be open, quietly (it was failing already): None to forget it."""
    if resource is not None:
        try:
            resource.close()
        except Exception:        # noqa: BLE001 - closing a broken connection
            pass
    return None


class Workers:
    """What each worker thread runs (`run`); `work` is a condition of the maintainer's lock,
    notified when a job is queued or the maintainer stops; `root` is cancelled on stop."""

    def __init__(self, settings: Settings, member: str, schedule: Schedule,
                 work: threading.Condition, root: Cancellation,
                 clean_passes: CleanPasses) -> None:
        self.settings = settings
        self.member = member
        self.interval = settings.rest.interval
        self.schedule = schedule
        self.clean_passes = clean_passes
        self._work = work
        self._root = root

    def run(self) -> None:
        # made now, not by the first job: making one loads the plugins, work that would
        # otherwise compete with the requests that asked for the job
        session: Session | None = self._session()
        try:
            while True:
                with self._work:
                    token = Cancellation()
                    begun_job = None
                    while begun_job is None:
                        while not self.schedule.has_jobs and not self.schedule.stopping:
                            self._work.wait()
                        if self.schedule.stopping:
                            return
                        begun_job = self.schedule.begin(token)
                    state, job = begun_job
                    checks = ([state, *self.schedule.begin_checks(CHECK_BATCH - 1)]
                              if job == "check" else [])
                    unfollow = self._root.on_cancel(token.cancel)
                    # said under the lock: a log of the passes shows each in the order the
                    # member decided it, after what it knew then ("the members are ...")
                    log.debug("maintainer %s: %s of %s", self.member, job, state.infra_id)
                started, begun = time.time(), time.monotonic()
                try:
                    if session is None:
                        session = Session(self.settings, clean_passes=self.clean_passes)
                    if job == "check":
                        self._check(session, checks, started, begun)
                    elif job == "pass":
                        self._pass(session, state, token, started, begun)
                    else:
                        self._destroy(session, state, token)
                except Exception as error:     # never the end of a worker
                    what = (f"checks of {len(checks)} infrastructure(s) ("
                            f"{', '.join(checked.infra_id for checked in checks)}) failed, "
                            "each gets a full pass" if job == "check"
                            else f"{job} of {state.infra_id} failed")
                    if isinstance(error, OccoError):
                        log.warning("maintainer %s: %s: %s", self.member, what,
                                    error_text(error))
                    else:
                        log.exception("maintainer %s: %s", self.member, what)
                    session = closed(session)
                    if job == "check":      # each gets a full pass, which says why it fails
                        with self._work:
                            for checked in checks:
                                self.schedule.pass_in_full(checked)
                    else:
                        self._ended(state, passed=(started, False) if job == "pass" else None,
                                    retry=True)
                finally:
                    unfollow()
        finally:
            closed(session)

    def _session(self) -> Session | None:
        """A session for this worker's jobs; None if it cannot be made now (the first job
        makes it again, and fails with the reason): a worker never ends for it."""
        try:
            return Session(self.settings, clean_passes=self.clean_passes)
        except OccoError as error:
            log.warning("maintainer %s: %s", self.member, error_text(error))
        except Exception:       # noqa: BLE001 - a bug of a plugin, say: logged, not fatal
            log.exception("maintainer %s: making a worker's session failed", self.member)
        return None

    def _check(self, session: Session, checks: list[Tracked], started: float,
               begun: float) -> None:
        """Check these passes at once: those with nothing to do have passed; the others are
        queued first for a full pass."""
        quiet = session.enactor.quiet([state.infra_id for state in checks])
        log.debug("maintainer %s: %d of %d check(s) found nothing to do", self.member,
                  len(quiet), len(checks))
        now = time.monotonic()
        with self._work:
            for state in checks:
                if state.infra_id in quiet:
                    self.schedule.ended(state, now, passed=(started, True),
                                        next_pass=begun + self.interval)
                else:
                    self.schedule.pass_in_full(state)

    def _pass(self, session: Session, state: Tracked, token: Cancellation, started: float,
              begun: float) -> None:
        infra_id = state.infra_id
        hold = state.backoff.hold()
        if hold:
            log.info("maintainer %s: the pass of %s holds back %s", self.member, infra_id,
                     "; ".join(f"{name} ({why})" for name, why in sorted(hold.items())))
        try:
            result = session.enactor.make_a_pass(infra_id, hold=hold, cancel=token)
        except LeaseHeld as held:
            log.info("maintainer %s: pass of %s skipped: %s", self.member, infra_id,
                     error_text(held))
            self._ended(state, next_pass=begun + self.interval)
            return
        except InfrastructureNotFound:
            log.info("maintainer %s: %s is gone: no longer maintained", self.member, infra_id)
            self._ended(state, gone=True)
            return
        except OccoError as error:
            log.warning("maintainer %s: pass of %s failed: %s", self.member, infra_id,
                        error_text(error))
            self._ended(state, passed=(started, False), next_pass=begun + self.interval)
            return
        state.backoff.record(result)
        self._log(result)
        self._ended(state, passed=(started, result.ok), next_pass=begun + self.interval)

    def _destroy(self, session: Session, state: Tracked, token: Cancellation) -> None:
        infra_id = state.infra_id
        try:
            result = session.enactor.destroy(infra_id, cancel=token)
        except LeaseHeld as held:
            log.info("maintainer %s: destroy of %s waits: %s", self.member, infra_id,
                     error_text(held))
            self._ended(state, next_pass=time.monotonic() + self.interval)
            return
        except InfrastructureNotFound:
            session.store.unmark_destroying(infra_id)
            log.info("maintainer %s: %s is gone already", self.member, infra_id)
            self._ended(state, gone=True)
            return
        if result.ok:           # removing it cleared its mark
            try:
                forget_locally(infra_id)
            except (OccoError, OSError) as error:
                log.warning("maintainer %s: could not forget %s's infralist line and host "
                            "keys: %s", self.member, infra_id, redact_url(str(error)))
            log.info("maintainer %s: destroyed %s", self.member, infra_id)
            self._ended(state, gone=True)
            return
        self._log(result, what="destroy")
        self._ended(state, retry=True)

    def _ended(self, state: Tracked, *, passed: tuple[float, bool] | None = None,
               next_pass: float | None = None, gone: bool = False, retry: bool = False) -> None:
        with self._work:
            self.schedule.ended(state, time.monotonic(), passed=passed, next_pass=next_pass,
                                gone=gone, retry=retry)
        if gone:
            self.clean_passes.forget(state.infra_id)

    def _log(self, result: PassResult, what: str = "pass") -> None:
        counts = ", ".join(f"{number} {outcome}"
                           for outcome, number in sorted(result.counts().items())) or "no nodes"
        if result.cancelled:
            log.info("maintainer %s: %s of %s cancelled: %s", self.member, what,
                     result.infra_id, counts)
        elif not result.ok:
            failures = [f"{row.node_name} {row.node_id}: {row.reason}" for row in result.rows
                        if row.outcome == "failed"] + list(result.problems)
            log.warning("maintainer %s: %s of %s failed: %s; %s", self.member, what,
                        result.infra_id, counts, "; ".join(failures[:SHOWN_PROBLEMS]))
        elif result.plan.actions:
            log.info("maintainer %s: %s of %s: %s", self.member, what, result.infra_id, counts)
        else:
            log.debug("maintainer %s: %s of %s: nothing to do", self.member, what,
                      result.infra_id)
