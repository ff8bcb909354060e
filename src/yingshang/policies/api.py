"""/api/v1/policies: documents, items, rules, matching, applications, payouts."""

from ninja import Router

router = Router(tags=["policies"])
