"""anonymize: YAML recipes that turn personal microdata into anonymized microdata files."""

__version__ = "0.1.0"
