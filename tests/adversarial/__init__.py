"""Issue 10: each property as an attack through the public interfaces, on real slapd and Redis."""
