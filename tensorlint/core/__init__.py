"""The core every adaptor shares: diagnostics and fixes, the engine, positions, applying fixes, `# noqa`."""
