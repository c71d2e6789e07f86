"""A local Coupa tenant for the demo, the tests and the benchmarks."""
