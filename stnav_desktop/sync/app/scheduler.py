"""The background scheduler: pulls on the user's schedule, runs due retries, renews NAV webhook
subscriptions well before their 3-day expiry, keeps tokens fresh.

Due work comes from persisted times (``SchedulerJob.next_due_at``), so a run missed while the PC slept
runs once after wake, not once per missed slot. Skipped runs are recorded with their reason. It runs on
its own thread (never the GUI's), and every job's work is a plain callable from ``sync/``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.models import Profile, SchedulerJob

log = logging.getLogger(__name__)

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WAKE_GAP = timedelta(minutes=2)



@dataclass(frozen=True)
class JobNews:
    """What one scheduled run did, for the window and the console (typed: nobody parses the text)."""

    job: str
    ok: bool
    summary: str
    new_for_review: bool = False  # something arrived that a person should look at
    needs_attention: int = 0  # documents left needing a person after this run

    def __str__(self) -> str:
        return f"{self.job}: {self.summary}"

@dataclass
class Job:
    name: str
    interval: Callable[[], timedelta]
    run: Callable[[datetime], str]  # returns a one-line result for the status bar and the log
    business_hours: bool = False  # obeys the business-hours window
    # due now, whatever its next due time, while this says so (work queued by another thread, e.g. NAV
    # notifications): the other thread only queues and calls ``Scheduler.wake``, never the database
    pending: Callable[[], bool] | None = None


@dataclass
class Window:
    start: time
    end: time
    days: tuple[str, ...]
    tz: ZoneInfo | None

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(self.tz) if self.tz else when.astimezone()
        return DAY_NAMES[local.weekday()] in self.days and self.start <= local.time() < self.end

    def next_open(self, when: datetime) -> datetime:
        """``when`` itself if the window is open, else the next opening time."""
        local = when.astimezone(self.tz) if self.tz else when.astimezone()
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if DAY_NAMES[day.weekday()] not in self.days:
                continue
            opens = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            closes = datetime.combine(day, self.end, tzinfo=local.tzinfo)
            if local < opens:
                return opens.astimezone(when.tzinfo)
            if local < closes:
                return when
        return when + timedelta(days=1)


def business_window(profile: Profile) -> Window | None:
    if not settings.get(profile, "schedule.business_hours_only"):
        return None
    start = time.fromisoformat(settings.get(profile, "schedule.business_start"))
    end = time.fromisoformat(settings.get(profile, "schedule.business_end"))
    tz_name = settings.get(profile, "schedule.timezone")
    return Window(start, end, tuple(settings.get(profile, "schedule.business_days")),
                  ZoneInfo(tz_name) if tz_name else None)


class Scheduler:
    """Runs due jobs for one profile. ``tick(now)`` does one pass (tests call it with a fake clock);
    ``start()`` runs ticks on a daemon thread until ``stop()``."""

    def __init__(self, profile: Profile, jobs: list[Job], *, clock: Callable[[], datetime],
                 tick_seconds: float = 15.0, on_event: Callable[[JobNews], None] | None = None) -> None:
        self.profile = profile
        self.jobs = {job.name: job for job in jobs}
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.on_event = on_event
        self._last_tick: datetime | None = None
        self._stop = threading.Event()
        self._stop_wait = threading.Event()  # set to cut the sleep between ticks short
        self._thread: threading.Thread | None = None
        self.paused_reason = ""

    # -- state --------------------------------------------------------------------------------
    def _row(self, name: str) -> SchedulerJob:
        row, _ = SchedulerJob.get_or_create(profile=self.profile, name=name)
        return row

    def next_due(self, name: str) -> datetime | None:
        return self._row(name).next_due_at

    def run_soon(self, name: str, reason: str = "") -> None:
        """Make a job due now (a webhook said something changed) and wake the thread."""
        row = self._row(name)
        row.next_due_at = self.clock()
        row.save()
        audit.append("scheduler.requested", profile=self.profile.name, detail={"job": name, "reason": reason})
        self._stop_wait.set()

    def wake(self) -> None:
        """Cut the sleep between ticks short (thread-safe; touches nothing else)."""
        self._stop_wait.set()

    def add_job(self, job: Job) -> None:
        self.jobs[job.name] = job

    def status(self) -> dict[str, dict[str, object]]:
        return {name: {"last_run": r.last_run_at, "next_due": r.next_due_at, "result": r.last_result,
                       "skipped": r.skipped_reason}
                for name in self.jobs for r in [self._row(name)]}

    # -- one pass -------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> list[str]:
        now = now or self.clock()
        ran: list[str] = []
        if self._last_tick is not None and now - self._last_tick > WAKE_GAP + timedelta(seconds=self.tick_seconds):
            gap = now - self._last_tick
            log.info("scheduler woke after a gap of %s (sleep or suspend): due jobs run once", gap)
            audit.append("scheduler.wake", profile=self.profile.name, detail={"gap_seconds": int(gap.total_seconds())})
        self._last_tick = now
        window = business_window(self.profile)
        for job in self.jobs.values():
            row = self._row(job.name)
            queued = job.pending is not None and job.pending()
            if row.next_due_at is not None and row.next_due_at > now and not queued:
                continue
            if job.business_hours and window is not None and not window.contains(now):
                reopen = window.next_open(now)
                reason = (f"outside business hours ({window.start:%H:%M}–{window.end:%H:%M} "
                          f"{','.join(window.days)}); next run {reopen.isoformat(timespec='minutes')}")
                if row.skipped_reason != reason:
                    audit.append("scheduler.skipped", profile=self.profile.name, detail={"job": job.name,
                                                                                        "reason": reason})
                row.skipped_reason, row.next_due_at = reason, reopen
                row.save()
                self.paused_reason = reason
                continue
            self.paused_reason = ""
            try:
                answer = job.run(now)
                news = answer if isinstance(answer, JobNews) else JobNews(job.name, True, str(answer))
            except Exception as exc:  # a failing job is recorded and retried next interval; the thread lives
                log.exception("scheduled job %s failed", job.name)
                news = JobNews(job.name, False, f"failed: {exc}")
            result = news.summary
            with db.atomic():
                row.last_run_at = now
                # from now, not from the old due time: a missed run after sleep runs once, not per slot
                row.next_due_at = now + job.interval()
                row.last_result = str(result)[:500]
                row.skipped_reason = ""
                row.save()
            ran.append(job.name)
            if self.on_event:
                self.on_event(news)
        return ran

    # -- thread ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"scheduler-{self.profile.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._stop_wait.wait(self.tick_seconds)
            self._stop_wait.clear()
        db.close()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._stop_wait.set()
        if self._thread:
            self._thread.join(timeout)


def pull_interval(profile: Profile) -> Callable[[], timedelta]:
    return lambda: timedelta(minutes=int(settings.get(profile, "schedule.interval_minutes")))
