# One run at a time on out_dir, only current products in it, and a run that stops when
# told to (README "Stopping a run").

import signal
import threading
import time

import psutil

from masterbias.products import stale_products
from masterbias.runlock import OutDirBusy, RunLock

RUN_LOCK = RunLock(OUT)
REMOVED_LOG = path("log", job="removed")
GUARDED = []


class Stopper:
    """SIGTERM stops the run as Ctrl-C does, every time: the running jobs are ended (their
    process trees terminated, and any started after), Snakemake's scheduler is told to
    stop (as its own SIGTERM handler does) and marks the jobs it ran failed, cleans their
    outputs and releases its locks; before the scheduler exists, the planning is
    interrupted as Ctrl-C would.

    The signal handler itself only writes a byte to a pipe: a handler runs in the main
    thread, between two of its bytecodes, so one that takes a lock the main thread
    already holds waits for ever. Snakemake's own handler (JobScheduler.exit_gracefully)
    does take its scheduler's lock (README "Stopping a run" has the defect as it goes
    upstream). A thread started here reads the pipe and does the stopping.
    """

    #: Seconds between two sweeps of the process tree once stopping (a job the scheduler
    #: was starting when the signal came is ended by the next one).
    SWEEP = 0.2

    def __init__(self):
        self.wake, self.waker = os.pipe()
        threading.Thread(target=self._stop, name="masterbias-stop", daemon=True).start()
        signal.signal(signal.SIGTERM, self.handle)

    def handle(self, *args):
        os.write(self.waker, b"\0")

    def _stop(self):
        os.read(self.wake, 1)
        scheduler = getattr(workflow, "scheduler", None)
        if scheduler is None:  # still planning
            import _thread

            _thread.interrupt_main()
        else:
            with scheduler._lock:  # from this thread, never from the handler
                scheduler._user_kill = "graceful"
            scheduler._open_jobs.release()
            if not workflow.local_exec:  # cluster jobs: cancelled, not waited for
                scheduler._executor.cancel()
        while True:
            for child in psutil.Process().children(recursive=True):
                try:
                    child.terminate()
                except psutil.Error:
                    pass  # gone already
            time.sleep(self.SWEEP)


if workflow.is_main_process:
    from snakemake.scheduling.job_scheduler import JobScheduler

    STOPPER = Stopper()
    # the scheduler installs its own handler when it starts: let it be this one
    JobScheduler.exit_gracefully = lambda scheduler, *args: STOPPER.handle()


def guard_run():
    """Before any job: hold out_dir's lock (a dry run only says who holds it), and remove
    the products of raw frames and groups that are gone (a dry run lists them)."""
    if not workflow.is_main_process or GUARDED:
        return
    GUARDED.append(True)
    settings = getattr(workflow, "execution_settings", None)
    locking = settings is None or settings.lock
    if workflow.dryrun:
        if locking and RUN_LOCK.busy():
            logger.warning(f"masterbias: {RUN_LOCK.busy_message()}")
    elif locking:
        try:
            RUN_LOCK.acquire()
        except OutDirBusy as error:
            logger.error(f"masterbias: {error}")  # one line, before Snakemake's frame
            raise WorkflowError(f"masterbias: {error}") from None
        if RUN_LOCK.unsupported:
            logger.warning(
                f"masterbias: cannot lock {RUN_LOCK.path} ({RUN_LOCK.unsupported}): "
                "two runs on this out_dir are not prevented"
            )
    if not (workflow.dryrun and locking and RUN_LOCK.busy()):
        write_plans()
    stale = stale_products(OUT, PLAN.calibrated, master_slots(), PLAN.applied)
    if not stale:
        return
    shown = ", ".join(stale[:3]) + (", ..." if len(stale) > 3 else "")
    if workflow.dryrun:
        logger.warning(
            f"masterbias: {len(stale)} products of raw frames or groups that are gone "
            f"would be removed ({shown})"
        )
        return
    remove_products(stale, OUT)
    os.makedirs(os.path.dirname(REMOVED_LOG), exist_ok=True)
    with open(REMOVED_LOG, "a") as stream:
        stream.writelines(f"{removed}\n" for removed in stale)
    logger.warning(
        f"masterbias: removed {len(stale)} products of raw frames or groups that are gone "
        f"({shown}; all listed in {REMOVED_LOG})"
    )


onstart:
    guard_run()
