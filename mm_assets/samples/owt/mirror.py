"""Generate an OpenWebText mirror laid out like the hub repository.

`<root>/subsets/urlsf_subsetNN.tar`, each an outer tar of `openwebtext/urlsf_subsetNN-K_data.xz`
members, each an xz-compressed tar of `.txt` documents: the real nested format. The text is
English-like (a word-bigram chain over Python's own documentation, so no download is needed) plus
a fixed set of documents with every case the cleaning and encoding rules must get right.
"""

from __future__ import annotations

import io
import lzma
import random
import tarfile
from pathlib import Path
from typing import Iterable

from mm_assets.common.atomic import atomic_write
from mm_assets.common.parallel import IN_FLIGHT_BYTES, ordered_map
from mm_assets.datasets.owt.slices import slice_hub_path, slice_stem


def edge_case_documents() -> list[bytes]:
    """Documents that exercise each text rule of docs/data-rules.md and the tokenizer's corner cases."""
    long_line = " ".join(f"word{i} café naïve 12345 ünïcödé" for i in range(3000))
    docs = [
        "Plain first line.\nSecond line with contractions: I'm, you're, we've, they'll, he'd, it's, "
        "don't, 'S and 'LL.\n",
        "Unicode: Grüße aus Köln, 東京都, Москва, العربية, हिन्दी, ελληνικά, עברית, 한국어.\n"
        "Emoji: 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ 🤖, math ∑∫√∞ ≠ ≤, currency €£¥₹, dashes – — and “quotes”.\n",
        "Tabs\tinside\tthe line\n\tleading tab and trailing tab\t\n   spaces around   \n",
        "Windows line endings\r\nsecond windows line\r\n\r\nafter an empty CRLF line\r\n",
        "Old Mac\rline endings\rthird\r",
        "NUL\x00 in the middle\x00 of a line\n\x00\x00\n\x00only NULs before\n",
        "Whitespace-only lines follow\n   \n\t\t\n \x0b\x0c \n\u3000\u00a0\u2003\nend\n",
        "A literal <|endoftext|> token inside text, and <|endoftext|>at the start.\n<|endoftext|>\n",
        "Separators inside a line: a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i end.\n",
        "Numbers 3.14159, 1,000,000, 2nd, 10x, 0xFF, 1e-9 and ١٢٣ and ½ ² Ⅻ.\n",
        "Unassigned code points in Python's tables: \u0558's a\u0c5cb x\u208f\u208f1 \ua7ce's \U0001fae9.\n",
        "Private use \ue000\uf8ff and combining e\u0301 a\u0308 and ZWJ a\u200db and BOM \ufeffx.\n",
        long_line + "\n",
        "Punctuation runs!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}}\n"
        "URL https://example.com/a/b?c=d&e=f#g and email someone@example.org\n",
        "   \n\n\n",  # a document with nothing left after cleaning
        "",  # an empty document
    ]
    encoded = [doc.encode("utf-8") for doc in docs]
    encoded.append(b"Invalid UTF-8: \xff\xfe bad \xc3\x28 lone \xa0 truncated \xe2\x82 end\n"
                   b"surrogate \xed\xa0\x80 and overlong \xc0\xaf here\nlast\xf0\x9f\x98")
    return encoded


class EnglishLikeText:
    """A seeded word-bigram chain trained on Python's documentation topics."""

    def __init__(self, seed: int = 0) -> None:
        import pydoc_data.topics

        words = " ".join(pydoc_data.topics.topics.values()).split()
        self.followers: dict[str, list[str]] = {}
        for first, second in zip(words, words[1:]):
            self.followers.setdefault(first, []).append(second)
        self.starts = [w for w in self.followers if w[:1].isupper()] or list(self.followers)
        self.rng = random.Random(seed)

    def paragraph(self, words: int) -> str:
        rng = self.rng
        word = rng.choice(self.starts)
        out = [word]
        for _ in range(words - 1):
            nexts = self.followers.get(word)
            word = rng.choice(nexts) if nexts else rng.choice(self.starts)
            out.append(word)
        return " ".join(out)

    def document(self) -> bytes:
        rng = self.rng
        paragraphs = [self.paragraph(rng.randint(5, 160)) for _ in range(rng.randint(1, 25))]
        return ("\n\n".join(paragraphs) + "\n").encode("utf-8")


MTIME = 1555555555  # fixed, so the mirror itself is reproducible


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = MTIME
    tar.addfile(info, io.BytesIO(data))


def _tar_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in entries:
            _add(tar, name, data)
    return buffer.getvalue()


def write_slice(path: Path, slice_number: int, members: Iterable[list[bytes]], *, preset: int = 1,
                workers: int = 1) -> None:
    """Write one slice tar whose members each hold the given documents (members compressed on
    `workers` threads, streamed to disk in order)."""
    def numbered_members():
        first = 0
        for k, documents in enumerate(members, start=1):
            yield k, first, documents
            first += len(documents)

    def compress(job: tuple[int, int, list[bytes]]) -> tuple[int, bytes]:
        k, first, documents = job
        inner = [(f"{first + i + 1:07d}-{slice_number:02d}{k:04d}.txt", data) for i, data in enumerate(documents)]
        return k, lzma.compress(_tar_bytes(inner), preset=preset)

    with atomic_write(path) as handle, tarfile.open(fileobj=handle, mode="w", format=tarfile.GNU_FORMAT) as outer:
        for k, xz in ordered_map(compress, numbered_members(), workers=workers, max_bytes=IN_FLIGHT_BYTES,
                                 size=lambda job: sum(map(len, job[2]))):
            _add(outer, f"openwebtext/{slice_stem(slice_number)}-{k}_data.xz", xz)


def generate_mirror(
    root: str | Path,
    slices: list[int],
    *,
    bytes_per_slice: int = 200_000,
    docs_per_member: int = 40,
    seed: int = 0,
    text=None,
    edge_cases: bool = True,
    preset: int = 1,
    workers: int = 1,
) -> list[Path]:
    """Write the given slices under `root/subsets/`; returns their paths.

    `text` is any object with a `document() -> bytes` method (default: `EnglishLikeText(seed)`).
    """
    root = Path(root)
    text = text or EnglishLikeText(seed)
    paths = []
    for number in slices:
        def documents():
            docs = list(edge_case_documents()) if edge_cases else []
            size = sum(map(len, docs))
            yield from docs
            while size < bytes_per_slice:
                doc = text.document()
                size += len(doc)
                yield doc

        def members():
            batch: list[bytes] = []
            for doc in documents():
                batch.append(doc)
                if len(batch) == docs_per_member:
                    yield batch
                    batch = []
            if batch:
                yield batch

        path = root / slice_hub_path(number)
        write_slice(path, number, members(), preset=preset, workers=workers)
        paths.append(path)
    return paths
