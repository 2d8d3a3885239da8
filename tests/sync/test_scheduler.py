from datetime import UTC, datetime, timedelta

from stnav_desktop.store import audit, settings
from stnav_desktop.store.models import SchedulerJob
from stnav_desktop.sync.app.scheduler import Job, Scheduler, pull_interval


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)


MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def make(profile, clock, **settings_values):
    for key, value in settings_values.items():
        settings.set_value(profile, key, value)
    calls = []
    job = Job("pull", pull_interval(profile), lambda now: calls.append(now) or "pulled 0", business_hours=True)
    return Scheduler(profile, [job], clock=clock, tick_seconds=15), calls


def test_interval(store):
    profile = settings.get_profile("default")
    clock = Clock(MONDAY_9)
    sched, calls = make(profile, clock, **{"schedule.interval_minutes": 15})
    for _ in range(4 * 60):  # one hour of 15-second ticks
        sched.tick()
        clock.advance(seconds=15)
    assert len(calls) == 4
    assert [c - calls[0] for c in calls] == [timedelta(minutes=15 * i) for i in range(4)]


def test_sleep_gap_runs_once_not_per_missed_slot(store):
    profile = settings.get_profile("default")
    clock = Clock(MONDAY_9)
    sched, calls = make(profile, clock, **{"schedule.interval_minutes": 15})
    sched.tick()
    clock.advance(hours=3)  # the laptop slept through 12 slots
    sched.tick()
    sched.tick()
    assert len(calls) == 2
    assert sched.next_due("pull") == clock.now + timedelta(minutes=15)
    assert any(e.action == "scheduler.wake" for e in audit.events())


def test_persisted_due_time_survives_a_restart(store):
    profile = settings.get_profile("default")
    clock = Clock(MONDAY_9)
    sched, calls = make(profile, clock)
    sched.tick()
    clock.advance(minutes=5)
    again, calls2 = make(profile, clock)  # a new process
    again.tick()
    assert calls2 == []  # not due for another 10 minutes
    clock.advance(minutes=10)
    again.tick()
    assert len(calls2) == 1


def test_business_hours_skip_with_reason(store):
    profile = settings.get_profile("default")
    clock = Clock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday
    sched, calls = make(profile, clock, **{"schedule.business_hours_only": True, "schedule.timezone": "UTC",
                                           "schedule.business_start": "07:00", "schedule.business_end": "19:00"})
    sched.tick()
    assert calls == []
    row = SchedulerJob.get(SchedulerJob.name == "pull")
    assert "outside business hours" in row.skipped_reason
    assert row.next_due_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 07:00
    assert sched.paused_reason.startswith("outside business hours")
    clock.now = datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC)
    sched.tick()
    assert len(calls) == 1


def test_a_failing_job_is_recorded_and_the_scheduler_goes_on(store):
    profile = settings.get_profile("default")
    clock = Clock(MONDAY_9)

    def boom(now):
        raise RuntimeError("NAV down")

    sched = Scheduler(profile, [Job("retries", lambda: timedelta(minutes=1), boom)], clock=clock)
    assert sched.tick() == ["retries"]
    assert SchedulerJob.get(SchedulerJob.name == "retries").last_result == "failed: NAV down"
    clock.advance(minutes=1)
    assert sched.tick() == ["retries"]
