"""Latency and throughput per variant against any OpenAI-compatible endpoint.

Raw timestamps first (`types.RequestResult`), metrics derived after (`metrics`); errors are
data. Never imports gateway internals.
"""
