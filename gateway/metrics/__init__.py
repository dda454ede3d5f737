"""Request records, Prometheus metrics and the structured access log."""
