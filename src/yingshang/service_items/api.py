"""/api/v1/services: the catalogue, cases and ratings."""

from ninja import Router

router = Router(tags=["services"])
