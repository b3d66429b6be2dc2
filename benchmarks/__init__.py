"""The benchmarks and the soak run behind ``installment bench`` and ``installment soak``.

:mod:`.harness` orchestrates the benchmark runs and writes ``BENCHMARKS.md``; :mod:`.soak`
runs one API process under a steady load and reconciles what it stored. What runs inside
them: a keep-alive HTTP/1.1 load generator for 127.0.0.1 (:mod:`.loadgen`) and workloads
that run in a child process each, so their peak memory is their own (:mod:`.workloads`).
The commands themselves are in :mod:`scoring.cli.bench` and :mod:`scoring.cli.soak`.
"""
