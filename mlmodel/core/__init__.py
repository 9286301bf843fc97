"""The pure ML core: no Django. Its serving half (profile, taxonomy, encoding, linear, booster,
bundle, predictor, artifacts, rollout) never imports the training stack; ``train/`` does, and
only training and the worker import it (see the import-linter contracts in pyproject.toml)."""
