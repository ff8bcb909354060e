import json

from django.core.management.base import BaseCommand

from yingshang.appeals import services, stats, suggest


class Command(BaseCommand):
    help = ("诉求：sweep（标记超期、升级督办、超期未评价办结；可多进程同时运行）；"
            "rebuild-stats（由办理事件重算统计表）；suggest-accuracy（派单建议在留出样本上的准确率）")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sweep")
        sub.add_parser("rebuild-stats")
        acc = sub.add_parser("suggest-accuracy")
        acc.add_argument("--holdout", type=float, default=0.2)
        acc.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "rebuild-stats":
            self.stdout.write(json.dumps({"rebuilt": stats.rebuild()}))
        elif opts["action"] == "suggest-accuracy":
            self.stdout.write(json.dumps(suggest.evaluate(holdout=opts["holdout"], seed=opts["seed"])))
        else:
            self.stdout.write(json.dumps(services.appeal_sweep()))
