"""Who may do what: users (hashed passwords, roles, session epochs), API keys (hashed),
single-use WebSocket tickets (memory or Redis) and token-bucket rate limits (memory or Redis)."""
