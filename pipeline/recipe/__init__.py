"""Recipes: the pydantic models (single source of truth) and the YAML loader."""
