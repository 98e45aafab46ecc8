"""anonymize: YAML recipes that turn personal microdata into anonymized microdata files."""

__version__ = "0.1.0"
TOOL = "anonymize-pipeline"  # the marker in every JSON file this tool writes
