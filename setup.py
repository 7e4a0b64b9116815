"""Packaging: everything is declared in setup.cfg except the built-in roles' place in the package.

The top-level roles/ folder is shipped inside the package as ``configurator/builtin_roles`` (mapped
at build time), so an installed wheel finds the same roles as a checkout; setup.cfg alone cannot add
a mapped package to ``packages = find:``.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["configurator", "configurator.*"]), "configurator.builtin_roles"],
    package_dir={"configurator.builtin_roles": "roles"},
    package_data={"configurator.builtin_roles": ["**/*"]},
    exclude_package_data={"": ["__pycache__/*", "*.py[cod]"]},
)
