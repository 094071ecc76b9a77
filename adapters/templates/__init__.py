"""Template stores and the Jinja2 renderer."""
