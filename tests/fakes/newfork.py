"""A gateway added the way ARCHITECTURE.md says, kept as a test fixture: NewFork, a new-api fork selling Kling through
new-api's stock Kling channel. This file, its catalog (newfork.json) and its registry row `SPEC` are all it takes;
tests/providers/test_contract.py runs the provider contract over it like over every registered gateway."""

from __future__ import annotations

from typing import Any

from providers.base import ModelInfo, VideoRequest
from providers.newapi import NewApiProvider
from providers.registry import ProviderSpec
from providers.wire import drop_none, kling


class NewFork(NewApiProvider):
    id = "newfork"
    title = "NewFork"
    env = "NEWFORK_API_KEY"
    catalog = "fakes:newfork"
    family_fields = kling.FIELDS

    def family_of(self, name: str) -> str:
        return kling.family_of(name)

    def check(self, request: VideoRequest, info: ModelInfo) -> None:
        kling.require_mode(request, info, self.title)

    def build_body(self, request: VideoRequest, info: ModelInfo) -> dict[str, Any]:
        # new-api's TaskSubmitReq: Kling's own fields in metadata, the first frame as the top-level `image`
        return drop_none({"model": info.name, "prompt": request.prompt, "image": kling.first_frame(request, info),
                          "metadata": drop_none({**kling.native(request, info), **request.options})})


SPEC = ProviderSpec("newfork", "NewFork", "NEWFORK", "https://api.newfork.test", "fakes.newfork:NewFork")
# How its fake answers: stock new-api's submit rules and both task views (fakes/gateways.py GATEWAY_SHAPES).
SHAPE = dict(dialect="newapi", submit_shape="openai", generations_shape="A", videos_shape="B", stock=True)
