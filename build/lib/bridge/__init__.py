"""The service shell: HTTP API, store, pipeline, outbox delivery, desk, mail, metrics and CLI."""
