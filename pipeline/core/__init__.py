"""Leaves that every package may import.

Errors, the artifact header, column roles, strict models, requirements, exact sums and moments,
quantiles, randomness, JIS codes, YAML positions, the CPU priority of work that may
wait.
"""
