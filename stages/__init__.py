"""Stage scripts, run by dvc.yaml as modules of the checkout: python -m stages.NAME."""
