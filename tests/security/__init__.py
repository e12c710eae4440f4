"""Security tests (SSRF guard)."""
