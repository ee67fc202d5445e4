"""Fit time on small tables: AutoencoderTransformer against a hand-written PyTorch loop and
scikit-learn's MLPRegressor(X, X), and a grid search against the same grid over MLPRegressor.

One process, one torch thread and one BLAS thread, runs interleaved (median of --repeats).
Data: breast cancer and wine (standardized on the training rows) and the digits (/16), 80/20
split with random_state=0; k=5 components, batch 128, Adam (lr 1e-3, weight decay 1e-5),
--epochs epochs for every method (no early stopping: the same work). Networks: hidden (64,)
(MLPRegressor (64, 5, 64)) and the defaults (512, 256). "loop" trains the very module that
``AutoencoderTransformer(init="random")`` builds, with a plain ``torch.optim.Adam`` loop, as a
user would write it; "loop, PCA start" trains the default's network (``init="auto"``: a linear
path beside the MLP, started as PCA, the PCA fitted inside the timed loop) the same way, so that
"AE" over it is the package's own overhead. Test MSE (reconstruction of the test rows) stands
beside every time.

The grid search: 12 candidates (learning rate x weight decay x batch size) x 3 folds on breast
cancer, each estimator with its default stopping rule (the autoencoder's early stopping, the
MLP's tol), n_jobs=1. Writes benchmarks/results/small_data.md.

    python benchmarks/small_data.py
    python benchmarks/small_data.py --data breast_cancer --repeats 5
"""

import argparse
import copy
import time
import warnings

import numpy as np
import torch
from _report import markdown_table, write_result
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from speed import hand_written_fit
from threadpoolctl import threadpool_limits

from sklearn_ae import AutoencoderTransformer

DATA = {
    "breast_cancer": lambda: (load_breast_cancer().data, True),
    "wine": lambda: (load_wine().data, True),
    "digits": lambda: (load_digits().data / 16, False),
}
NETWORKS = {"(64,)": (64,), "defaults (512, 256)": (512, 256)}
K, BATCH, LR, DECAY = 5, 128, 1e-3, 1e-5


def split(name):
    X, standardize = DATA[name]()
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
    if standardize:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test


def methods(hidden, epochs, X_train):
    params = {"hidden_layer_sizes": hidden, "max_iter": epochs, "random_state": 0}
    params.update(early_stopping=False, batch_size=BATCH, learning_rate=LR, weight_decay=DECAY)

    def template(init):
        model = AutoencoderTransformer(K, **{**params, "max_iter": 1, "init": init})
        module = model.fit(X_train).net_.module_
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.reset_parameters()
        return module

    plain, with_linear_path = template("random"), template("auto")

    def train(module, X):
        X = torch.tensor(X, dtype=torch.float32)
        trained = hand_written_fit(module, X, epochs, BATCH, LR, DECAY).eval()
        return lambda Z: trained(torch.tensor(Z, dtype=torch.float32))[0].detach().numpy()

    def loop(X):
        return train(copy.deepcopy(plain), X)

    def loop_pca_start(X):
        module = copy.deepcopy(with_linear_path)
        pca = PCA(K).fit(X)
        module.init_linear_path_from_pca(pca.components_, pca.mean_)
        return train(module, X)

    def mlp(X):
        sizes = (*hidden, K, *hidden[::-1])
        model = MLPRegressor(
            hidden_layer_sizes=sizes,
            batch_size=BATCH,
            learning_rate_init=LR,
            alpha=DECAY,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=epochs + 1,
            random_state=0,
        )
        return model.fit(X, X).predict

    def ours(init):
        def fit(X):
            model = AutoencoderTransformer(K, init=init, **params).fit(X)
            return lambda Z: model.inverse_transform(model.transform(Z))

        return fit

    return {
        "MLPRegressor": mlp,
        "loop": loop,
        "loop, PCA start": loop_pca_start,
        "AE": ours("auto"),
        "AE init=random": ours("random"),
    }


def time_table(names, epochs, repeats):
    rows = []
    for name in names:
        X_train, X_test = split(name)
        for label, hidden in NETWORKS.items():
            fits = methods(hidden, epochs, X_train)
            seconds = {key: [] for key in fits}
            mse = {}
            for _ in range(repeats):
                for key, fit in fits.items():
                    start = time.perf_counter()
                    reconstruct = fit(X_train)
                    seconds[key].append(time.perf_counter() - start)
                    mse[key] = float(np.mean((reconstruct(X_test) - X_test) ** 2))
            loop = np.median(seconds["loop"])
            same_network = np.median(seconds["loop, PCA start"])
            for key in fits:
                median = float(np.median(seconds[key]))
                own = f"{median / same_network:.2f}" if key in ("AE", "loop, PCA start") else "-"
                ratio = f"{median / loop:.2f}"
                rows.append([name, label, key, f"{median:.2f}", ratio, own, f"{mse[key]:.4f}"])
                print(*rows[-1], flush=True)
    return rows


def grid_search_table():
    X_train, X_test = split("breast_cancer")
    rates, decays, batches = [1e-3, 3e-3, 1e-2], [0.0, 1e-5], [64, 128]
    searches = {
        "AutoencoderTransformer": (
            AutoencoderTransformer(K, hidden_layer_sizes=(64,), max_iter=200, random_state=0),
            {"learning_rate": rates, "weight_decay": decays, "batch_size": batches},
            None,
        ),
        "MLPRegressor(X, X)": (
            MLPRegressor(hidden_layer_sizes=(64, K, 64), max_iter=200, random_state=0),
            {"learning_rate_init": rates, "alpha": decays, "batch_size": batches},
            "neg_mean_squared_error",
        ),
    }
    rows = []
    for label, (estimator, grid, scoring) in searches.items():
        search = GridSearchCV(estimator, grid, cv=3, scoring=scoring, n_jobs=1)
        start = time.perf_counter()
        search.fit(X_train, X_train) if scoring else search.fit(X_train)
        seconds = time.perf_counter() - start
        best = search.best_estimator_
        X_hat = best.predict(X_test) if scoring else best.inverse_transform(best.transform(X_test))
        rows.append([label, f"{seconds:.1f}", f"{np.mean((X_hat - X_test) ** 2):.4f}"])
        print(*rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(DATA))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # MLPRegressor's ConvergenceWarning at a fixed epoch count
    with threadpool_limits(1):
        rows = time_table(args.data.split(","), args.epochs, args.repeats)
        grid = grid_search_table()
    body = [
        f"{args.epochs} epochs, k={K}, batch {BATCH}, Adam lr {LR}, weight decay {DECAY}; one "
        f"thread; median of {args.repeats} interleaved runs. vs loop: fit time over the "
        "hand-written PyTorch loop's. AE: AutoencoderTransformer with early_stopping=False "
        "(init='auto' starts as PCA and adds a linear path). vs loop, PCA start: over the "
        "hand-written loop of the default's own network (linear path, PCA start).",
        "",
        *markdown_table(
            ["data", "network", "method", "fit s", "vs loop", "vs loop, PCA start", "test MSE"],
            rows,
        ),
        "",
        "Grid search, 12 candidates x 3 folds on breast cancer, default stopping rules, "
        "max_iter=200, n_jobs=1; test MSE of the refitted best model:",
        "",
        *markdown_table(["search", "seconds", "test MSE"], grid),
    ]
    print(f"wrote {write_result('small_data', 'Small tables: fit time and grid search', body)}")


if __name__ == "__main__":
    main()
