"""Lambda entry points. Each is thin: it builds its clients once, at module scope, and hands over
to the core. The constructs deploy this package as the functions' code."""
