"""Scripts that run inside a managed environment (see quantgate/envs.py).

Each one is a standalone `python FILE JOB.json`: it imports only the standard library and its
environment's packages (torch, transformers, llm-compressor, ...), never quantgate.
"""
