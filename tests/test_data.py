"""The data layer on ML-100K: readers, id mapping, split facts, the validation split, the synthetic
generator, download order, errors. The other datasets and formats: tests/test_datasets.py."""

import hashlib
import io
import logging
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils import data
from utils.data import (
    ML100K,
    ML100K_FACTS,
    SYNTHETIC_MARKER,
    UNSEEN,
    DatasetError,
    DatasetFormatError,
    DatasetNotFoundError,
    IdMapping,
    dataset_summary,
    find_dataset,
    load_movielens,
    read_genres,
    read_items,
    read_occupations,
    read_ratings,
    read_split,
    read_users,
    validation_split,
)
from utils.datasets import download
from utils.datasets.synthetic import NUM_UNSEEN_TEST_MOVIES, write_synthetic, write_synthetic_ml100k

# --- readers --------------------------------------------------------------------------------------


def test_read_ratings_dtypes_and_values(tmp_path):
    path = tmp_path / "r.data"
    path.write_text("1\t10\t5\t881250949\n2\t3\t1\t891717742\n")
    ratings = read_ratings(path)
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert ratings.dtypes.to_dict() == {
        "user_id": np.int32,
        "item_id": np.int32,
        "rating": np.int8,
        "timestamp": np.int64,
    }
    assert ratings.values.tolist() == [[1, 10, 5, 881250949], [2, 3, 1, 891717742]]


def test_read_items_parses_titles_dates_and_genres(synthetic_dir):
    items = read_items(synthetic_dir)
    genres = read_genres(synthetic_dir)
    assert len(genres) == 19 and genres[0] == "unknown" and genres[-1] == "Western"
    assert list(items.columns) == ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genres]
    assert items["item_id"].tolist() == list(range(1, len(items) + 1))
    assert items[genres].dtypes.eq(bool).all()
    assert pd.api.types.is_datetime64_any_dtype(items["release_date"])
    first = (synthetic_dir / "u.item").read_text(encoding="latin-1").splitlines()[0].split("|")
    assert items.loc[0, "title"] == first[1]
    assert [g for g, flag in zip(genres, first[5:]) if flag == "1"] == [g for g in genres if items.loc[0, g]]


def test_read_items_keeps_latin1_titles(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    lines = (folder / "u.item").read_bytes().decode("latin-1").splitlines()
    fields = lines[0].split("|")
    fields[1] = "Amélie à Paris (1996)"
    lines[0] = "|".join(fields)
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    assert read_items(folder).loc[0, "title"] == "Amélie à Paris (1996)"


def test_read_users_and_occupations(synthetic_dir):
    users = read_users(synthetic_dir)
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert set(users["gender"].astype(str)) <= {"M", "F"}
    assert set(users["occupation"].astype(str)) <= set(read_occupations(synthetic_dir))
    assert len(read_occupations(synthetic_dir)) == 21


@pytest.mark.parametrize("split", ["ua", "ub", "u1", "u3", "u5"])
def test_every_split_partitions_u_data(synthetic_dir, split):
    train, test = read_split(synthetic_dir, split)
    everything = read_ratings(synthetic_dir / "u.data")
    both = pd.concat([train, test]).sort_values(["user_id", "item_id"]).reset_index(drop=True)
    assert both.equals(everything.sort_values(["user_id", "item_id"]).reset_index(drop=True))


def test_unknown_split_is_refused(synthetic_dir):
    with pytest.raises(ValueError, match="ua, ub, u1"):
        read_split(synthetic_dir, "u9")


# --- mapping and split facts -----------------------------------------------------------------------


def test_mapping_is_contiguous_and_round_trips():
    ratings = pd.DataFrame({"user_id": [7, 3, 7, 12], "item_id": [100, 5, 42, 5]})
    mapping = IdMapping.from_ratings(ratings)
    assert mapping.user_ids.tolist() == [3, 7, 12] and mapping.item_ids.tolist() == [5, 42, 100]
    assert mapping.user_index([12, 3]).tolist() == [2, 0]
    assert mapping.item_id(mapping.item_index([100, 42, 5])).tolist() == [100, 42, 5]
    assert mapping.item_index([999]).tolist() == [UNSEEN]
    assert mapping.item_index([999]).dtype == np.int64


def test_mapping_of_ids_given_in_any_order():
    mapping = IdMapping(user_ids=np.array([7, 3, 12]), item_ids=np.array([40, 5]))
    assert mapping.user_index([3, 12, 7]).tolist() == [1, 2, 0]
    assert mapping.item_index([5, 6, 40]).tolist() == [1, UNSEEN, 0]
    assert mapping.item_index(np.array([5], dtype=np.uint16)).tolist() == [1]
    assert IdMapping(np.array([], dtype=np.int64), np.array([1])).user_index([4], missing=-7).tolist() == [-7]


def test_mapping_rejects_unknown_users_and_float_ids():
    mapping = IdMapping.from_ratings(pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2]}))
    with pytest.raises(KeyError, match="user id.*5.*do not occur"):
        mapping.user_index([5])
    with pytest.raises(TypeError, match="integers"):
        mapping.item_index(np.array([1.0, np.nan]))


