"""``/metrics`` in Prometheus' text format, read from the job store at each scrape (so
every server process and restart reports the same figures)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

from actscope.serve.store import JobStore


class _JobCollector:
    def __init__(self, store: JobStore, workers: int) -> None:
        self.store = store
        self.workers = workers

    def collect(self):
        counts = self.store.counts()
        jobs = GaugeMetricFamily("actscope_jobs", "Jobs in the store by state.", labels=["state"])
        for state, count in counts.items():
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily(
            "actscope_queue_length", "Jobs waiting for a worker.", value=counts["queued"]
        )
        yield GaugeMetricFamily("actscope_workers", "Worker processes alive.", value=self.workers)
        durations = SummaryMetricFamily(
            "actscope_job_duration_seconds", "Run time of finished jobs.", labels=["task"]
        )
        by_task: dict[str, list[float]] = {}
        for task, seconds in self.store.durations():
            by_task.setdefault(task, []).append(seconds)
        for task, values in sorted(by_task.items()):
            durations.add_metric([task], count_value=len(values), sum_value=sum(values))
        yield durations


def render(store: JobStore, workers: int) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_JobCollector(store, workers))
    return generate_latest(registry)
