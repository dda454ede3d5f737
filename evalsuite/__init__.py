"""Quality per variant against any OpenAI-compatible endpoint (Qllm-Eval's abilities)."""
