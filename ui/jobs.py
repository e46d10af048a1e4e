"""A live panel for one background job: progress, status, error, cancel."""

from __future__ import annotations

import streamlit as st

from deeprules_core import jobs
from deeprules_core.jobs import Job
from ui.text import md

from . import state


def job_panel(job_id: str, *, key: str, poll_s: float = 1.0) -> Job:
    """Show a job's progress and let the user cancel it. Polls while the job runs and
    reruns the page once when it finishes, so its results appear."""
    ws = state.workspace()
    job = jobs.get_job(ws, job_id)
    if job.finished:
        _render(job, key=key)
        return job

    @st.fragment(run_every=poll_s)
    def _live() -> None:
        jobs.reap(ws)
        current = jobs.get_job(ws, job_id)
        _render(current, key=key)
        if current.finished:
            st.rerun(scope="app")

    _live()
    return job


def status_line(job: Job) -> str:
    """What the job is doing, in words: 'queued, 2 ahead of you' while it waits here."""
    if job.status == "queued" and job.attempt is None and job.executor == "local":
        ahead = jobs.queue_position(state.workspace(), job.id)
        if ahead is not None:
            return f"queued, {ahead} ahead of you" if ahead else "queued, next to start"
    return job.message or job.status


def _render(job: Job, *, key: str) -> None:
    if job.status in ("queued", "running"):
        st.progress(job.progress, text=f"{job.kind}: {status_line(job)} ({job.progress:.0%})")
        st.caption(
            "This runs in the background: you can leave this page or close the browser; the result is kept."
        )
        if st.button("Cancel", key=f"{key}.cancel.{job.id}"):
            jobs.cancel(state.workspace(), job.id)
            st.rerun()
    elif job.status == "done":
        st.success(f"{job.kind} finished at {job.finished_at}.")
    elif job.status == "cancelled":
        st.warning(md(f"{job.kind} was cancelled ({job.message})."))
    else:
        st.error(md(job.error or "The job failed."))
