from django_tasks import task

from . import services


@task()
def sweep_cases() -> dict[str, int]:
    """Enqueue from a scheduler (cron/systemd timer: `yingshang services sweep` does the same).
    Idempotent: each warning, due and overdue notice is claimed once per due date."""
    return services.case_sweep()
