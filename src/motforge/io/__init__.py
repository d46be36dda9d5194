"""Small I/O helpers shared by every stage."""
