"""End-to-end tests use the same process launcher as the benchmarks."""
from bench.stack import Stack, free_port  # noqa: F401
