"""Archives built by hand for the tests of the archive caps: members streamed into a zip, so a
300 MB member of zeros never sits in memory."""

import zipfile
from pathlib import Path
from typing import Iterable, Iterator

from mm_assets.formats.zip import ZIP_EPOCH

MIB = 1 << 20


def zeros(total: int, block: int = MIB) -> Iterator[bytes]:
    """`total` zero bytes, a block at a time."""
    chunk = bytes(block)
    for start in range(0, total, block):
        yield chunk[: min(block, total - start)]


def add_member(path: Path, name: str, chunks: Iterable[bytes], *, compress: bool = True) -> zipfile.ZipInfo:
    """Append one member to the zip at `path` (made if missing), deflated or stored, streamed."""
    info = zipfile.ZipInfo(name, ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "a" if Path(path).exists() else "w") as archive:
        with archive.open(info, "w", force_zip64=True) as member:
            for chunk in chunks:
                member.write(chunk)
        return archive.getinfo(name)
