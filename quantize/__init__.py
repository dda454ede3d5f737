"""Builds the artifacts a profile declares: GGUF requantization, HF dequantization,
llm-compressor and AutoAWQ recipes. Never imports gateway internals."""
