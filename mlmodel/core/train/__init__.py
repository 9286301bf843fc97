"""The training half of the ML core: scikit-learn, SciPy, pandas and the xgboost package live
here (transformer, fitting, CQR, protocols, baselines, benchmark, demo data)."""
