"""Small, generated stand-ins for upstream data in its real layout (for the demo, tests, benchmarks)."""