def test_ua_split_facts_on_synthetic(synthetic):
    assert (synthetic.test.groupby("user_id").size() == 10).all()
    assert synthetic.test["user_index"].ge(0).all()
    assert synthetic.train["item_index"].between(0, synthetic.num_items - 1).all()
    assert synthetic.train["user_index"].between(0, synthetic.num_users - 1).all()
    assert synthetic.train["item_index"].dtype == np.int64
    # Test movies unseen in training stay as int rows with index -1, not NaN or float ids.
    unseen = synthetic.unseen_test_rows
    assert len(unseen) == NUM_UNSEEN_TEST_MOVIES
    assert synthetic.test["item_index"].dtype == np.int64
    assert not synthetic.test.isna().any().any()
    assert not unseen["item_id"].isin(synthetic.train["item_id"]).any()
    assert dataset_summary(synthetic)["test rows of movies unseen in training"] == NUM_UNSEEN_TEST_MOVIES


def test_titles_follow_the_mapping(synthetic):
    some = synthetic.train.sample(20, random_state=0)
    by_id = synthetic.items.set_index("item_id")["title"]
    assert synthetic.titles(some["item_index"]) == [by_id[i] for i in some["item_id"]]


def test_unknown_indices_never_wrap_around(synthetic):
    mapping = IdMapping(user_ids=np.array([3, 7, 12]), item_ids=np.array([5, 42]))
    assert mapping.user_id([0, 2]).tolist() == [3, 12] and mapping.item_id(np.array([1, 0])).tolist() == [42, 5]
    for bad in (-1, 3):
        with pytest.raises(IndexError, match=rf"user index {bad} is not in \[0, 3\)"):
            mapping.user_id([0, bad])
    with pytest.raises(IndexError, match=r"movie index 2 is not in \[0, 2\)"):
        mapping.item_id(2)
    last = synthetic.num_items - 1
    assert synthetic.titles([last]) == [synthetic.items.set_index("item_id")["title"][int(synthetic.mapping.item_ids[last])]]
    for bad in ([UNSEEN], [0, synthetic.num_items]):  # -1 used to give the last movie
        with pytest.raises(IndexError, match=rf"movie index {bad[-1]} is not in \[0, {synthetic.num_items}\)"):
            synthetic.titles(bad)


# --- the validation split ----------------------------------------------------------------------------


def _frame(counts: dict[int, int]) -> pd.DataFrame:
    """A training frame with index columns: user u has counts[u] ratings of movies 1, 2, ..."""
    users = np.repeat(list(counts), list(counts.values()))
    items = np.concatenate([np.arange(1, n + 1) for n in counts.values()])
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": 4, "timestamp": np.arange(len(users))})
    return frame.assign(user_index=frame["user_id"] - 1, item_index=frame["item_id"] - 1).sample(frac=1, random_state=1)


