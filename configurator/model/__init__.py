"""The model: inventory, variables, roles, catalogs, the YAML loader and templates."""
