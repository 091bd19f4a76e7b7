"""neuro package."""
