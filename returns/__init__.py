"""Returns (RMA): return policy, return requests and their lines, labels, inspection and
resolution."""
