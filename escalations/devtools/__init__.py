"""Development tools: the ``bench_*``, ``figures``, ``scale_out`` and ``seed_scale``
commands and the data builders and load drivers behind them. A separate Django app,
installed outside production only."""
