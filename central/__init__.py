"""Central service: ingest, fleet state, routine engine, notifications, store, web."""
