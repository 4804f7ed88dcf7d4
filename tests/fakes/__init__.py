"""Fake gateways shared by every test: `from fakes.gateways import FakeGateway, Timeline, fake_for`."""
