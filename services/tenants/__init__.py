"""Per-tenant administration: settings (simulator, alert thresholds), the audit log of every
change, and `AdminService`, the one place that decides admin actions (page and API alike)."""
