"""Event sources: the retail and sensor simulators, the per-tenant simulator fleet, the market feed,
CSV replay and the senders (REST or Redis) the command-line tools use."""