def test_validation_split_holds_out_per_user_of_users_with_enough():
    train = _frame({1: 10, 2: 9, 3: 30, 4: 1, 5: 11})
    fit, validation = validation_split(train, per_user=5, seed=0)
    held = validation.groupby("user_id").size().to_dict()
    assert held == {1: 5, 3: 5, 5: 5}  # users 2 (9 < 10) and 4 keep all their ratings
    assert fit.groupby("user_id").size().to_dict() == {1: 5, 2: 9, 3: 25, 4: 1, 5: 6}


def test_validation_split_partitions_its_input_and_keeps_the_index_columns(synthetic):
    fit, validation = validation_split(synthetic.train, per_user=5, seed=0)
    assert list(fit.columns) == list(synthetic.train.columns) == list(validation.columns)
    assert fit.index.intersection(validation.index).empty
    both = pd.concat([fit, validation]).sort_index()
    assert both.equals(synthetic.train.sort_index())
    assert fit.index.is_monotonic_increasing and validation.index.is_monotonic_increasing
    counts = synthetic.train.groupby("user_id").size()
    assert validation.groupby("user_id").size().reindex(counts.index, fill_value=0).eq(np.where(counts >= 10, 5, 0)).all()


def test_validation_split_is_seeded(synthetic):
    first = validation_split(synthetic.train, per_user=3, seed=0)[1]
    again = validation_split(synthetic.train, per_user=3, seed=0)[1]
    other = validation_split(synthetic.train, per_user=3, seed=1)[1]
    assert first.equals(again)
    assert not first.index.equals(other.index)
    assert len(first) == len(other)


# --- the synthetic generator -------------------------------------------------------------------------


def _digest(folder: Path) -> str:
    """MD5 of every file's name and bytes but the marker's (its text names the generator's module)."""
    digest = hashlib.md5(usedforsecurity=False)
    for file in sorted(folder.iterdir()):
        if file.name == SYNTHETIC_MARKER:
            continue
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def test_synthetic_ml100k_files_are_unchanged(tmp_path):
    """Byte for byte what the generator wrote before it learnt the other formats (CI depends on it)."""
    assert _digest(write_synthetic_ml100k(tmp_path / "a", num_users=50, num_items=80, seed=3)) == "3a53c9a7afa771a29f8c606a13f42df2"
    assert _digest(write_synthetic_ml100k(tmp_path / "b")) == "4553f0eb95c72877154313d10f1b3a5f"
    assert _digest(write_synthetic("ml-100k", tmp_path / "c")) == "4553f0eb95c72877154313d10f1b3a5f"



def test_synthetic_is_deterministic(tmp_path):
    a = write_synthetic_ml100k(tmp_path / "a", num_users=50, num_items=80, seed=3)
    b = write_synthetic_ml100k(tmp_path / "b", num_users=50, num_items=80, seed=3)
    c = write_synthetic_ml100k(tmp_path / "c", num_users=50, num_items=80, seed=4)
    for name in ("u.data", "u.item", "u.user", "ua.base", "ua.test", "u1.test"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "u.data").read_bytes() != (c / "u.data").read_bytes()


def test_synthetic_has_ml100k_shape(synthetic_dir, synthetic):
    info = (synthetic_dir / "u.info").read_text().split()
    assert int(info[0]) == len(synthetic.users) and int(info[2]) == len(synthetic.items)
    assert int(info[4]) == len(read_ratings(synthetic_dir / "u.data"))
    per_user = read_ratings(synthetic_dir / "u.data").groupby("user_id").size()
    assert per_user.min() >= 20
    assert synthetic.is_synthetic


