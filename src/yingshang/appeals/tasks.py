from django_tasks import task

from . import services


@task()
def sweep_appeals() -> dict[str, int]:
    """Enqueue from a scheduler (cron/systemd timer: `yingshang appeals sweep` does the same)."""
    return services.appeal_sweep()
