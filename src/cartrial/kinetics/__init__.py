"""kinetics package."""
