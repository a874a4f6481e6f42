"""Every dataset but ML-100K, offline: synthetic files in each real format -> load_movielens(dataset=...).

The registry, each format's readers (titles with commas, colons, quotes, accents; half stars),
the seeded per-user split, where the files are looked for (argument, variable, cache, download
with its MD5), the errors, the command-line helpers and the generator that writes the formats.
"""

import csv
import dataclasses
import hashlib
import io
import zipfile
from argparse import ArgumentParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils import data
from utils.data import (
    RANDOM_SPLIT,
    UNSEEN,
    DatasetChoiceError,
    DatasetError,
    DatasetFormatError,
    DatasetNotFoundError,
    dataset_summary,
    find_dataset,
    load_movielens,
)
from utils.datasets import DATASETS, cli, download, movielens_dat, synthetic
from utils.datasets.base import per_user_split
from utils.datasets.cli import add_dataset_arguments, dataset_from_args
from utils.datasets.download import UnverifiedDownloadWarning
from utils.datasets.synthetic import FORMAT_GENRES, NO_GENRES, write_synthetic

OTHERS = ("ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m", "ml-latest-small")
DAT = ("ml-1m", "ml-10m")
ENV_VARS = {
    "ml-100k": "ML100K_DIR", "ml-1m": "ML1M_DIR", "ml-10m": "ML10M_DIR", "ml-20m": "ML20M_DIR",
    "ml-25m": "ML25M_DIR", "ml-32m": "ML32M_DIR", "ml-latest-small": "ML_LATEST_SMALL_DIR",
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_dataset_variables(monkeypatch):
    for variable in ENV_VARS.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One small synthetic copy per format, in the folder the zip would unpack to."""
    root = tmp_path_factory.mktemp("formats")
    return {name: write_synthetic(name, root / DATASETS[name].folder, num_users=120, num_items=160, seed=1) for name in OTHERS}


@pytest.fixture(scope="module")
def loaded(written):
    return {name: load_movielens(folder, dataset=name, download=False) for name, folder in written.items()}


def ratings_file(name: str, folder: Path) -> Path:
    return folder / DATASETS[name].ratings_file


def file_ratings(name: str, folder: Path) -> pd.DataFrame:
    """The ratings as the file spells them, parsed independently of the readers."""
    text = ratings_file(name, folder).read_text()
    if name in DAT:
        rows = [line.split("::") for line in text.splitlines()]
    else:
        rows = [line.split(",") for line in text.splitlines()[1:]]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return frame.astype({"user_id": int, "item_id": int, "rating": float, "timestamp": int})


def file_movies(name: str, folder: Path) -> list[tuple[int, str, str]]:
    if name in DAT:
        encoding = "latin-1" if name == "ml-1m" else "utf-8"
        lines = (folder / "movies.dat").read_bytes().decode(encoding).splitlines()
        return [(int(a), b, c) for a, b, c in (line.split("::") for line in lines)]
    rows = list(csv.reader(io.StringIO((folder / "movies.csv").read_text(encoding="utf-8"))))[1:]
    return [(int(a), b, c) for a, b, c in rows]


# --- the registry ------------------------------------------------------------------------------------


def test_registry_has_every_dataset_with_its_variable_and_zip():
    assert list(DATASETS) == ["ml-100k", *OTHERS]
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.env_var == ENV_VARS[name]
        assert spec.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert spec.default_split == ("ua" if name == "ml-100k" else RANDOM_SPLIT)
    assert DATASETS["ml-10m"].folder == "ml-10M100K"
    assert DATASETS["ml-1m"].md5 == "c4d9eecfca2ab87c1945afe126590906"
    assert DATASETS["ml-25m"].md5 == "6b51fb2759a8657d3bfcbfc42b592ada"
    assert DATASETS["ml-latest-small"].md5 is None  # GroupLens updates it: no fixed checksum
    assert all(DATASETS[name].md5 for name in ("ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m"))


def test_unknown_dataset_or_split_lists_the_choices(written):
    with pytest.raises(DatasetChoiceError, match="unknown dataset 'ml-2m'; known: ml-100k, ml-1m"):
        load_movielens(dataset="ml-2m")
    with pytest.raises(DatasetChoiceError, match="unknown split 'ua'.*MovieLens 1M has the seeded per-user split random"):
        load_movielens(written["ml-1m"], "ua", dataset="ml-1m", download=False)
    with pytest.raises(ValueError, match="ships ua, ub, u1"):
        load_movielens(split="random", download=False)


# --- every format, read back -------------------------------------------------------------------------


@pytest.mark.parametrize("name", OTHERS)
def test_every_format_round_trips(name, written, loaded):
    folder, dataset = written[name], loaded[name]
    expected = file_ratings(name, folder)
    assert dataset.name == name and dataset.split == RANDOM_SPLIT and dataset.is_synthetic
    assert len(dataset.train) + len(dataset.test) == len(expected)
    both = pd.concat([dataset.train, dataset.test])[["user_id", "item_id", "rating", "timestamp"]]
    both = both.astype({"rating": float}).sort_values(["user_id", "item_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(both, expected.sort_values(["user_id", "item_id"]).reset_index(drop=True), check_dtype=False)
    assert dataset.train["user_id"].dtype == np.int32 and dataset.train["timestamp"].dtype == np.int64
    if name == "ml-1m":
        assert dataset.train["rating"].dtype == np.int8
    else:
        assert dataset.train["rating"].dtype == np.float32
        assert (dataset.train["rating"] % 1 == 0.5).any() and dataset.train["rating"].between(0.5, 5.0).all()
    assert dataset_summary(dataset)["users"] == 120 == dataset.users["user_id"].nunique()
    assert list(dataset.users.columns)[0] == "user_id"
    assert dataset.num_users == 120 and dataset.test["user_index"].ge(0).all()


@pytest.mark.parametrize("name", OTHERS)
def test_genres_are_names_and_titles_survive(name, written, loaded):
    dataset, movies = loaded[name], file_movies(name, written[name])
    assert dataset.genres == sorted(FORMAT_GENRES[name]) and NO_GENRES not in dataset.items.columns
    assert list(dataset.items.columns) == ["item_id", "title", *dataset.genres]
    assert dataset.items[dataset.genres].dtypes.eq(bool).all()
    assert dataset.items["item_id"].tolist() == [movie for movie, _, _ in movies]
    assert dataset.items["title"].tolist() == [title for _, title, _ in movies]
    for flags, (_, _, genres) in zip(dataset.items[dataset.genres].to_numpy(), movies):
        flagged = [genre for genre, flag in zip(dataset.genres, flags) if flag]
        assert flagged == ([] if genres == NO_GENRES else sorted(genres.split("|")))
    titles = dataset.items["title"]
    assert titles.str.contains(", The (", regex=False).any() and titles.str.contains(": ", regex=False).any()
    assert titles.str.contains('"', regex=False).any() and titles.str.contains("à la", regex=False).any()
    if name not in DAT:
        assert titles.str.contains("Ōkami", regex=False).any()  # beyond latin-1: the CSVs are UTF-8
    if name != "ml-1m":
        assert (dataset.items[dataset.genres].sum(axis=1) == 0).any()  # "(no genres listed)"


def test_ml1m_movies_are_latin1_and_users_have_demographics(written, loaded):
    raw = (written["ml-1m"] / "movies.dat").read_bytes()
    assert "é".encode("latin-1") in raw and "é".encode() not in raw
    users = loaded["ml-1m"].users
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert set(users["age"]) <= set(movielens_dat.AGE_CODES) and set(users["gender"].astype(str)) <= {"M", "F"}
    assert set(users["occupation"].astype(str)) <= set(movielens_dat.OCCUPATIONS)


def test_ml10m_movies_read_in_utf8_or_latin1(written, copy_of):
    folder = copy_of(written["ml-10m"])
    text = (folder / "movies.dat").read_text(encoding="utf-8")
    expected = load_movielens(folder, dataset="ml-10m", download=False).items["title"].tolist()
    (folder / "movies.dat").write_bytes(text.encode("latin-1"))
    assert load_movielens(folder, dataset="ml-10m", download=False).items["title"].tolist() == expected


def test_ml1m_ratings_are_whole_stars_and_dat_parsing_ignores_colons_in_titles(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::10::5::978300760\n2::3::1::978302109\n")
    ratings = movielens_dat.read_dat_ratings(tmp_path / "ratings.dat", half_stars=False)
    assert ratings.values.tolist() == [[1, 10, 5, 978300760], [2, 3, 1, 978302109]]
    (tmp_path / "movies.dat").write_bytes("1::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n2::Amélie (2001)::Comedy\n".encode("latin-1"))
    items, genres = movielens_dat.read_dat_movies(tmp_path)
    assert items["title"].tolist() == ["Star Wars: Episode IV - A New Hope (1977)", "Amélie (2001)"]
    assert genres == ["Action", "Comedy", "Sci-Fi"] and items[genres].values.tolist() == [[True, False, True], [False, True, False]]


# --- the per-user split --------------------------------------------------------------------------------


def test_per_user_split_holds_out_a_fifth_of_each_user():
    counts = {1: 4, 2: 5, 3: 9, 4: 10, 5: 23, 6: 100, 7: 1}
    ratings = pd.DataFrame(
        {"user_id": np.repeat(list(counts), list(counts.values())),
         "item_id": np.concatenate([np.arange(1, n + 1) for n in counts.values()])}
    ).assign(rating=3.0, timestamp=0)  # fmt: skip
    train, test = per_user_split(ratings)
    held = test.groupby("user_id").size().reindex(list(counts), fill_value=0).to_dict()
    assert held == {1: 0, 2: 1, 3: 1, 4: 2, 5: 4, 6: 20, 7: 0}  # max(1, floor(n / 5)) from 5 ratings on
    assert set(train["user_id"]) == set(counts)  # every user keeps training ratings
    key = ["user_id", "item_id"]
    assert pd.concat([train, test]).sort_values(key).reset_index(drop=True).equals(ratings.sort_values(key).reset_index(drop=True))
    assert train.merge(test, on=key).empty


def test_per_user_split_is_seeded_and_ignores_file_order(loaded, written):
    ratings = DATASETS["ml-25m"].read_ratings(ratings_file("ml-25m", written["ml-25m"]))
    train, test = per_user_split(ratings)
    shuffled_train, shuffled_test = per_user_split(ratings.sample(frac=1, random_state=3))
    assert test.equals(shuffled_test) and train.equals(shuffled_train)
    other_train, other_test = per_user_split(ratings, seed=1)
    assert len(other_test) == len(test) and not other_test.equals(test)
    key = ["user_id", "item_id"]
    assert test.equals(loaded["ml-25m"].test[test.columns].reset_index(drop=True))
    assert train.merge(test, on=key).empty and len(train) + len(test) == len(ratings)


def test_random_split_keeps_unseen_test_movies_as_misses(loaded):
    # The generator rates a few movies once; about a fifth of them land in test.
    assert sum(len(dataset.unseen_test_rows) for dataset in loaded.values()) > 0
    for dataset in loaded.values():
        _check_unseen(dataset)


def _check_unseen(dataset):
    unseen = dataset.unseen_test_rows
    assert not unseen["item_id"].isin(dataset.train["item_id"]).any()
    assert (dataset.test.loc[~dataset.test["item_id"].isin(dataset.train["item_id"]), "item_index"] == UNSEEN).all()
    assert dataset.test["item_index"].dtype == np.int64 and not dataset.test.isna().any().any()
    assert dataset_summary(dataset)["test rows of movies unseen in training"] == len(unseen)
    assert dataset_summary(dataset)["random train rows"] == len(dataset.train)


def test_validation_split_carves_the_training_part(loaded):
    dataset = loaded["ml-1m"]
    fit, validation = data.validation_split(dataset.train, per_user=5, seed=0)
    assert len(fit) + len(validation) == len(dataset.train)
    assert (validation.groupby("user_id").size() == 5).all()
    assert validation.merge(dataset.test, on=["user_id", "item_id"]).empty


# --- where the files come from -------------------------------------------------------------------------


def _zip_of(folder: Path, inside: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in folder.iterdir():
            archive.write(file, f"{inside}/{file.name}")
    return buffer.getvalue()


def test_resolution_order_for_ml1m(written, tmp_path, monkeypatch):
    folder = written["ml-1m"]
    cached = write_synthetic("ml-1m", tmp_path / "cache" / "ml-1m", num_users=20, num_items=40)
    env_copy = write_synthetic("ml-1m", tmp_path / "env", num_users=20, num_items=40, seed=2)
    never = [("never", pytest.fail)]
    monkeypatch.setenv("ML1M_DIR", str(env_copy))
    monkeypatch.setenv("ML100K_DIR", str(tmp_path / "nowhere"))  # another dataset's variable is ignored
    assert find_dataset(folder, dataset="ml-1m", cache_dir=tmp_path / "cache", downloaders=never) == folder
    assert find_dataset(dataset="ml-1m", cache_dir=tmp_path / "cache", downloaders=never) == env_copy
    monkeypatch.delenv("ML1M_DIR")
    assert find_dataset(dataset="ml-1m", cache_dir=tmp_path / "cache", downloaders=never) == cached
    calls = []

    def fake_zip(cache_dir):
        calls.append(cache_dir)
        return folder

    assert find_dataset(dataset="ml-1m", cache_dir=tmp_path / "empty", downloaders=[("zip", fake_zip)]) == folder
    assert calls == [tmp_path / "empty"]


def test_the_default_download_fetches_the_zip_and_checks_its_md5(written, tmp_path, monkeypatch):
    payload = _zip_of(written["ml-25m"], "ml-25m")
    fetched = []
    monkeypatch.setattr(download, "fetch_url_to_file", lambda url: fetched.append(url) or payload)
    with pytest.raises(DatasetNotFoundError, match=r"GroupLens zip: DatasetError: .* MD5 .*not the published 6b51fb"):
        find_dataset(dataset="ml-25m", cache_dir=tmp_path)  # a synthetic zip is not the published one
    assert data.missing_files(tmp_path / "ml-25m", DATASETS["ml-25m"].required_files)  # nothing half-unpacked
    good = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    monkeypatch.setitem(DATASETS, "ml-25m", dataclasses.replace(DATASETS["ml-25m"], md5=good))
    folder = find_dataset(dataset="ml-25m", cache_dir=tmp_path)
    assert folder == tmp_path / "ml-25m"
    assert fetched == ["https://files.grouplens.org/datasets/movielens/ml-25m.zip"] * 2
    assert (folder / "ratings.csv").read_bytes() == (written["ml-25m"] / "ratings.csv").read_bytes()
    assert find_dataset(dataset="ml-25m", cache_dir=tmp_path, downloaders=[("never", pytest.fail)]) == folder


def test_download_of_ml10m_unpacks_to_its_own_folder_name(written, tmp_path):
    payload = _zip_of(written["ml-10m"], "ml-10M100K")
    good = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    folder = download.download_from_grouplens(tmp_path, md5=good, fetch=lambda url: payload, dataset="ml-10m")
    assert folder == tmp_path / "ml-10M100K"
    assert load_movielens(folder, dataset="ml-10m", download=False).num_users == 120
    file = tmp_path / "zip"
    file.write_bytes(payload)  # a fetch may also hand back a file
    assert download.download_from_grouplens(tmp_path / "b", md5=good, fetch=lambda url: file, dataset="ml-10m").is_dir()
    assert file.exists()  # the caller's file is the caller's to delete


def test_a_download_that_is_no_zip(tmp_path):
    with pytest.raises(DatasetError, match="not a zip file"), pytest.warns(UnverifiedDownloadWarning):
        download.download_from_grouplens(tmp_path, md5=None, fetch=lambda url: b"<html>busy</html>", dataset="ml-latest-small")


def test_download_without_a_published_md5_warns(written, tmp_path):
    payload = _zip_of(written["ml-latest-small"], "ml-latest-small")
    with pytest.warns(UnverifiedDownloadWarning, match="could not be verified"):
        folder = download.download_from_grouplens(tmp_path, fetch=lambda url: payload, dataset="ml-latest-small")
    assert not data.missing_files(folder, DATASETS["ml-latest-small"].required_files)


def test_incomplete_variable_names_the_variable_and_the_folder_inside(written, tmp_path, monkeypatch):
    monkeypatch.setenv("ML32M_DIR", str(written["ml-32m"].parent))
    with pytest.raises(DatasetNotFoundError, match=r"(?s)ML32M_DIR \(.*\) lacks ratings\.csv, movies\.csv.*ml-32m holds them"):
        find_dataset(dataset="ml-32m", downloaders=[("never", pytest.fail)])


def test_nothing_found_lists_every_attempt_and_the_fix(tmp_path):
    def offline(cache_dir):
        raise ConnectionError("network unreachable")

    with pytest.raises(DatasetNotFoundError) as error:
        find_dataset(dataset="ml-1m", cache_dir=tmp_path, downloaders=[("GroupLens zip", offline)])
    message = str(error.value)
    for expected in ("MovieLens 1M was not found", f"cache {tmp_path / 'ml-1m'}", "GroupLens zip: ConnectionError",
                     "ML1M_DIR", "python -m utils.data --dataset ml-1m", "ratings.dat"):  # fmt: skip
        assert expected in message
    assert [name for name, _ in DATASETS["ml-1m"].sources()] == ["GroupLens zip"]
    with pytest.raises(DatasetNotFoundError, match="not attempted"):
        find_dataset(dataset="ml-20m", cache_dir=tmp_path, download=False)


# --- bad files -----------------------------------------------------------------------------------------


def _replace_line(path: Path, line_number: int, new_line: str, encoding: str = "utf-8") -> None:
    lines = path.read_text(encoding=encoding).splitlines()
    lines[line_number - 1] = new_line
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


def _line(name: str, *fields) -> str:
    return ("::" if name in DAT else ",").join(fields)


BAD_RATINGS = {
    "wrong field count": (("1", "2", "3"), "expected 4 .*-separated fields \\(user, item, rating, time\\), got 3"),
    "non-numeric id": (("1", "abc", "3", "881250949"), "item_id is 'abc', not an integer"),
    "rating out of range": (("1", "2", "7", "881250949"), None),
    "id below 1": (("0", "2", "3", "881250949"), "ids must be 1 to"),
}


@pytest.mark.parametrize("problem", list(BAD_RATINGS))
@pytest.mark.parametrize("name", OTHERS)
def test_a_bad_ratings_line_names_file_line_and_fix(name, problem, written, copy_of):
    folder = copy_of(written[name])
    fields, message = BAD_RATINGS[problem]
    message = message or ("rating 7 is outside 1-5" if name == "ml-1m" else "rating 7 is not one of 0.5, 1.0")
    line = 5 if name in DAT else 6  # the CSVs have a header
    _replace_line(ratings_file(name, folder), line, _line(name, *fields))
    with pytest.raises(DatasetFormatError, match=message) as error:
        load_movielens(folder, dataset=name, download=False)
    assert error.value.line_number == line
    assert f"{DATASETS[name].ratings_file}, line {line}:" in str(error.value)
    assert f"python -m utils.data --dataset {name}" in str(error.value) and ENV_VARS[name] in str(error.value)


@pytest.mark.parametrize("name", ["ml-1m", "ml-10m", "ml-20m"])
def test_off_scale_stars(name, tmp_path):
    spec = DATASETS[name]
    header = "" if name in DAT else "userId,movieId,rating,timestamp\n"
    bad = "3.5" if name == "ml-1m" else "4.25"
    (tmp_path / spec.ratings_file).write_text(header + _line(name, "1", "2", "4", "9") + "\n" + _line(name, "1", "3", bad, "9") + "\n")
    with pytest.raises(DatasetFormatError, match="not a whole star" if name == "ml-1m" else "half stars") as error:
        spec.read_ratings(tmp_path / spec.ratings_file)
    assert error.value.line_number == (2 if name in DAT else 3)


@pytest.mark.parametrize("name", OTHERS)
def test_empty_and_missing_files(name, written, copy_of, tmp_path):
    spec = DATASETS[name]
    folder = copy_of(written[name])
    (folder / spec.ratings_file).write_text("" if name in DAT else "userId,movieId,rating,timestamp\n")
    with pytest.raises(DatasetFormatError, match="holds no ratings"):
        load_movielens(folder, dataset=name, download=False)
    (folder / spec.ratings_file).write_text("")
    with pytest.raises(DatasetFormatError, match="holds no ratings"):
        load_movielens(folder, dataset=name, download=False)
    (folder / spec.items_file).write_text("")
    with pytest.raises(DatasetFormatError, match="lists no movie"):
        spec.read_items(folder)
    (folder / spec.items_file).unlink()
    with pytest.raises(DatasetNotFoundError, match=rf"(?s)lacks {spec.items_file}.*the one holding {spec.ratings_file}"):
        load_movielens(folder, dataset=name, download=False)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        spec.read_ratings(tmp_path / "nothing-here")


@pytest.mark.parametrize("name", OTHERS)
def test_a_bad_movie_line(name, written, copy_of):
    spec = DATASETS[name]
    folder = copy_of(written[name])
    encoding = "latin-1" if name == "ml-1m" else "utf-8"
    line = 3 if name in DAT else 4
    _replace_line(folder / spec.items_file, line, _line(name, "3", "Cut Off (1995)", "Drama", "extra"), encoding)
    with pytest.raises(DatasetFormatError, match="expected 3 .*-separated fields") as error:
        load_movielens(folder, dataset=name, download=False)
    assert error.value.line_number == line and ENV_VARS[name] in str(error.value)
    _replace_line(folder / spec.items_file, line, _line(name, "x3", "Cut Off (1995)", "Drama"), encoding)
    with pytest.raises(DatasetFormatError, match="movie id is 'x3', not an integer"):
        spec.read_items(folder)


@pytest.mark.parametrize("name", ["ml-1m", "ml-25m"])
def test_rated_movie_missing_from_the_movie_file(name, written, copy_of):
    folder = copy_of(written[name])
    _replace_line(ratings_file(name, folder), 4, _line(name, "1", "99999", "4", "881250949"))
    with pytest.raises(DatasetFormatError, match=f"item_id 99999 .* not listed in {DATASETS[name].items_file}"):
        load_movielens(folder, dataset=name, download=False)


def test_csv_header_and_encoding_problems(written, copy_of):
    folder = copy_of(written["ml-20m"])
    _replace_line(folder / "ratings.csv", 1, "user,movie,rating,time")
    with pytest.raises(DatasetFormatError, match="expected the header 'userId,movieId,rating,timestamp'") as error:
        load_movielens(folder, dataset="ml-20m", download=False)
    assert error.value.line_number == 1
    (folder / "movies.csv").write_bytes((folder / "movies.csv").read_bytes() + b"999,Caf\xe9 (1999),Drama\n")
    with pytest.raises(DatasetFormatError, match="is not utf-8"):
        DATASETS["ml-20m"].read_items(folder)


def test_ml1m_users_file_is_checked(written, copy_of):
    folder = copy_of(written["ml-1m"])
    _replace_line(folder / "users.dat", 2, "2::X::25::4::12345")
    with pytest.raises(DatasetFormatError, match="users.dat, line 2: gender is 'X'"):
        load_movielens(folder, dataset="ml-1m", download=False)
    _replace_line(folder / "users.dat", 2, "2::F::25::21::12345")
    with pytest.raises(DatasetFormatError, match="occupation code 21 is not one of 0-20"):
        load_movielens(folder, dataset="ml-1m", download=False)


# --- command line ------------------------------------------------------------------------------------


def test_dataset_arguments_and_loading_from_them(written):
    parser = add_dataset_arguments(ArgumentParser())
    defaults = parser.parse_args([])
    assert (defaults.dataset, defaults.data_dir, defaults.split) == ("ml-100k", None, None)
    args = parser.parse_args(["--dataset", "ml-1m", "--data-dir", str(written["ml-1m"])])
    dataset = dataset_from_args(args, download=False)
    assert dataset.name == "ml-1m" and dataset.split == RANDOM_SPLIT
    with pytest.raises(SystemExit, match="^error: .*unknown split 'ua'"):
        dataset_from_args(parser.parse_args(["--dataset", "ml-1m", "--data-dir", str(written["ml-1m"]), "--split", "ua"]))
    with pytest.raises(SystemExit, match="^error: the folder you passed .* lacks ratings.csv"):
        dataset_from_args(parser.parse_args(["--dataset", "ml-25m", "--data-dir", str(written["ml-1m"])]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--dataset", "ml-5m"])


def test_data_command_line(written, capsys):
    cli.main(["--dataset", "ml-10m", "--data-dir", str(written["ml-10m"])])
    ratings = len((written["ml-10m"] / "ratings.dat").read_text().splitlines())
    assert capsys.readouterr().out.strip() == (
        f"MovieLens 10M is at {written['ml-10m']}: {ratings:,} ratings, 120 users, 160 movies (synthetic, not real "
        "ratings), every file read and checked"
    )
    cli.main(["--list"])
    listing = capsys.readouterr().out
    assert all(name in listing and ENV_VARS[name] in listing for name in DATASETS)
    assert "no published MD5" in listing


# --- the generator -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OTHERS)
def test_generator_is_deterministic(name, tmp_path):
    a = write_synthetic(name, tmp_path / "a", num_users=30, num_items=50, seed=5)
    b = write_synthetic(name, tmp_path / "b", num_users=30, num_items=50, seed=5)
    c = write_synthetic(name, tmp_path / "c", num_users=30, num_items=50, seed=6)
    files = sorted(file.name for file in a.iterdir())
    assert files == sorted([*DATASETS[name].required_files, "SYNTHETIC"])
    assert all((a / file).read_bytes() == (b / file).read_bytes() for file in files)
    assert (a / DATASETS[name].ratings_file).read_bytes() != (c / DATASETS[name].ratings_file).read_bytes()


#: MD5 of each format's files (the marker left out) for 30 users, 50 movies, seed 5, as the generator
#: wrote them before its draws were shared with ML-100K's: same seed, same bytes.
FORMAT_DIGESTS = {
    "ml-1m": "345ad4d4ff0d4ba9be34dc1b0d3a0d18", "ml-10m": "e51b16c74a053497ac82ede7720f6dbe",
    **dict.fromkeys(("ml-20m", "ml-25m", "ml-32m", "ml-latest-small"), "69e0c81cf11cf706e73d8f26144cab6a"),
}  # fmt: skip


@pytest.mark.parametrize("name", OTHERS)
def test_generator_files_are_unchanged(name, tmp_path):
    folder = write_synthetic(name, tmp_path / name, num_users=30, num_items=50, seed=5)
    digest = hashlib.md5(usedforsecurity=False)
    for file in sorted(folder.iterdir()):
        if file.name != synthetic.SYNTHETIC_MARKER:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    assert digest.hexdigest() == FORMAT_DIGESTS[name]


def test_shaped_pairs_are_unchanged():
    digest = hashlib.md5(usedforsecurity=False)
    for pairs in synthetic.shaped_pairs((300, 200, 9_000), seed=1)[:4]:
        digest.update(np.ascontiguousarray(pairs, dtype=np.int64).tobytes())
    assert digest.hexdigest() == "13aec91604373629d4f2ba49bce74b76"


@pytest.mark.parametrize("movie_by_movie", [False, True])
def test_one_genre_law_in_both_orders_of_draws(movie_by_movie):
    """1, 2 or 3 genres a movie (50, 35, 15 %), chosen uniformly; ML-100K's order never uses column 0 ("unknown")."""
    flags = synthetic.draw_item_genres(np.random.default_rng(0), 8_000, 19, movie_by_movie=movie_by_movie)
    assert flags.shape == (8_000, 19) and flags.dtype == bool
    per_movie = np.bincount(flags.sum(axis=1), minlength=4)
    assert per_movie[0] == 0 and per_movie[4:].sum() == 0
    assert np.allclose(per_movie[1:4] / 8_000, synthetic.GENRES_PER_MOVIE_PROBABILITIES, atol=0.02)
    columns = flags.sum(axis=0)
    used = columns[1:] if movie_by_movie else columns
    assert (columns[0] == 0) == movie_by_movie and used.min() > 0.85 * used.mean() and used.max() < 1.15 * used.mean()


@pytest.mark.parametrize("user_by_user", [False, True])
def test_draw_ratings_gives_distinct_pairs_of_every_user(user_by_user):
    item_genres, ratings = synthetic.draw_ratings(np.random.default_rng(2), 60, 120, 19, user_by_user=user_by_user)
    assert item_genres.shape == (120, 19) and list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert not ratings.duplicated(["user_id", "item_id"]).any() and ratings["item_id"].between(1, 120).all()
    per_user = ratings.groupby("user_id").size()
    assert list(per_user.index) == list(range(1, 61)) and per_user.min() >= 20
    assert ratings["rating"].between(1 if user_by_user else 0.5, 5).all()


def test_generator_command_line(tmp_path, capsys):
    synthetic.main(["--format", "ml-1m", "--out", str(tmp_path / "one"), "--users", "25", "--items", "45"])
    assert "ml-1m" in capsys.readouterr().out
    assert load_movielens(tmp_path / "one", dataset="ml-1m", download=False).num_users == 25
    synthetic.main([str(tmp_path / "hundred"), "--users", "50", "--items", "80", "--seed", "3"])
    legacy = synthetic.write_synthetic_ml100k(tmp_path / "legacy", num_users=50, num_items=80, seed=3)
    assert all((legacy / f.name).read_bytes() == f.read_bytes() for f in (tmp_path / "hundred").iterdir())
    with pytest.raises(SystemExit):
        synthetic.main(["--format", "ml-1m"])  # no folder


def test_generator_writes_long_tailed_data_of_a_given_size(tmp_path):
    folder = write_synthetic("ml-25m", tmp_path / "big", num_users=1_500, num_items=900, num_ratings=120_000)
    ratings = DATASETS["ml-25m"].read_ratings(folder / "ratings.csv")
    assert abs(len(ratings) - 120_000) < 1_000
    per_user = ratings.groupby("user_id").size()
    per_movie = ratings.groupby("item_id").size()
    assert per_user.min() >= 20 and per_user.max() > 5 * per_user.median()  # a long tail of heavy users
    by_size = np.sort(per_movie.to_numpy())[::-1]
    assert by_size[: len(by_size) // 10].sum() > 0.3 * len(ratings)  # the top 10 % of movies hold a third
    assert by_size[len(by_size) // 2 :].sum() < 0.2 * len(ratings) and (per_movie == 1).sum() >= 9  # and a long tail
    assert not ratings.duplicated(["user_id", "item_id"]).any() and per_user.max() <= 900 // 2
    assert synthetic.shape("ml-1m") == {"num_users": 6_040, "num_items": 3_706, "num_ratings": 1_000_209}


@pytest.mark.parametrize("name", ["ml-1m", "ml-32m"])
def test_taste_clusters_are_learnable_in_the_new_formats(name, tmp_path):
    """As for ML-100K: item-item co-occurrence beats popularity on the random split."""
    dataset = load_movielens(write_synthetic(name, tmp_path / name), dataset=name, download=False)
    interactions = np.zeros((dataset.num_users, dataset.num_items))
    users, items = dataset.train_pairs()
    interactions[users, items] = 1
    popularity = np.tile(interactions.sum(0), (dataset.num_users, 1))
    cooccurrence = interactions @ (interactions.T @ interactions)
    test = dataset.test[dataset.test.item_index >= 0]
    truth = set(zip(test.user_index, test.item_index))

    def hits_at_10(scores):
        top = np.argsort(-np.where(interactions > 0, -np.inf, scores), axis=1)[:, :10]
        return sum((u, i) in truth for u in range(dataset.num_users) for i in top[u])

    assert hits_at_10(cooccurrence) > 1.2 * hits_at_10(popularity)


def test_dataset_error_is_the_base_of_every_error():
    for error in (DatasetChoiceError, DatasetFormatError, DatasetNotFoundError):
        assert issubclass(error, DatasetError)
