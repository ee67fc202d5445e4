"""
=============================
Grid search inside a Pipeline
=============================

The autoencoder variants are parameters, so ``GridSearchCV`` can choose between them for a
downstream classifier. Here a logistic regression on 8 codes picks the hidden layers, the noise and
the contractive weight by cross-validated accuracy.
"""

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
pipe = make_pipeline(
    MinMaxScaler(),
    AutoencoderTransformer(n_components=8, max_iter=10, random_state=0),
    LogisticRegression(max_iter=1000),
)
grid = GridSearchCV(
    pipe,
    {
        "autoencodertransformer__hidden_layer_sizes": [(32,), (64, 32)],
        "autoencodertransformer__noise": [None, "gaussian"],
        "autoencodertransformer__contractive_weight": [0.0, 1e-3],
    },
    cv=2,
).fit(X, y)
results = pd.DataFrame(grid.cv_results_)[["params", "mean_test_score", "mean_fit_time"]]
print(results.sort_values("mean_test_score", ascending=False).to_string(index=False))
print("best:", grid.best_params_, f"accuracy {grid.best_score_:.3f}")
