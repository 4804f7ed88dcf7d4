"""Fake gateways shared by every test and by benchmarks/fakegw.py: `from fakes.gateways import FakeGateway,
Timeline, fake_for`. The framework-free parts (timeline, task state, recorded request, reply) are in fakes.tasks."""
