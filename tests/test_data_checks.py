"""Nothing lost, nothing reported falsely: the synthetic writers never write over a user's files,
`python -m utils.data` reads every file before it says a dataset is there, a byte-order mark is no
content, and a control character in a title is refused with its line. Every file here is synthetic
or hand-written; the real MovieLens 100K is only copied into a temporary folder when ML100K_DIR names it."""

import shutil
from pathlib import Path

import pytest

from utils.data import ML100K_FACTS, SYNTHETIC_MARKER, DatasetFormatError, dataset_summary, load_movielens, read_items
from utils.datasets import DATASETS, cli, synthetic
from utils.datasets.synthetic import OutputFolderError, write_synthetic, write_synthetic_ml100k

BOM = b"\xef\xbb\xbf"
SMALL = {"num_users": 30, "num_items": 50, "seed": 5}


@pytest.fixture(autouse=True)
def no_dataset_variables(monkeypatch):
    for spec in DATASETS.values():
        monkeypatch.delenv(spec.env_var, raising=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def without_marker(folder: Path) -> Path:
    """A synthetic folder that the writers must take for a real copy: the same files, no marker."""
    (folder / SYNTHETIC_MARKER).unlink()
    return folder


def edit_line(path: Path, line_number: int, new_line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = new_line
    path.write_bytes(b"\n".join(lines))


# --- the synthetic writers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ml-100k", "ml-1m", "ml-20m"])
def test_the_writers_never_write_over_a_real_dataset(name, tmp_path):
    real = without_marker(write_synthetic(name, tmp_path / "real", **SMALL))
    before = snapshot(real)
    for format in ("ml-100k", "ml-1m", "ml-latest-small"):
        with pytest.raises(OutputFolderError, match="looks like a real dataset.*not even with --force"):
            write_synthetic(format, real, force=True, seed=9)
    assert snapshot(real) == before
    # One file of a dataset is enough (a split ML-100K ships, or a ratings file): a partial copy is someone's data too.
    one_file = "u1.base" if name == "ml-100k" else DATASETS[name].ratings_file
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(real / one_file, partial)
    with pytest.raises(OutputFolderError, match=f"holds MovieLens files \\({one_file}\\)"):
        write_synthetic_ml100k(partial, force=True)
    assert [path.name for path in partial.iterdir()] == [one_file]


def test_a_folder_of_other_files_needs_force_and_keeps_them(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n")
    with pytest.raises(OutputFolderError, match=r"is not empty \(it holds notes\.txt\).*add --force \(force=True\)"):
        write_synthetic_ml100k(folder, **SMALL)
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]
    write_synthetic_ml100k(folder, **SMALL, force=True)
    fresh = write_synthetic_ml100k(tmp_path / "fresh", **SMALL)
    assert snapshot(folder) == {**snapshot(fresh), "notes.txt": b"my notes\n"}


def test_rewriting_a_synthetic_folder_needs_force_and_gives_the_same_bytes(tmp_path):
    folder = write_synthetic("ml-1m", tmp_path / "synthetic", **SMALL)
    before = snapshot(folder)
    with pytest.raises(OutputFolderError, match="is not empty"):
        write_synthetic("ml-1m", folder, **SMALL)
    assert write_synthetic("ml-1m", folder, **SMALL, force=True) == folder and snapshot(folder) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert snapshot(write_synthetic("ml-1m", empty, **SMALL)) == before  # an empty folder needs no force


def test_synthetic_command_line_says_one_line_and_writes_nothing(tmp_path, capsys):
    real = without_marker(write_synthetic_ml100k(tmp_path / "real", **SMALL))
    before = snapshot(real)
    for extra in ([], ["--force"]):
        with pytest.raises(SystemExit) as exit:
            synthetic.main(["--out", str(real), *extra])
        message = str(exit.value.code)
        assert message.startswith(f"error: {real} holds MovieLens files (u.data, ") and "\n" not in message
    assert snapshot(real) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    with pytest.raises(SystemExit, match=r"^error: .* is not empty .*--force") as exit:
        synthetic.main([str(mine)])
    assert "\n" not in str(exit.value.code) and not (mine / "u.data").exists()
    synthetic.main([str(mine), "--force"])
    assert (mine / "notes.txt").read_text() == "keep\n" and (mine / "u.data").is_file()
    assert "wrote synthetic ML-100K-format data" in capsys.readouterr().out


# --- `python -m utils.data` reads what it reports ------------------------------------------------------------


def data_command(folder: Path, dataset: str = "ml-100k") -> str:
    """What `python -m utils.data --data-dir FOLDER` ends with: its error, or nothing when it succeeds."""
    try:
        cli.main(["--dataset", dataset, "--data-dir", str(folder)])
    except SystemExit as exit:
        assert isinstance(exit.code, str), exit.code  # a message, so the exit status is 1
        return exit.code
    return ""


@pytest.mark.parametrize(
    ("file", "damage", "where"),
    [
        ("u.data", lambda raw: raw[: len(raw) // 2], "u.data, line "),  # cut in the middle of a line
        ("u.data", lambda raw: b"", "u.data: the file holds no ratings"),
        ("ua.test", lambda raw: raw.replace(b"\t", b"\tx", 1), "ua.test, line 1: item_id is 'x"),
        ("ua.base", lambda raw: raw + b"12\t7\n", "ua.base, line "),
        ("u.item", lambda raw: b"", "u.item: the file lists no movie"),
        ("u.user", lambda raw: raw.replace(b"|", b"|a", 1), "u.user, line 1: age is 'a"),
        ("u.genre", lambda raw: raw.replace(b"|0", b"|zero"), "u.genre, line 1: genre index is 'zero'"),
        ("u.occupation", lambda raw: b"\n", "u.occupation: the file lists no occupation"),
    ],
)
def test_data_command_names_the_bad_file_and_line(synthetic_dir, copy_of, capsys, file, damage, where):
    folder = copy_of(synthetic_dir)
    assert data_command(folder) == "" and "is at" in capsys.readouterr().out
    (folder / file).write_bytes(damage((folder / file).read_bytes()))
    message = data_command(folder)
    assert message.startswith(f"error: {folder / where}"), message
    assert message.count("\nFix: ") == 1 and "download it again" in message
    assert capsys.readouterr().out == ""  # no "is at" line for a bad copy


def test_data_command_reports_what_it_read(synthetic_dir, capsys):
    assert data_command(synthetic_dir) == ""
    dataset = load_movielens(synthetic_dir, download=False)
    ratings = len((synthetic_dir / "u.data").read_text().splitlines())
    assert capsys.readouterr().out == (
        f"MovieLens 100K is at {synthetic_dir}: {ratings:,} ratings, {dataset.num_users:,} users, "
        f"{len(dataset.items):,} movies (synthetic, not real ratings), every file read and checked\n"
    )


def test_a_copy_of_ml100k_cut_at_a_line_end_is_refused_by_its_counts(synthetic_dir, copy_of, monkeypatch):
    """A copy cut between two lines parses; the published counts of ML-100K catch it. The synthetic
    folder, less its marker, stands for the real data, with its own counts as the published ones."""
    folder = without_marker(copy_of(synthetic_dir))
    facts = dataset_summary(load_movielens(folder, download=False))
    monkeypatch.setattr(cli, "ML100K_FACTS", {fact: facts[fact] for fact in ML100K_FACTS})
    assert data_command(folder) == ""
    lines = (folder / "ua.base").read_bytes().splitlines(keepends=True)
    (folder / "ua.base").write_bytes(b"".join(lines[:-3]))
    message = data_command(folder)
    assert message.startswith(
        f"error: {folder / 'ua.base'}: {len(lines) - 3:,} ua.base rows where MovieLens 100K has {len(lines):,}"
    ), message
    assert data_command(synthetic_dir) == ""  # a synthetic copy has counts of its own


@pytest.mark.real_data
def test_the_real_data_passes_and_a_cut_copy_of_it_does_not(real_dir, tmp_path):
    assert data_command(real_dir) == ""
    copy = shutil.copytree(real_dir, tmp_path / "ml-100k")
    (copy / "u.data").chmod(0o644)
    lines = (copy / "u.data").read_bytes().splitlines(keepends=True)
    (copy / "u.data").write_bytes(b"".join(lines[:99_000]))
    assert data_command(copy).startswith(f"error: {copy / 'u.data'}: 99,000 ratings where MovieLens 100K has 100,000")


# --- byte-order marks and control characters --------------------------------------------------------------


def with_byte_order_marks(folder: Path) -> Path:
    for path in folder.iterdir():
        if path.name != SYNTHETIC_MARKER:
            path.write_bytes(BOM + path.read_bytes())
    return folder


def same_dataset(a, b) -> bool:
    return all(getattr(a, part).equals(getattr(b, part)) for part in ("train", "test", "items", "users")) and a.genres == b.genres


def test_a_byte_order_mark_is_no_content_in_ml100k(synthetic_dir, copy_of, capsys):
    folder = with_byte_order_marks(copy_of(synthetic_dir))
    assert same_dataset(load_movielens(folder, download=False), load_movielens(synthetic_dir, download=False))
    assert data_command(folder) == ""
    # Lines keep their numbers: a bad first line is line 1, with no mark in its text.
    edit_line(folder / "u.user", 1, BOM + b"1|x|M|writer|12345")
    assert data_command(folder).startswith(f"error: {folder / 'u.user'}, line 1: age is 'x', not an integer.")


@pytest.mark.parametrize("name", ["ml-1m", "ml-10m", "ml-20m", "ml-latest-small"])
def test_a_byte_order_mark_is_no_content_in_the_other_formats(name, tmp_path):
    clean = write_synthetic(name, tmp_path / "clean", **SMALL)
    folder = with_byte_order_marks(write_synthetic(name, tmp_path / "marked", **SMALL))
    assert same_dataset(load_movielens(folder, dataset=name, download=False), load_movielens(clean, dataset=name, download=False))
    # The slow pass that names a bad line reads past the mark too: it finds line 3, not a wrong header.
    ratings = folder / DATASETS[name].ratings_file
    separator = b"," if ratings.suffix == ".csv" else b"::"
    edit_line(ratings, 3, separator.join([b"1", b"2", b"9", b"881250949"]))
    with pytest.raises(DatasetFormatError, match=r"line 3: rating 9") as error:
        load_movielens(folder, dataset=name, download=False)
    assert error.value.line_number == 3


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (b"Nul\x00 Movie (1995)", "U+0000"),
        (b"Bell\x07 Movie (1995)", "U+0007"),
        (b"Next Line\x85 Movie (1995)", "U+0085"),  # a byte that latin-1 decodes to no text
        (b"Form\x0cfeed (1995)", "U+000C"),  # Python's splitlines would split the line here
        (b"Delete\x7f (1995)", "U+007F"),
    ],
)
def test_a_control_character_in_a_title_is_refused_with_its_line(synthetic_dir, copy_of, title, shown):
    folder = copy_of(synthetic_dir)
    path = folder / "u.item"
    lines = path.read_bytes().split(b"\n")
    fields = lines[6].split(b"|")
    fields[1] = title
    lines[6] = b"|".join(fields)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DatasetFormatError) as error:
        read_items(folder)
    assert error.value.line_number == 7
    assert f"u.item, line 7: the title {title.decode('latin-1')!r} holds the control character {shown}" in str(error.value)
    message = data_command(folder)
    assert message.startswith(f"error: {path}, line 7: the title ") and "\nFix: " in message


def test_titles_keep_latin1_letters_and_windows_line_ends(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    path = folder / "u.item"
    fields = path.read_bytes().split(b"\n")[1].split(b"|")
    edit_line(path, 2, b"|".join([fields[0], fields[1] + b" \xe0 la Caf\xe9", *fields[2:]]))
    for name in ("u.item", "u.data", "ua.base"):
        (folder / name).write_bytes((folder / name).read_bytes().replace(b"\n", b"\r\n"))
    dataset, original = load_movielens(folder, download=False), load_movielens(synthetic_dir, download=False)
    assert dataset.items["title"].iloc[1] == original.items["title"].iloc[1] + " à la Café"
    assert dataset.train.equals(original.train) and dataset.items.drop(columns="title").equals(original.items.drop(columns="title"))


def test_a_byte_that_is_no_ascii_in_a_ratings_file_names_its_line(synthetic_dir, copy_of):
    folder = copy_of(synthetic_dir)
    edit_line(folder / "u.data", 42, b"1\t2\xff\t3\t881250949")
    message = data_command(folder)
    assert message.startswith(f"error: {folder / 'u.data'}, line 42: byte 0xff is not ascii text."), message

