"""The I/O layer: executors that run the core's programs, links, breaker, budgets, settings, context."""
