"""Scored micro-batches to state and subscribers: `BatchProcessor` (validate -> score -> alerts),
`apply_batch` and `PeriodicPublisher` shared by both drivers (the embedded thread and the Redis
stream worker), the publisher, and live state in memory or in Redis (one interface)."""
