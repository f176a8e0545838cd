"""adunion: a self-hostable advertising marketplace with a built-in wallet."""

__version__ = "0.1.0"
