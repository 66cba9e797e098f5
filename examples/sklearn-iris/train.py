"""Train the two example models on scikit-learn's bundled iris data set.

v1 is a logistic regression, v2 a random forest: they agree on most inputs
and differ on some, and the forest answers more slowly, which is what a
canary gate and a shadow comparison are for. Both are seeded, so the same
command writes the same models.

    python3 train.py --out models/      # writes models/v1/model.joblib, models/v2/model.joblib
"""

import argparse
import json
import pathlib

import joblib
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

MODELS = {
    "v1": lambda: LogisticRegression(C=1.0, max_iter=1000),
    "v2": lambda: RandomForestClassifier(n_estimators=100, max_depth=3, random_state=0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory to write v1/ and v2/ into")
    args = parser.parse_args()

    features, labels = load_iris(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels
    )
    summary = {}
    for version, make in MODELS.items():
        model = make().fit(train_x, train_y)
        target = pathlib.Path(args.out) / version
        target.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, target / "model.joblib")
        summary[version] = {
            "estimator": type(model).__name__,
            "test_accuracy": round(float(model.score(test_x, test_y)), 4),
            "path": str(target / "model.joblib"),
        }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
