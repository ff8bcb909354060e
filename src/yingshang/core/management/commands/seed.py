import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from yingshang.core.demo import COUNTY, DemoCountyExists, build_demo_county
from yingshang.core.models import Region


class Command(BaseCommand):
    help = "生成演示县（瑞金市）：行政区划、部门、园区、市场主体及年度数据、演示账号 / seed the demo county"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--enterprises", type=int, default=20000, help="市场主体数量 / number of market entities")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子 / random seed (same seed, same county)")
        parser.add_argument("--appeals", type=int, default=1500,
                            help="一年的企业诉求历史条数，0 不生成 / appeals of history to simulate (0: none)")
        parser.add_argument("--cases", type=int, default=1500,
                            help="一年的政务服务办件历史件数（含事项目录），0 不生成 / service cases of history to "
                                 "simulate, with the item catalogue (0: none)")
        parser.add_argument("--policies", type=int, default=40,
                            help="惠企政策兑现事项数（含政策文件和一年的兑现历史），0 不生成 / benefit items to "
                                 "publish, with their documents and a year of cash-out history (0: none)")
        parser.add_argument("--if-empty", action="store_true",
                            help="演示县已存在时什么也不做 / do nothing when the demo county exists")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        n = opts["enterprises"]
        if n < 0:
            raise CommandError("--enterprises 不能为负 / must not be negative")
        if opts["appeals"] < 0:
            raise CommandError("--appeals 不能为负 / must not be negative")
        if opts["cases"] < 0:
            raise CommandError("--cases 不能为负 / must not be negative")
        if opts["policies"] < 0:
            raise CommandError("--policies 不能为负 / must not be negative")
        if Region.objects.filter(code=COUNTY[0]).exists():
            if opts["if_empty"]:
                self.stdout.write(f"演示县 {COUNTY[1]}（{COUNTY[0]}）已存在，未做任何改动 / "
                                  "the demo county exists; nothing done")
                return
            raise CommandError(f"演示县 {COUNTY[1]}（{COUNTY[0]}）已存在 / the demo county already exists "
                               "(use --if-empty to skip)")
        started = time.monotonic()
        try:
            with transaction.atomic():
                counts = build_demo_county(enterprises=n, seed=opts["seed"], stdout=self.stdout)
        except DemoCountyExists as exc:
            raise CommandError(str(exc)) from None
        elapsed = time.monotonic() - started
        from yingshang.liaison.demo import build_pairings

        self.stdout.write(f"包联 pairings: {build_pairings()}")
        if n:
            import random

            from yingshang.supervision.demo import seed_credit

            credit = seed_credit(random.Random(f"{opts['seed']}:credit"))
            self.stdout.write(f"信用红黑名单 credit lists: {credit}")
        if opts["appeals"] and n:
            from yingshang.appeals.demo import build_appeal_history

            t0 = time.monotonic()
            history = build_appeal_history(seed=opts["seed"], count=opts["appeals"], stdout=self.stdout)
            self.stdout.write(f"诉求历史 appeals: {history.get('appeals', 0)}（用时 {time.monotonic() - t0:.1f} 秒）"
                              f" {history.get('statuses', {})}")
        if opts["cases"] and n:
            from yingshang.service_items.demo import build_service_demo

            t0 = time.monotonic()
            services = build_service_demo(seed=opts["seed"], cases=opts["cases"], stdout=self.stdout)
            self.stdout.write(f"政务服务办件 cases: {services.get('cases', 0)}（用时 {time.monotonic() - t0:.1f} 秒）"
                              f" {services.get('statuses', {})} 监控 monitor {services.get('monitor', {})}")
        if opts["policies"] and n:
            from yingshang.policies.demo import build_policy_demo

            t0 = time.monotonic()
            policies = build_policy_demo(seed=opts["seed"], items=opts["policies"], stdout=self.stdout)
            self.stdout.write(f"惠企政策 policies: {policies.get('items', 0)} 项（用时 {time.monotonic() - t0:.1f} 秒）"
                              f" 兑现 {policies.get('paid_wan', 0)} 万元，惠及 {policies.get('enterprises_paid', 0)} 家"
                              f" {policies.get('application_statuses', {})}")

        w = self.stdout.write
        w("")
        w(f"演示县 {COUNTY[1]} 已生成（seed={opts['seed']}，用时 {elapsed:.1f} 秒）/ demo county built in {elapsed:.1f} s")
        w(f"  行政区划 regions: {counts['regions']}（乡镇街道 {counts['townships']}，村社区 {counts['villages']}）")
        w(f"  部门 departments: {counts['departments']}   园区 parks: {counts['parks']}")
        kinds = counts["by_kind"]
        w(f"  市场主体 enterprises: {counts['enterprises']}（企业 {kinds.get('company', 0)}，"
          f"个体工商户 {kinds.get('individual', 0)}，农民专业合作社 {kinds.get('cooperative', 0)}）")
        w(f"  年度数据 year figures: {counts['year_figures']}")
        sizes = "，".join(f"{k} {v}" for k, v in sorted(counts["size_classes"].items(),
                                                         key=lambda kv: "大中小微".index(kv[0][0])))
        w(f"  四上 above designated: {counts['above_designated']}   规模 size classes: {sizes}")
        w(f"  高新技术企业 high-tech: {counts['high_tech']}   专精特新: {counts['specialized']}   "
          f"园区内 in parks: {counts['in_parks']}")
        w("")
        w(f"演示账号 demo accounts（密码 password: {settings.DEMO_PASSWORD}）")
        rows = counts["accounts"]
        width = max(len(u) for u, _r, _n in rows)
        for username, role, name in rows:
            w(f"  {username.ljust(width)}  {role}  {name}")
        for username, ent_name, code in counts["account_enterprises"]:
            w(f"  {username.ljust(width)}  → {ent_name}（{code}）")
        if not settings.DEMO_ACCOUNTS_ENABLED:
            w("注意：YINGSHANG_DEMO_ACCOUNTS 已关闭，演示账号不能登录 / demo accounts are disabled")
