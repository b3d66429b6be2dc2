"""Credit bureau adapter: the HTTP client the decision path uses and the bureau simulator.

Public surface: ``scoring.bureau.client`` (``BureauClient``, the ``BureauError`` hierarchy,
``BureauStats``), ``scoring.bureau.breaker`` (``CircuitBreaker``) and
``scoring.bureau.simulator`` (``ReportSource``, ``create_simulator_app``,
``in_process_transport``, ``run_simulator``).
"""
