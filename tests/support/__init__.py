"""Helpers the tests own and the benchmarks reuse: processes, harnesses, builders."""
