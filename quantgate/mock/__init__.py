"""A mock OpenAI-compatible upstream with latency and fault knobs (tests, benchmarks)."""

from quantgate.mock.server import MockConfig, create_mock_app

__all__ = ["MockConfig", "create_mock_app"]
