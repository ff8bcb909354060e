import json
import time

from django.core.management.base import BaseCommand

from yingshang.core import periodic


class Command(BaseCommand):
    help = ("定时任务：按周期运行各模块的扫描（诉求超期、办件预警等）；可多进程同时运行 / run the periodic jobs "
            "(appeal and case sweeps …); several schedulers may run at once")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--once", action="store_true", help="run what is due once and exit")
        parser.add_argument("--tick", type=int, default=30, help="seconds between checks")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        while True:
            done = periodic.run_due()
            if done or opts["once"]:
                self.stdout.write(json.dumps(done, ensure_ascii=False, default=str))
            if opts["once"]:
                return
            time.sleep(opts["tick"])
