"""The quantgate server: OpenAI API, routing, upstream relay, engine supervision, metrics."""