def test_synthetic_taste_clusters_beat_popularity(synthetic):
    """Planted tastes are learnable: item-item co-occurrence beats popularity on ua.test."""
    n_users, n_items = synthetic.num_users, synthetic.num_items
    interactions = np.zeros((n_users, n_items))
    users, items = synthetic.train_pairs()
    interactions[users, items] = 1
    popularity = np.tile(interactions.sum(0), (n_users, 1))
    cooccurrence = interactions @ (interactions.T @ interactions)

    def recall_at_10(scores):
        scores = np.where(interactions > 0, -np.inf, scores)
        top = np.argsort(-scores, axis=1)[:, :10]
        test = synthetic.test[synthetic.test.item_index >= 0]
        truth = set(zip(test.user_index, test.item_index))
        return np.mean([sum((u, i) in truth for i in top[u]) / 10 for u in range(n_users)])

    assert recall_at_10(cooccurrence) > 1.2 * recall_at_10(popularity)


# --- finding and downloading ------------------------------------------------------------------------


def test_explicit_path_wins_over_everything(synthetic_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ML100K_DIR", str(tmp_path / "elsewhere"))
    assert find_dataset(synthetic_dir, cache_dir=tmp_path, download=False) == synthetic_dir


def test_env_var_comes_before_cache(synthetic_dir, tmp_path, monkeypatch):
    cached = write_synthetic_ml100k(tmp_path / "cache" / "ml-100k", num_users=20, num_items=40)
    monkeypatch.setenv("ML100K_DIR", str(synthetic_dir))
    assert find_dataset(cache_dir=tmp_path / "cache", download=False) == synthetic_dir
    monkeypatch.delenv("ML100K_DIR")
    assert find_dataset(cache_dir=tmp_path / "cache", download=False) == cached


def test_incomplete_env_folder_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ML100K_DIR", str(tmp_path))
    never = pytest.fail  # a download here would hide the user's mistake
    with pytest.raises(DatasetNotFoundError, match=r"ML100K_DIR .* lacks u\.data"):
        find_dataset(cache_dir=tmp_path, downloaders=[("never", never)])


def test_download_order_kagglehub_then_grouplens(tmp_path, monkeypatch, synthetic_dir):
    monkeypatch.delenv("ML100K_DIR", raising=False)
    calls = []

    def failing_kaggle(cache_dir):
        calls.append("kagglehub")
        raise ConnectionError("no network")

    def working_zip(cache_dir):
        calls.append("zip")
        return synthetic_dir

    found = find_dataset(cache_dir=tmp_path, downloaders=[("kagglehub", failing_kaggle), ("zip", working_zip)])
    assert found == synthetic_dir and calls == ["kagglehub", "zip"]


def test_cache_hit_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("ML100K_DIR", raising=False)
    cached = write_synthetic_ml100k(tmp_path / "ml-100k", num_users=20, num_items=40)
    assert find_dataset(cache_dir=tmp_path, downloaders=[("never", pytest.fail)]) == cached


def test_all_sources_failing_lists_every_attempt(tmp_path, monkeypatch):
    monkeypatch.delenv("ML100K_DIR", raising=False)

    def offline(cache_dir):
        raise ConnectionError("network unreachable")

    with pytest.raises(DatasetNotFoundError) as error:
        find_dataset(cache_dir=tmp_path, downloaders=[("kagglehub", offline), ("GroupLens zip", offline)])
    message = str(error.value)
    for expected in ("cache", "kagglehub: ConnectionError", "GroupLens zip: ConnectionError", "ML100K_DIR", "make data"):
        assert expected in message


def test_each_failed_source_is_logged_before_the_next(tmp_path, monkeypatch, caplog, synthetic_dir):
    monkeypatch.delenv("ML100K_DIR", raising=False)
    seen_when_called = []

    def offline(cache_dir):
        raise ConnectionError("network unreachable")

    def corrupt(cache_dir):
        seen_when_called.append([record.getMessage() for record in caplog.records])
        raise DatasetError("the zip's MD5 differs")

    def working(cache_dir):
        seen_when_called.append([record.getMessage() for record in caplog.records])
        return synthetic_dir

    with caplog.at_level(logging.WARNING, logger="utils.data"):
        assert find_dataset(cache_dir=tmp_path, downloaders=[("kagglehub", offline), ("zip", corrupt), ("mirror", working)]) == synthetic_dir
    kaggle_failed = "MovieLens 100K: kagglehub failed: ConnectionError: network unreachable"
    zip_failed = "MovieLens 100K: zip failed: DatasetError: the zip's MD5 differs"
    assert seen_when_called == [[kaggle_failed], [kaggle_failed, zip_failed]]
    assert [(r.name, r.levelno) for r in caplog.records] == [("utils.data", logging.WARNING)] * 2
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="utils.data"), pytest.raises(DatasetNotFoundError) as error:
        find_dataset(cache_dir=tmp_path, downloaders=[("kagglehub", offline), ("zip", corrupt)])
    assert [r.getMessage() for r in caplog.records] == [kaggle_failed, zip_failed]
    assert "kagglehub: ConnectionError: network unreachable" in error.value.problem
    assert "zip: DatasetError: the zip's MD5 differs" in error.value.problem


