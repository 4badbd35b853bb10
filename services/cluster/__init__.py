"""Several processes as one system: the leader lease, per-process reports in Redis, and the
system statistics the System page and /metrics show."""
