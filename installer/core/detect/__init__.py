"""System detection: one module per probe; detect() runs them concurrently (see DESIGN.md)."""
