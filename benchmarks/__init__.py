"""Benchmark workloads and the HTTP load generator used by ``installment bench``.

``scoring.bench`` orchestrates the runs and writes ``BENCHMARKS.md``; this package holds what
runs inside them: a keep-alive HTTP/1.1 load generator for 127.0.0.1 (:mod:`.loadgen`) and
workloads that run in a child process each, so their peak memory is their own
(:mod:`.workloads`).
"""
