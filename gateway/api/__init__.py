"""The HTTP surface: OpenAI routes, health, and the one error handler."""
