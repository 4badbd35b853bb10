"""Events in: the schema and its validation, the embedded bounded queue with micro-batching, and
in distributed mode the Redis stream producer, the consumer group reader and the pub/sub bridge."""
