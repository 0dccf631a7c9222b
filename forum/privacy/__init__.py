"""Privacy: the registry of what each column is, and (later) export, erasure, retention."""