def test_kagglehub_downloader_uses_the_pinned_handle(tmp_path, synthetic_dir, monkeypatch):
    handles = []
    kaggle_root = tmp_path / "kaggle"
    (kaggle_root / "ml-100k").mkdir(parents=True)
    for file in synthetic_dir.iterdir():
        (kaggle_root / "ml-100k" / file.name).write_bytes(file.read_bytes())
    fake = types.SimpleNamespace(dataset_download=lambda handle: handles.append(handle) or str(kaggle_root))
    monkeypatch.setitem(sys.modules, "kagglehub", fake)
    folder = download.download_from_kagglehub(tmp_path / "cache")
    assert handles == ["prajitdatta/movielens-100k-dataset/versions/1"]
    assert folder == tmp_path / "cache" / "ml-100k"
    assert (folder / "u.data").read_bytes() == (synthetic_dir / "u.data").read_bytes()


def _zip_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in folder.iterdir():
            archive.write(file, f"ml-100k/{file.name}")
    return buffer.getvalue()


def test_ml100k_messages_are_unchanged():
    spec = data.get_dataset("ml-100k")
    assert spec is ML100K
    assert spec.how_to_get() == (
        "with a network connection, run `make data` (downloads into data/ml-100k); or set ML100K_DIR to a folder holding "
        "the unzipped MovieLens 100K files (u.data, u.item, ua.base, ...), or pass the folder explicitly."
    )
    assert DatasetFormatError("x", 1, "bad").fix == spec.corrupt_fix()
    assert (spec.env_var, spec.folder, spec.splits, spec.default_split) == ("ML100K_DIR", "ml-100k", data.SPLITS, "ua")
    assert [name for name, _ in spec.sources()] == ["kagglehub", "GroupLens zip"]


def test_grouplens_download_checks_md5(tmp_path, synthetic_dir):
    payload = _zip_of(synthetic_dir)
    good = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    folder = download.download_from_grouplens(tmp_path, md5=good, fetch=lambda url: payload)
    assert not data.missing_files(folder)
    with pytest.raises(DatasetError, match="MD5"):
        download.download_from_grouplens(tmp_path / "other", fetch=lambda url: payload)  # the published MD5


# --- bad input ----------------------------------------------------------------------------------------


