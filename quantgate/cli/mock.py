"""`quantgate mock-server`: a fake OpenAI upstream with latency and fault knobs."""

from __future__ import annotations

import typer


def mock_server(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind (0: any free port)"),
    model: str = typer.Option("mock-model", help="model name it serves"),
    ttft_ms: float = typer.Option(0.0, min=0.0, help="delay before the first content token"),
    itl_ms: float = typer.Option(0.0, min=0.0, help="delay between content tokens"),
    output_tokens: int = typer.Option(16, min=1, help="tokens generated when max_tokens is unset"),
    tokens_per_chunk: int = typer.Option(1, min=1, help="tokens per streamed chunk"),
    fail_status: int | None = typer.Option(
        None, min=400, max=599, help="answer every generation with it"
    ),
    max_running: int | None = typer.Option(
        None, min=1, help="generations at once (vLLM's max_num_seqs); more wait, as /metrics shows"
    ),
) -> None:
    """Serve a mock OpenAI-compatible API (for tests and benchmarks, not for users' traffic)."""
    import uvicorn

    from quantgate.mock import MockConfig, create_mock_app

    config = MockConfig(
        model=model,
        ttft_ms=ttft_ms,
        itl_ms=itl_ms,
        output_tokens=output_tokens,
        tokens_per_chunk=tokens_per_chunk,
        fail_status=fail_status,
        max_running=max_running,
    )
    uvicorn.run(create_mock_app(config), host=host, port=port, log_level="warning")
