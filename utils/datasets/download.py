"""Downloading a MovieLens dataset: kagglehub (ML-100K) and the GroupLens zips, checked against their MD5s.

:func:`utils.data.find_dataset` imports this module only when no copy is at hand; :func:`sources`
lists the downloads it tries, in order. A download unpacks into the cache folder
``data/<folder>`` only once it is complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from utils.data import DEFAULT_DATASET, ML100K, DatasetError, DatasetSpec, get_dataset, missing_files


class UnverifiedDownloadWarning(UserWarning):
    """A download whose checksum could not be checked (GroupLens publishes none that stays fixed)."""


def sources(spec: DatasetSpec) -> list[tuple[str, Callable[[Path], Path]]]:
    """The downloads of ``spec`` to try, in order: kagglehub where it has a copy there, then the GroupLens zip."""
    zip_source = ("GroupLens zip", partial(download_zip, spec))
    if spec.kaggle_handle is None:
        return [zip_source]
    return [("kagglehub", partial(download_from_kagglehub, spec=spec)), zip_source]


def download_from_grouplens(
    cache_dir: Path | str,
    url: str | None = None,
    md5: str | None = "published",
    fetch: Callable[[str], bytes | Path] | None = None,
    *,
    dataset: str = DEFAULT_DATASET,
) -> Path:
    """Download the GroupLens zip of ``dataset``, check its MD5, unzip it into ``cache_dir``; return the folder.

    The same as :func:`download_zip` for a dataset named by its ``--dataset`` value.
    """
    return download_zip(get_dataset(dataset), Path(cache_dir), url=url, md5=md5, fetch=fetch)


def download_from_kagglehub(cache_dir: Path | str, spec: DatasetSpec = ML100K) -> Path:
    """Download ``spec``'s pinned kagglehub copy (its own cache works offline once filled); return the folder."""
    import kagglehub  # an optional dependency, only needed for this source

    root = Path(kagglehub.dataset_download(spec.kaggle_handle))
    for candidate in (root, root / spec.folder, *sorted(root.glob(f"*/{spec.folder}"))):
        if candidate.is_dir() and not missing_files(candidate, spec.required_files):
            return copy_into_cache(candidate, Path(cache_dir), spec.folder)
    raise DatasetError(f"kagglehub returned {root}, which holds no complete {spec.folder} folder.")


def download_zip(
    spec: DatasetSpec,
    cache_dir: Path,
    *,
    url: str | None = None,
    md5: str | None = "published",
    fetch: Callable[[str], bytes | Path] | None = None,
) -> Path:
    """Download ``spec``'s GroupLens zip, check its MD5, unzip it into ``cache_dir``; return the folder.

    ``md5="published"`` checks against ``spec.md5``; ``None`` (or a spec without one) downloads
    unverified and says so with an :class:`UnverifiedDownloadWarning`. ``fetch(url)`` returns the
    bytes or a file holding them (the default streams to a temporary file, so a 250 MB zip never
    sits in memory twice).
    """
    url = url or spec.url
    md5 = spec.md5 if md5 == "published" else md5
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fetched = (fetch or fetch_url_to_file)(url)
    zip_file = fetched if isinstance(fetched, Path) else None
    try:
        source = open(zip_file, "rb") if zip_file else io.BytesIO(fetched)
        with source:
            digest, size = _md5_of(source)
            if md5 is None:
                why = (
                    f"GroupLens publishes no fixed MD5 for {spec.title} (it changes over time)"
                    if spec.md5 is None
                    else "no MD5 was given to check it against"
                )
                warnings.warn(
                    f"{url}: {why}, so the download ({size} bytes, MD5 {digest}) could not be verified.",
                    UnverifiedDownloadWarning,
                    stacklevel=2,
                )
            elif digest != md5:
                raise DatasetError(
                    f"{url} downloaded {size} bytes with MD5 {digest}, not the published {md5}: "
                    "the download is incomplete or the file changed; try again later."
                )
            source.seek(0)
            try:
                _unzip_into(source, cache_dir, spec.folder)
            except zipfile.BadZipFile as error:
                raise DatasetError(f"{url} downloaded {size} bytes that are not a zip file ({error}).") from None
    finally:
        if zip_file is not None and fetch is None:
            zip_file.unlink(missing_ok=True)
    folder = cache_dir / spec.folder
    if missing_files(folder, spec.required_files):
        raise DatasetError(f"{url} unzipped without {missing_files(folder, spec.required_files)}.")
    return folder


def _md5_of(source: io.BufferedIOBase) -> tuple[str, int]:
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := source.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _unzip_into(source, cache_dir: Path, folder: str) -> None:
    """Unzip into a scratch folder first, so an interrupted unzip never looks like a complete copy."""
    scratch = Path(tempfile.mkdtemp(prefix=f".unzip-{folder}-", dir=cache_dir))
    try:
        with zipfile.ZipFile(source) as archive:
            archive.extractall(scratch)
        unpacked = scratch / folder
        if not unpacked.is_dir():
            return  # the caller reports the missing files
        target = cache_dir / folder
        target.mkdir(parents=True, exist_ok=True)
        for file in unpacked.iterdir():
            destination = target / file.name
            if destination.is_dir():
                shutil.rmtree(destination)
            os.replace(file, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch_url_to_file(url: str, timeout: float = 60.0) -> Path:
    """Stream ``url`` into a temporary file and return its path (the caller deletes it)."""
    handle, name = tempfile.mkstemp(suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            shutil.copyfileobj(response, out, length=1 << 20)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def copy_into_cache(folder: Path, cache_dir: Path, name: str) -> Path:
    """Copy the files of ``folder`` into ``cache_dir/name`` (unless it is that folder); return it."""
    target = cache_dir / name
    if folder.resolve() != target.resolve():
        target.mkdir(parents=True, exist_ok=True)
        for file in folder.iterdir():
            if file.is_file():
                shutil.copy2(file, target / file.name)
    return target
