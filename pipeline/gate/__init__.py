"""The data-quality gate: contracts and privacy expectations, all checked before publishing."""
