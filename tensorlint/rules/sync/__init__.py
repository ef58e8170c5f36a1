"""TL4: per-step syncs and graph retention in step loops."""
