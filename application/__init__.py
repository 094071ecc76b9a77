"""Use cases and the ports they drive; depends on the domain only."""
