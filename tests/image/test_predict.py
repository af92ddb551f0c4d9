"""image/predict.py, run as the container runs it (a subprocess) against the local Numerai."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import lightgbm
import pandas as pd
import pytest

from tests.support.numerai import FakeNumerai, Submission, dead_url
from tests.support.numerai.models import (
    pickle_from_python_310,
    untrained_sklearn_pkl,
    upload_function_pkl,
)

PREDICT = Path(__file__).resolve().parents[2] / "image" / "predict.py"


def run_predict(
    server: FakeNumerai | None, model_dir: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRIGGER_ID", "NUMERAI_MODEL_IDS")}
    env.update(server.container_env() if server else {})
    env.update(
        NUMERAI_MODEL_DIR=str(model_dir),
        PREDICT_RETRIES="2",
        PREDICT_RETRY_DELAY="0.1",
        PREDICT_TIMEOUT="10",
    )
    env.update(extra)
    return subprocess.run(
        [sys.executable, str(PREDICT)], env=env, capture_output=True, text=True, timeout=300
    )


def live_path(server: FakeNumerai) -> Path:
    return server.round.files[f"{server.round.version}/live.parquet"]


def ranks(values: pd.Series) -> dict[str, float]:
    return values.rank(pct=True, method="average").to_dict()


@pytest.fixture
def no_model(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "README.md").write_text("only a README, as shipped")
    return folder


def test_without_a_model_the_example_predictions_land_and_it_says_so(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    done = run_predict(numerai_server, no_model)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "NO MODEL" in done.stdout and "EXAMPLE predictions" in done.stdout
    [sub] = numerai_server.submissions
    assert sub.accepted, sub.reason
    assert sub.model_id == numerai_server.model_id
    assert sub.trigger_id is None
    version = numerai_server.round.version
    # the latest version, and only what a model-less run needs (no features.json, no training data)
    assert numerai_server.downloads == [
        f"{version}/live.parquet",
        f"{version}/live_example_preds.parquet",
    ]
    example = pd.read_parquet(numerai_server.round.files[f"{version}/live_example_preds.parquet"])
    assert sub.predictions() == pytest.approx(ranks(example["prediction"]))


def test_a_lightgbm_booster_predicts_the_live_round(
    numerai_server: FakeNumerai, booster_dir: Path
) -> None:
    done = run_predict(numerai_server, booster_dir, TRIGGER_ID="trigger-abc")
    assert done.returncode == 0, done.stdout + done.stderr
    [sub] = numerai_server.submissions
    assert sub.accepted, sub.reason
    assert sub.trigger_id == "trigger-abc"
    version = numerai_server.round.version
    # the newest version's feature list first (it has every feature the booster names), then
    # its live data; nothing of the older versions
    assert numerai_server.downloads == [f"{version}/features.json", f"{version}/live.parquet"]
    booster = lightgbm.Booster(model_file=str(booster_dir / "model.txt"))
    features = booster.feature_name()
    live = pd.read_parquet(live_path(numerai_server), columns=features)
    expected = ranks(pd.Series(booster.predict(live), index=live.index))
    assert sub.predictions() == pytest.approx(expected)
    assert f"x {len(features)} features as int8" in done.stdout
    assert "NO MODEL" not in done.stdout


def test_a_pickled_estimator_is_used_before_a_booster(
    numerai_server: FakeNumerai, pickle_dir: Path, booster_dir: Path, tmp_path: Path
) -> None:
    both = tmp_path / "models"
    both.mkdir()
    shutil.copy(pickle_dir / "model.pkl", both)
    shutil.copy(booster_dir / "model.txt", both)
    done = run_predict(numerai_server, both)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model model.pkl: LGBMRegressor" in done.stdout
    assert "x 42 features as int8" in done.stdout  # the pickle was trained on the small set
    assert numerai_server.accepted


def test_bad_keys_fail_with_a_clear_message_and_no_secret_in_the_log(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    wrong = "W" * 64
    done = run_predict(numerai_server, no_model, NUMERAI_SECRET_KEY=wrong)
    assert done.returncode == 1
    assert "refused the API key" in done.stdout
    assert wrong not in done.stdout + done.stderr
    assert numerai_server.submissions == []


def test_missing_variables_are_named_and_nothing_is_contacted(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    done = run_predict(numerai_server, no_model, NUMERAI_SECRET_KEY="", NUMERAI_MODEL_ID="")
    assert done.returncode == 2
    assert (
        "missing environment variable(s): NUMERAI_SECRET_KEY, NUMERAI_MODEL_IDS (or NUMERAI_MODEL_ID)"
        in done.stdout
    )
    assert numerai_server.requests == []


def test_a_missing_dataset_fails_the_run(numerai_server: FakeNumerai, no_model: Path) -> None:
    numerai_server.missing_datasets = {f"{numerai_server.round.version}/live_example_preds.parquet"}
    done = run_predict(numerai_server, no_model)
    assert done.returncode == 1
    assert "download v5.2/live_example_preds.parquet failed" in done.stdout
    assert "not found" in done.stdout
    assert numerai_server.submissions == []


def test_no_live_data_at_all_says_to_try_again(numerai_server: FakeNumerai, no_model: Path) -> None:
    numerai_server.missing_datasets = {
        f"{v}/live.parquet" for v in (*numerai_server.older_versions, numerai_server.round.version)
    }
    done = run_predict(numerai_server, no_model)
    assert done.returncode == 1
    assert "lists no live.parquet" in done.stdout


def test_a_refused_upload_is_a_failure(numerai_server: FakeNumerai, booster_dir: Path) -> None:
    numerai_server.refuse_uploads = True
    done = run_predict(numerai_server, booster_dir)
    assert done.returncode == 1
    assert "upload failed" in done.stdout and "Upload not found" in done.stdout
    assert numerai_server.accepted == []
    assert len(numerai_server.rejected) == 1


def test_an_unreachable_server_gives_up_after_bounded_retries(no_model: Path) -> None:
    url = dead_url()
    done = run_predict(
        None,
        no_model,
        NUMERAI_API_URL=url,
        NUMERAI_PUBLIC_ID="P" * 32,
        NUMERAI_SECRET_KEY="S" * 64,
        NUMERAI_MODEL_ID="2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b",
    )
    assert done.returncode == 1
    assert f"cannot reach Numerai at {url}" in done.stdout
    assert "(after 2 attempts)" in done.stdout
    assert "retrying in" in done.stdout


def test_a_transient_error_is_retried_and_the_run_succeeds(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    numerai_server.fail_next("listDatasets", "Internal server error")
    done = run_predict(numerai_server, no_model)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "retrying in" in done.stdout
    assert len(numerai_server.accepted) == 1


def test_an_unreadable_model_fails_before_any_download(
    numerai_server: FakeNumerai, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"this is not a pickle")
    done = run_predict(numerai_server, folder)
    assert done.returncode == 2
    assert "cannot load the model model.pkl" in done.stdout
    # only the model names were asked for: no round, no download, no submission
    assert [name for name, _ in numerai_server.requests] == ["account"]
    assert numerai_server.downloads == []
    assert numerai_server.submissions == []


def test_a_model_needing_features_the_data_lacks_is_told_to_retrain(
    numerai_server: FakeNumerai, tmp_path: Path
) -> None:
    import numpy as np

    folder = tmp_path / "models"
    x = pd.DataFrame(
        np.random.default_rng(1).integers(0, 5, (200, 3)),
        columns=["feature_0001", "feature_gone", "feature_0002"],
    )
    booster = lightgbm.train(
        {"verbose": -1}, lightgbm.Dataset(x, np.arange(200.0)), num_boost_round=3
    )
    folder.mkdir()
    booster.save_model(str(folder / "model.txt"))
    done = run_predict(numerai_server, folder)
    assert done.returncode == 2
    assert (
        "no listed data version has all the model's 3 features: the newest, v5.2, lacks 1 "
        "(feature_gone); retrain it on v5.2" in done.stdout
    )
    assert numerai_server.submissions == []


def _load_predict_module():
    spec = importlib.util.spec_from_file_location("predict_under_test", PREDICT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_latest_version_compares_numbers_not_strings() -> None:
    predict = _load_predict_module()
    names = ["v4.3/live.parquet", "v5.10/live.parquet", "v5.9/live.parquet", "v5.11/train.parquet"]
    assert predict.latest_version(names) == "v5.10"


def test_ranks_are_in_zero_one_and_nan_gets_the_middle() -> None:
    predict = _load_predict_module()
    out = predict.ranked([3.0, float("nan"), 1.0, 2.0], pd.Index(["a", "b", "c", "d"]))
    assert out.to_dict() == {
        "a": 1.0,
        "b": 0.5,
        "c": pytest.approx(1 / 3),
        "d": pytest.approx(2 / 3),
    }


def test_the_fake_judges_uploads_like_numerai(numerai_server: FakeNumerai) -> None:
    ids = numerai_server.round.ids
    good = "id,prediction\n" + "".join(f"{i},0.5\n" for i in ids)
    assert numerai_server.judge(good.encode()) == ""
    dup = good + f"{ids[0]},0.5\n"
    assert "duplicated" in numerai_server.judge(dup.encode())
    short = "id,prediction\n" + "".join(f"{i},0.5\n" for i in ids[1:])
    assert "1 live ids are missing" in numerai_server.judge(short.encode())
    nan = good.replace(f"{ids[3]},0.5", f"{ids[3]},nan")
    assert "NaN" in numerai_server.judge(nan.encode())
    big = good.replace(f"{ids[3]},0.5", f"{ids[3]},1.5")
    assert "outside [0, 1]" in numerai_server.judge(big.encode())


# --- several models in one run ----------------------------------------------------------------


def expected_predictions(model_file: Path, server: FakeNumerai) -> dict[str, float]:
    """What the model itself predicts for the live round, ranked (as Numerai receives it)."""
    if model_file.suffix == ".txt":
        model = lightgbm.Booster(model_file=str(model_file))
        features = model.feature_name()
    else:
        model = pickle.loads(model_file.read_bytes())
        features = list(model.feature_names_in_)
    live = pd.read_parquet(live_path(server), columns=features)
    return ranks(pd.Series(model.predict(live), index=live.index))


def by_model(server: FakeNumerai) -> dict[str, Submission]:
    accepted = server.accepted
    found = {s.model_id: s for s in accepted}
    assert len(found) == len(accepted), "a model got two accepted submissions"
    return found


def models_folder(tmp_path: Path, **files: Path) -> Path:
    """``models/`` with each ``folder=file`` copied in; ``shared=file`` goes to models/ itself."""
    folder = tmp_path / "models"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("as shipped")
    for sub, source in files.items():
        dest = folder if sub == "shared" else folder / sub
        dest.mkdir(exist_ok=True)
        shutil.copy(source, dest / source.name)
    return folder


def test_two_models_each_submit_their_own_predictions_from_one_download(
    numerai_server: FakeNumerai, booster_dir: Path, pickle_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    # one folder by the model's name on numer.ai, the other by its id
    folder = models_folder(
        tmp_path, **{first.name: booster_dir / "model.txt", second.id: pickle_dir / "model.pkl"}
    )
    env = numerai_server.container_env([first.id, second.id])
    done = run_predict(numerai_server, folder, **env, TRIGGER_ID="trigger-2")
    assert done.returncode == 0, done.stdout + done.stderr

    subs = by_model(numerai_server)
    assert set(subs) == {first.id, second.id}
    assert numerai_server.rejected == []
    assert subs[first.id].predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )
    assert subs[second.id].predictions() == pytest.approx(
        expected_predictions(pickle_dir / "model.pkl", numerai_server)
    )
    assert {s.trigger_id for s in subs.values()} == {"trigger-2"}
    # the live data once for both models; nothing a model-less run would need
    assert numerai_server.downloaded("live.parquet") == 1
    assert numerai_server.downloaded("features.json") == 1
    assert numerai_server.downloaded("live_example_preds.parquet") == 0
    assert f"model {first.name} ({first.id}): models/{first.name}/model.txt" in done.stdout
    assert f"model {second.name} ({second.id}): models/{second.id}/model.pkl" in done.stdout
    assert "done: 2 of 2 submission(s) landed" in done.stdout
    assert "NO MODEL" not in done.stdout


def test_a_model_without_its_own_file_uses_the_shared_one_or_else_the_example_loudly(
    numerai_server: FakeNumerai, booster_dir: Path, pickle_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    with_shared = models_folder(
        tmp_path / "a",
        **{first.name: pickle_dir / "model.pkl", "shared": booster_dir / "model.txt"},
    )
    env = numerai_server.container_env([first.id, second.id])
    done = run_predict(numerai_server, with_shared, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    subs = by_model(numerai_server)
    assert subs[second.id].predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )
    assert "NO MODEL" not in done.stdout

    numerai_server.reset()
    third = numerai_server.add_model("aci_third")
    without = models_folder(tmp_path / "b", **{first.name: pickle_dir / "model.pkl"})
    env = numerai_server.container_env([first.id, third.id])
    done = run_predict(numerai_server, without, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    subs = by_model(numerai_server)
    example = pd.read_parquet(
        numerai_server.round.files[f"{numerai_server.round.version}/live_example_preds.parquet"]
    )
    assert subs[third.id].predictions() == pytest.approx(ranks(example["prediction"]))
    assert subs[first.id].predictions() == pytest.approx(
        expected_predictions(pickle_dir / "model.pkl", numerai_server)
    )
    assert f"WARNING: NO MODEL for aci_third ({third.id})" in done.stdout
    assert f"WARNING: NO MODEL for {first.name}" not in done.stdout
    assert numerai_server.downloaded("live.parquet") == 1


def test_a_model_that_raises_does_not_stop_the_other_and_the_run_fails_naming_it(
    numerai_server: FakeNumerai, booster_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    broken = untrained_sklearn_pkl(tmp_path / "broken" / "model.pkl")
    folder = models_folder(tmp_path, **{first.name: broken, second.name: booster_dir / "model.txt"})
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 1, done.stdout + done.stderr
    [sub] = numerai_server.submissions
    assert sub.accepted and sub.model_id == second.id
    assert sub.predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )
    assert f"FAILED: {first.name} ({first.id}): NotFittedError" in done.stdout
    assert f"landed: {second.name} ({second.id}): submission {sub.id}" in done.stdout
    assert f"error: 1 of 2 submission(s) did not land ({first.name})" in done.stdout
    assert numerai_server.downloaded("live.parquet") == 1


def test_a_model_file_that_cannot_load_does_not_stop_the_other(
    numerai_server: FakeNumerai, booster_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    bad = tmp_path / "bad" / "model.pkl"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not a pickle")
    folder = models_folder(tmp_path, **{first.id: bad, second.id: booster_dir / "model.txt"})
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 2, done.stdout + done.stderr  # a model to fix, not a network blip
    assert [s.model_id for s in numerai_server.accepted] == [second.id]
    assert f"FAILED: {first.name} ({first.id}): cannot load the model model.pkl" in done.stdout


def test_an_own_folder_without_a_model_file_fails_that_model_only(
    numerai_server: FakeNumerai, booster_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    folder = models_folder(tmp_path, shared=booster_dir / "model.txt")
    (folder / first.name).mkdir()
    (folder / first.name / "modle.txt").write_text("a typo")
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert [s.model_id for s in numerai_server.accepted] == [second.id]
    assert f"FAILED: {first.name} ({first.id}): models/{first.name}/ holds none of" in done.stdout


def test_an_upload_that_does_not_land_for_one_model_is_named_and_the_other_lands(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    first, second = numerai_server.models[:2]
    numerai_server.fail_next("upload", status=403)  # the first PUT to storage is refused
    done = run_predict(
        numerai_server, no_model, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert [s.model_id for s in numerai_server.accepted] == [second.id]
    assert [s.model_id for s in numerai_server.rejected] == [first.id]
    assert f"FAILED: {first.name} ({first.id}): upload failed: Upload not found" in done.stdout
    assert numerai_server.downloaded("live_example_preds.parquet") == 1


def test_without_the_read_scope_folders_by_id_still_work_and_named_ones_are_flagged(
    numerai_server: FakeNumerai, booster_dir: Path, pickle_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    numerai_server.scopes = ("upload_submission",)
    folder = models_folder(
        tmp_path, **{first.id: booster_dir / "model.txt", second.name: pickle_dir / "model.pkl"}
    )
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model names unknown" in done.stdout and "read_user_info" in done.stdout
    assert f"WARNING: models/{second.name}/ belongs to none of this run's models" in done.stdout
    assert f"WARNING: NO MODEL for {second.id}" in done.stdout
    subs = by_model(numerai_server)
    assert subs[first.id].predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )


def test_model_ids_are_checked_before_numerai_is_contacted(
    numerai_server: FakeNumerai, no_model: Path
) -> None:
    env = numerai_server.container_env([numerai_server.model_id, "not-a-uuid"])
    done = run_predict(numerai_server, no_model, **env)
    assert done.returncode == 2
    assert "NUMERAI_MODEL_IDS: 'not-a-uuid' is not a model id (a UUID)" in done.stdout
    assert numerai_server.requests == []


def test_a_model_named_twice_is_submitted_once(numerai_server: FakeNumerai, no_model: Path) -> None:
    model_id = numerai_server.model_id
    env = numerai_server.container_env([model_id, f" {model_id.upper()} ", ""])
    done = run_predict(numerai_server, no_model, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [s.model_id for s in numerai_server.accepted] == [model_id]
    assert "is submitted once" in done.stdout


# --- Numerai Model Uploads (a cloudpickled predict function) ----------------------------------


def upload_output(pkl: Path, live: Path, benchmarks: Path | None = None) -> dict[str, float]:
    """What the Model Upload itself returns for the live file, by id (no ranking: Numerai takes
    a Model Upload's values as they are)."""
    function = pickle.loads(pkl.read_bytes())
    frame = pd.read_parquet(live)
    if benchmarks is None:
        out = function(frame)
    else:
        out = function(frame, pd.read_parquet(benchmarks).loc[frame.index])
    return out["prediction"].to_dict()


def test_a_model_upload_made_like_hello_numerai_submits_its_own_values(
    numerai_server: FakeNumerai, hello_numerai_pkl: Path, tmp_path: Path
) -> None:
    folder = models_folder(tmp_path, shared=hello_numerai_pkl)  # any name ending .pkl
    done = run_predict(numerai_server, folder)
    assert done.returncode == 0, done.stdout + done.stderr
    [sub] = numerai_server.submissions
    assert sub.accepted, sub.reason
    assert "a Numerai Model Upload, function predict(live_features)" in done.stdout
    expected = upload_output(hello_numerai_pkl, live_path(numerai_server))
    assert sub.predictions() == pytest.approx(expected)
    assert min(expected.values()) > 0 and max(expected.values()) < 1
    version = numerai_server.round.version
    # the model inside the function names its 42 features: the newest version has them all
    assert f"data {version} (the newest of its 42 features)" in done.stdout
    # one argument: no benchmark file
    assert numerai_server.downloads == [f"{version}/features.json", f"{version}/live.parquet"]


TWO_ARGUMENTS = """
import pandas as pd

def predict(live_features, live_benchmark_models):
    # positional on purpose: right only if the benchmark rows are aligned to the live rows
    values = live_benchmark_models["v5_lgbm_ct_blend"].to_numpy()
    return pd.DataFrame({"prediction": values}, index=live_features.index)
"""


def test_a_two_argument_upload_gets_the_benchmark_models_aligned_to_the_live_ids_once_per_run(
    numerai_server: FakeNumerai, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    pkl = upload_function_pkl(tmp_path / "bench" / "blend.pkl", TWO_ARGUMENTS)
    folder = models_folder(tmp_path, **{first.name: pkl, second.id: pkl})
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 0, done.stdout + done.stderr
    version = numerai_server.round.version
    bench = pd.read_parquet(numerai_server.round.files[f"{version}/live_benchmark_models.parquet"])
    assert list(bench.index) != list(pd.read_parquet(live_path(numerai_server), columns=[]).index)
    expected = bench["v5_lgbm_ct_blend"].astype("float64").to_dict()
    subs = by_model(numerai_server)
    assert subs[first.id].predictions() == pytest.approx(expected)
    assert subs[second.id].predictions() == pytest.approx(expected)
    assert "predict(live_features, live_benchmark_models)" in done.stdout
    assert numerai_server.downloaded("live_benchmark_models.parquet") == 1
    assert numerai_server.downloaded("live.parquet") == 1


BAD_RESULTS = {
    "nan": (
        "p = pd.Series(0.5, index=live_features.index)\n"
        "    p.iloc[3] = float('nan')\n"
        "    return p.to_frame('prediction')",
        "returned NaN (or a non-number) for 1 of 5000 ids: predictions must not be NaN",
    ),
    "series": (
        "return pd.Series(0.5, index=live_features.index)",
        "returned a pandas.Series, not a DataFrame: a Model Upload must return a "
        "pandas DataFrame with a 'prediction' column (return series.to_frame('prediction'))",
    ),
    "wrong length": (
        "return pd.DataFrame({'prediction': 0.5}, index=live_features.index[:-1])",
        "returned 4999 rows for 5000 live ids: it must return one row per live id",
    ),
    "outside [0, 1]": (
        "return pd.DataFrame({'prediction': 1.5}, index=live_features.index)",
        "returned 5000 values outside [0, 1] (min 1.5, max 1.5): predictions must be between "
        "0 and 1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RESULTS))
def test_an_upload_breaking_a_rule_fails_naming_it_and_the_other_model_submits(
    case: str, numerai_server: FakeNumerai, booster_dir: Path, tmp_path: Path
) -> None:
    body, rule = BAD_RESULTS[case]
    source = f"import pandas as pd\n\ndef predict(live_features):\n    {body}\n"
    bad = upload_function_pkl(tmp_path / "bad" / "bad.pkl", source)
    first, second = numerai_server.models[:2]
    folder = models_folder(tmp_path, **{first.name: bad, second.name: booster_dir / "model.txt"})
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAILED: {first.name} ({first.id}): the Model Upload {rule}" in done.stdout
    assert [s.model_id for s in numerai_server.submissions] == [second.id]
    assert numerai_server.accepted[0].predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )


def test_a_model_trained_on_the_older_version_submits_on_it_beside_one_on_the_newest(
    numerai_server: FakeNumerai, older_version_pkl: Path, booster_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    folder = models_folder(
        tmp_path, **{first.name: older_version_pkl, second.name: booster_dir / "model.txt"}
    )
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 0, done.stdout + done.stderr
    newest, older = numerai_server.round.version, "v5.0"
    subs = by_model(numerai_server)
    expected = upload_output(older_version_pkl, numerai_server.round.older_file("live.parquet"))
    assert subs[first.id].predictions() == pytest.approx(expected)
    assert subs[second.id].predictions() == pytest.approx(
        expected_predictions(booster_dir / "model.txt", numerai_server)
    )
    assert f"model {first.name} ({first.id}): data {older} (the newest with all of them" in (
        done.stdout
    )
    assert f"NOTE: {newest} lacks 10 of its features (feature_old_" in done.stdout
    assert f"model {second.name} ({second.id}): data {newest} (the newest" in done.stdout
    assert f"landed: {first.name} ({first.id}): submission" in done.stdout
    # each version's live file once; the oldest (v4.3) never looked at
    assert sorted(d for d in numerai_server.downloads if d.endswith("live.parquet")) == [
        f"{older}/live.parquet",
        f"{newest}/live.parquet",
    ]
    assert not [d for d in numerai_server.downloads if d.startswith("v4.3/")]


def test_a_data_version_pin_wins_and_an_unlisted_one_fails_that_model(
    numerai_server: FakeNumerai, older_version_pkl: Path, hello_numerai_pkl: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    folder = models_folder(
        tmp_path, **{first.name: older_version_pkl, second.name: hello_numerai_pkl}
    )
    (folder / first.name / "data_version").write_text("v4.3\n")
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"data v4.3 (pinned by models/{first.name}/data_version)" in done.stdout
    assert numerai_server.downloaded("live.parquet") == 2  # v4.3 for one, v5.2 for the other

    numerai_server.reset()
    done = run_predict(
        numerai_server,
        folder,
        **numerai_server.container_env([first.id, second.id]),
        PREDICT_DATA_VERSION="v9.9",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"FAILED: {second.name} ({second.id}): data version v9.9 (pinned by the data_version "
        "setting) has no live file this round (listed: v5.2, v5.0, v4.3)" in done.stdout
    )
    assert [s.model_id for s in numerai_server.accepted] == [first.id]  # its own pin wins


def test_a_pickle_from_an_older_python_says_which_and_what_to_set(
    numerai_server: FakeNumerai, booster_dir: Path, tmp_path: Path
) -> None:
    first, second = numerai_server.models[:2]
    old = pickle_from_python_310(tmp_path / "old" / "model_py310.pkl")
    folder = models_folder(tmp_path, **{first.name: old, second.name: booster_dir / "model.txt"})
    done = run_predict(
        numerai_server, folder, **numerai_server.container_env([first.id, second.id])
    )
    assert done.returncode == 2, done.stdout + done.stderr
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (
        f"FAILED: {first.name} ({first.id}): cannot load the model model_py310.pkl: TypeError: "
        "code() argument 13 must be str, not int. It was made by an older Python (3.10 or "
        f"earlier) than this image's {here}" in done.stdout
    )
    assert '[docker] python = "3.X"' in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert [s.model_id for s in numerai_server.accepted] == [second.id]


def test_several_pickles_in_one_folder_are_refused_for_that_model(
    numerai_server: FakeNumerai, hello_numerai_pkl: Path, pickle_dir: Path, tmp_path: Path
) -> None:
    folder = models_folder(tmp_path, shared=hello_numerai_pkl)
    shutil.copy(pickle_dir / "model.pkl", folder / "other.pkl")
    done = run_predict(numerai_server, folder)
    assert done.returncode == 2
    assert "holds 2 .pkl files (hello_numerai.pkl, other.pkl)" in done.stdout
    assert numerai_server.submissions == []


def test_the_python_hint_reads_the_code_object_errors() -> None:
    predict = _load_predict_module()
    newer = predict._python_hint(TypeError("code expected at most 16 arguments, got 18"))
    assert "made by a newer Python (3.11 or later)" in newer
    assert predict._python_hint(KeyError("code")) == ""
    assert predict._python_hint(TypeError("unsupported operand type(s)")) == ""
