"""bdd tests."""
