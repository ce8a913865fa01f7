"""isac-gym."""
