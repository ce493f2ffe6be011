"""simcloud: a simulated cloud (`server`, run as its own process by `process`) and its
resource handler (`plugin`), for tests, chaos runs and benchmarks."""
