"""Relaying requests to upstream variants: pooled clients, timeouts, failover, SSE."""