def _corrupt(folder: Path, name: str, line_number: int, new_line: str) -> None:
    path = folder / name
    lines = path.read_text(encoding="latin-1").splitlines()
    lines[line_number - 1] = new_line
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1\t2\t3", "expected 4 tab-separated fields"),
        ("1\tabc\t3\t881250949", "item_id is 'abc', not an integer"),
        ("1\t2\t7\t881250949", "rating 7 is outside 1-5"),
        ("0\t2\t3\t881250949", "ids must be 1 or more"),
    ],
)
def test_corrupt_ratings_name_file_and_line(synthetic_dir, copy_of, line, message):
    folder = copy_of(synthetic_dir)
    _corrupt(folder, "ua.base", 5, line)
    with pytest.raises(DatasetFormatError, match=message) as error:
        load_movielens(folder, download=False)
    assert error.value.line_number == 5
    assert "ua.base, line 5" in str(error.value) and "download it again" in str(error.value)


def test_an_error_composes_its_advice_once(synthetic_dir, copy_of, tmp_path, monkeypatch):
    assert str(DatasetError("u.data is missing.", "run `make data`.")) == "u.data is missing.\nFix: run `make data`."
    assert str(DatasetError("unknown split 'u9'.")) == "unknown split 'u9'."
    folder = copy_of(synthetic_dir)
    _corrupt(folder, "ua.base", 2, "1\t2\t9\t881250949")
    with pytest.raises(DatasetFormatError) as error:
        load_movielens(folder, download=False)
    assert error.value.problem == f"{folder / 'ua.base'}, line 2: rating 9 is outside 1-5."
    assert error.value.fix == ML100K.corrupt_fix()
    assert str(error.value) == f"{error.value.problem}\nFix: {error.value.fix}"
    monkeypatch.delenv("ML100K_DIR", raising=False)
    with pytest.raises(DatasetNotFoundError) as error:
        find_dataset(cache_dir=tmp_path / "empty", download=False)
    assert str(error.value).count("Fix:") == 1 and error.value.fix == ML100K.how_to_get()


def test_truncated_item_file(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    _corrupt(folder, "u.item", 3, "3|Cut Off (1995)|01-Jan-1995")
    with pytest.raises(DatasetFormatError, match=r"u\.item, line 3: expected 24"):
        read_items(folder)


def test_ids_out_of_range(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    _corrupt(folder, "ua.test", 1, "1\t99999\t4\t881250949")
    with pytest.raises(DatasetFormatError, match="item_id 99999 .* not listed in u.item"):
        load_movielens(folder, download=False)


def test_empty_split(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    (folder / "ua.test").write_text("")
    with pytest.raises(DatasetFormatError, match="holds no ratings"):
        load_movielens(folder, download=False)


def test_missing_file_says_how_to_fix(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    (folder / "u.item").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"lacks u\.item"):
        load_movielens(folder, download=False)


# --- the real data, when at hand ------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_data_facts(real):
    summary = dataset_summary(real)
    for name, value in ML100K_FACTS.items():
        assert summary[name] == value, name
    assert (real.test.groupby("user_id").size() == 10).all()
    assert summary["test rows of movies unseen in training"] == 2


@pytest.mark.real_data
def test_real_titles_of_known_rows(real):
    """End to end: the first row of u.data is user 196 rating movie 242, which is Kolya (1996)."""
    first = read_ratings(real.data_dir / "u.data").iloc[0]
    assert (first.user_id, first.item_id) == (196, 242)
    assert real.titles(real.mapping.item_index([242, 1, 50])) == ["Kolya (1996)", "Toy Story (1995)", "Star Wars (1977)"]


# --- what importing the data layer loads ------------------------------------------------------------------


def test_ml100k_at_hand_loads_nothing_of_the_other_datasets(synthetic_dir):
    """The registry, the other formats and the downloads are imported only when asked for."""
    code = (
        "import sys; from utils.data import load_movielens, get_dataset; "
        f"dataset = load_movielens({str(synthetic_dir)!r}, download=False); get_dataset('ml-100k'); "
        "print(dataset.split, sorted(m for m in sys.modules if m.startswith('utils')))"
    )
    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)  # noqa: S603 (our own interpreter, fixed code)
    assert done.stdout.split(" ", 1) == ["ua", "['utils', 'utils.data']\n"]
