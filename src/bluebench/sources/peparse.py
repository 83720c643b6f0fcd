"""Static features of a Windows PE file, read with ``pefile`` and never executed.

A PE file is attacker-made: every field can lie, every offset can point outside the file,
and a table can claim millions of entries. So the file is only parsed, in steps (headers,
sections, imports, exports, resources, directories), each bounded: the whole file by
``[limits] pe_bytes``, all steps together by ``pe_seconds`` (checked between steps, and on
the main thread also by a timer that interrupts a step), and each table by ``pefile``'s own
caps. A file that is not a PE, too large, or broken before its headers are read is refused
with the reason (:class:`PeError`, which names the file). A step that fails or runs out of
time leaves its features *missing* (``None``, never 0) and says so in ``notes``; the model
treats missing as missing and every verdict states the missing share.

Header fields carry the names ``pefile`` gives them (``e_lfanew``, ``SizeOfCode``,
``DllCharacteristics``: the names feature tables such as ClaMP use), plus derived features
under names of their own (``FEATURES`` lists every one with its group and meaning).
"""

from __future__ import annotations

import hashlib
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bluebench.errors import InputError
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text

#: Bumped when a feature's definition changes: stored features say which extractor made them.
EXTRACTOR_VERSION = 1

DOS_FIELDS: tuple[str, ...] = (
    "e_magic", "e_cblp", "e_cp", "e_crlc", "e_cparhdr", "e_minalloc", "e_maxalloc", "e_ss", "e_sp",
    "e_csum", "e_ip", "e_cs", "e_lfarlc", "e_ovno", "e_oemid", "e_oeminfo", "e_lfanew",
)  # fmt: skip
FILE_FIELDS: tuple[str, ...] = (
    "Machine", "NumberOfSections", "PointerToSymbolTable", "NumberOfSymbols", "SizeOfOptionalHeader",
    "Characteristics",
)  # fmt: skip
OPTIONAL_FIELDS: tuple[str, ...] = (
    "Magic", "MajorLinkerVersion", "MinorLinkerVersion", "SizeOfCode", "SizeOfInitializedData",
    "SizeOfUninitializedData", "AddressOfEntryPoint", "BaseOfCode", "BaseOfData", "ImageBase",
    "SectionAlignment", "FileAlignment", "MajorOperatingSystemVersion", "MinorOperatingSystemVersion",
    "MajorImageVersion", "MinorImageVersion", "MajorSubsystemVersion", "MinorSubsystemVersion",
    "SizeOfImage", "SizeOfHeaders", "CheckSum", "Subsystem", "DllCharacteristics", "SizeOfStackReserve",
    "SizeOfStackCommit", "SizeOfHeapReserve", "SizeOfHeapCommit", "LoaderFlags", "NumberOfRvaAndSizes",
)  # fmt: skip

#: Fields that tell *when and with what* a file was built rather than what it does: a model
#: that leans on them learns the collection (Windows XP/7 system files against 2009-2015
#: malware), not malice. Measured in the evaluation's ablation; left out of trained models
#: unless asked for.
ERA_FIELDS: frozenset[str] = frozenset(
    {
        "TimeDateStamp_year",
        "MajorLinkerVersion",
        "MinorLinkerVersion",
        "MajorOperatingSystemVersion",
        "MinorOperatingSystemVersion",
        "MajorImageVersion",
        "MinorImageVersion",
        "MajorSubsystemVersion",
        "MinorSubsystemVersion",
        "CheckSum",
    }
)
#: Fields that say 32 or 64 bits: in the 2009-2015 sets nearly every malware is 32-bit and
#: the few 64-bit files are benign, so the machine type alone separates the classes there.
ARCHITECTURE_FIELDS: frozenset[str] = frozenset({"Machine", "Magic", "SizeOfOptionalHeader"})

# Section names a compiler or linker writes; ClaMP counts the others as "suspicious".
USUAL_SECTIONS = frozenset({".text", ".data", ".rdata", ".idata", ".edata", ".rsrc", ".bss", ".crt", ".tls"})

# Imported functions by what they let a program do (A/W suffixes ignored), and the DLLs of
# network access: readable reasons ("imports_injection 3: VirtualAllocEx, ...").
IMPORT_FAMILIES: dict[str, frozenset[str]] = {
    "imports_injection": frozenset(
        {
            "VirtualAllocEx",
            "WriteProcessMemory",
            "CreateRemoteThread",
            "CreateRemoteThreadEx",
            "NtUnmapViewOfSection",
            "ZwUnmapViewOfSection",
            "SetThreadContext",
            "QueueUserAPC",
            "NtWriteVirtualMemory",
            "RtlCreateUserThread",
            "VirtualProtectEx",
            "NtCreateThreadEx",
        }
    ),
    "imports_dynamic_loading": frozenset(
        {"LoadLibrary", "LoadLibraryEx", "GetProcAddress", "LdrLoadDll", "LdrGetProcedureAddress"}
    ),
    "imports_anti_debug": frozenset(
        {"IsDebuggerPresent", "CheckRemoteDebuggerPresent", "NtQueryInformationProcess", "OutputDebugString"}
    ),
    "imports_keyboard": frozenset(
        {"SetWindowsHookEx", "GetAsyncKeyState", "GetKeyboardState", "RegisterRawInputDevices"}
    ),
    "imports_crypto": frozenset(
        {
            "CryptEncrypt",
            "CryptDecrypt",
            "CryptGenKey",
            "CryptAcquireContext",
            "CryptImportKey",
            "CryptDeriveKey",
            "BCryptEncrypt",
            "BCryptDecrypt",
            "BCryptGenerateSymmetricKey",
        }
    ),
    "imports_privileges": frozenset({"AdjustTokenPrivileges", "OpenProcessToken", "LookupPrivilegeValue"}),
    "imports_services": frozenset({"CreateService", "StartService", "OpenSCManager", "ChangeServiceConfig"}),
}
NETWORK_DLLS = frozenset(
    {"ws2_32.dll", "wsock32.dll", "wininet.dll", "winhttp.dll", "urlmon.dll", "dnsapi.dll"}
)

# Data directory indices (the PE format's order).
_DIR_EXCEPTION, _DIR_SECURITY, _DIR_RELOC, _DIR_DEBUG, _DIR_TLS, _DIR_LOAD_CONFIG, _DIR_CLR = (
    3,
    4,
    5,
    6,
    9,
    10,
    14,
)
_IMAGE_SCN_MEM_EXECUTE, _IMAGE_SCN_MEM_WRITE = 0x20000000, 0x80000000
#: Names kept as evidence per file, so a stored event stays small whatever the file claims.
MAX_NAMED = 16


@dataclass(frozen=True)
class Feature:
    """One feature: its name (pefile's for header fields), its group, and what it measures."""

    name: str
    group: str
    meaning: str

    @property
    def era(self) -> bool:
        return self.name in ERA_FIELDS

    @property
    def architecture(self) -> bool:
        return self.name in ARCHITECTURE_FIELDS


def _features() -> tuple[Feature, ...]:
    out = [Feature(n, "dos_header", "DOS header field") for n in DOS_FIELDS]
    out += [Feature(n, "file_header", "file header field") for n in FILE_FIELDS]
    out.append(Feature("TimeDateStamp_year", "file_header", "UTC year of the file header's TimeDateStamp"))
    out += [Feature(n, "optional_header", "optional header field") for n in OPTIONAL_FIELDS]
    derived = {
        "sections": {
            "section_count": "sections parsed",
            "section_names_usual": "distinct section names a linker writes (.text, .data, ...; as ClaMP)",
            "section_names_unusual": "sections whose name is not one of those (as ClaMP)",
            "text_entropy": "entropy of the .text section, 0 without one (as ClaMP)",
            "data_entropy": "entropy of the .data section, 0 without one (as ClaMP)",
            "section_entropy_max": "highest section entropy (packed or encrypted code is near 8)",
            "section_entropy_min": "lowest section entropy",
            "sections_exec_writable": "sections both executable and writable",
            "sections_virtual_only": "sections with no bytes in the file but memory reserved (unpacking room)",
            "section_virtual_raw_ratio_max": "largest size in memory / size in the file",
            "entry_in_last_section": "1 when the entry point lies in the last section (a packer's stub)",
            "entry_outside_code": "1 when the entry point lies outside every executable section",
        },
        "file": {
            "file_size": "bytes",
            "file_entropy": "entropy of the whole file, bits per byte",
            "overlay_size": "bytes after the last section (appended data, installers, droppers)",
            "version_info": "1 with a version resource naming company, product and versions (as ClaMP)",
        },
        "imports": {
            "import_dlls": "DLLs imported",
            "import_functions": "functions imported",
            "import_ordinals": "functions imported by number only",
            "imports_network": "functions imported from network DLLs (ws2_32, wininet, winhttp, ...)",
            **{name: "functions imported of this kind" for name in IMPORT_FAMILIES},
        },
        "exports": {"export_count": "functions exported"},
        "resources": {
            "resource_count": "resources (leaves of the resource tree)",
            "resource_size": "bytes the resources claim",
            "resource_entropy_max": "highest entropy of a resource (an embedded, encrypted payload is near 8)",
        },
        "directories": {
            "signature_size": "bytes of the Authenticode signature, 0 when unsigned (presence only: not verified)",
            "has_debug": "1 with a debug directory",
            "has_tls": "1 with TLS callbacks' directory (code that runs before the entry point)",
            "has_relocations": "1 with base relocations",
            "has_clr": "1 for a .NET assembly",
            "has_load_config": "1 with a load configuration (control flow guard, SEH tables)",
            "has_exception": "1 with an exception directory (64-bit unwind data)",
        },
    }
    for group, names in derived.items():
        out += [Feature(n, group, m) for n, m in names.items()]
    return tuple(out)


FEATURES: tuple[Feature, ...] = _features()
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_GROUPS: dict[str, str] = {f.name: f.group for f in FEATURES}
#: Feature-table column names other tools use for the same measure (ClaMP's raw and integrated sets).
ALIASES: dict[str, str] = {
    "CreationYear": "TimeDateStamp_year",
    "E_text": "text_entropy",
    "E_data": "data_entropy",
    "E_file": "file_entropy",
    "filesize": "file_size",
    "sus_sections": "section_names_unusual",
    "non_sus_sections": "section_names_usual",
    "fileinfo": "version_info",
}


class PeError(InputError):
    """A file that is not scored: not a PE, too large, or broken before its headers; names the file."""


class _OutOfTime(BaseException):
    """Raised between or inside parse steps once ``pe_seconds`` have passed.

    A ``BaseException``, like ``KeyboardInterrupt``: pefile's own ``except Exception`` blocks
    must not swallow it and carry on parsing.
    """


@dataclass
class PeFile:
    """The features of one PE file (``None`` = missing), what went wrong, and evidence to show."""

    file: str
    sha256: str
    size: int
    values: dict[str, float | None]
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [n for n in FEATURE_NAMES if self.values.get(n) is None]

    def to_json(self) -> dict[str, Any]:
        """The ECS ``file.*`` fields of the file, plus the features and notes bluebench needs."""
        return {
            "file": {
                "path": self.file,
                "size": self.size,
                "hash": {"sha256": self.sha256},
                "pe": {
                    k: self.facts[k] for k in ("architecture", "compile_time", "imphash") if k in self.facts
                },
            },
            "bluebench": {
                "extractor_version": EXTRACTOR_VERSION,
                "pe_features": self.values,
                "pe_notes": self.notes,
                "pe_facts": self.facts,
            },
        }


def looks_like_pe(head: bytes) -> bool:
    """``MZ``, then at ``e_lfanew`` (within the bytes given) the ``PE\\0\\0`` signature."""
    if len(head) < 64 or not head.startswith(b"MZ"):
        return False
    (lfanew,) = struct.unpack_from("<I", head, 0x3C)
    return 0 < lfanew <= len(head) - 4 and head[lfanew : lfanew + 4] == b"PE\0\0"


def read_pe_file(path: Path, display: str, limits: Limits = DEFAULT_LIMITS) -> PeFile:
    """Parse the file at ``path``; too large a file is refused before any of it is read."""
    try:
        size = path.stat().st_size
        if size > limits.pe_bytes:
            raise PeError(display, too_large(size, limits))
        with path.open("rb") as fh:
            data = fh.read(limits.pe_bytes + 1)
    except OSError as exc:
        raise PeError(display, f"cannot read: {exc.strerror or exc}") from exc
    return parse_pe(data, display, limits)


def too_large(size: int, limits: Limits) -> str:
    """Why a file over ``pe_bytes`` is not scored, naming the setting to raise."""
    return f"{bytes_text(size)}, more than [limits] pe_bytes = {bytes_text(limits.pe_bytes)}; not parsed"


def parse_pe(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS) -> PeFile:
    """Features of the PE file in ``data``; raises :class:`PeError` (naming ``name``) when none can be read."""
    import pefile

    if len(data) > limits.pe_bytes:
        raise PeError(name, too_large(len(data), limits))
    if not data.startswith(b"MZ"):
        raise PeError(name, "not a PE file: it does not start with 'MZ'")
    if len(data) < 64:
        raise PeError(name, f"truncated: {len(data)} bytes, shorter than a DOS header (64)")
    deadline = time.monotonic() + limits.pe_seconds
    try:
        with _timer(limits.pe_seconds):
            pe = pefile.PE(data=data, fast_load=True)
    except _OutOfTime:
        raise PeError(name, f"headers not parsed within [limits] pe_seconds = {limits.pe_seconds}") from None
    except pefile.PEFormatError as exc:
        raise PeError(name, f"not a readable PE file: {exc.value}") from None
    except Exception as exc:  # pefile on hostile bytes can fail in many ways; none may stop a run
        raise PeError(name, f"malformed PE headers ({type(exc).__name__}: {str(exc)[:200]})") from None
    pe_file = PeFile(name, hashlib.sha256(data).hexdigest(), len(data), dict.fromkeys(FEATURE_NAMES))
    # no pe.close(): it only unmaps a file pefile opened itself, and runs a full gc.collect()
    # that took half the time of a file
    _extract(pe, data, pe_file, deadline)
    return pe_file


def _extract(pe: Any, data: bytes, out: PeFile, deadline: float) -> None:
    """Run each step within what is left of the time; a failing step leaves its features missing."""
    steps: list[tuple[str, Callable[[Any, bytes, PeFile], None]]] = [
        ("headers", _headers),
        ("sections", _sections),
        ("file", _whole_file),
        ("directories", _directories),
        ("imports", _imports),
        ("exports", _exports),
        ("resources", _resources),
    ]
    for i, (step, fn) in enumerate(steps):
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise _OutOfTime
            with _timer(left):
                fn(pe, data, out)
        except _OutOfTime:
            rest = ", ".join(s for s, _ in steps[i:])
            out.notes.append(
                f"time limit ([limits] pe_seconds) reached: {rest} not read; their features are missing"
            )
            return
        except Exception as exc:  # a hostile table must cost its own features only
            out.notes.append(
                f"{step} not read ({type(exc).__name__}: {str(exc)[:160]}); their features are missing"
            )
    warnings = pe.get_warnings()
    if warnings:
        out.notes.append(f"pefile reported {len(warnings)} oddities, e.g. {str(warnings[0])[:160]!r}")


@contextmanager
def _timer(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` where a timer can (the main thread on Unix); elsewhere a no-op."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0  # someone else's timer runs: leave it be
    ):
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def entropy(data: bytes | memoryview) -> float:
    """Shannon entropy in bits per byte (0 for no data, 8 for uniform random bytes)."""
    if not len(data):
        return 0.0
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    p = counts[counts > 0] / len(data)
    return float(-(p * np.log2(p)).sum())


def _headers(pe: Any, data: bytes, out: PeFile) -> None:
    v = out.values
    for group, fields in (
        (pe.DOS_HEADER, DOS_FIELDS),
        (pe.FILE_HEADER, FILE_FIELDS),
        (pe.OPTIONAL_HEADER, OPTIONAL_FIELDS),
    ):
        for name in fields:
            value = getattr(group, name, None)  # BaseOfData does not exist in 64-bit files
            v[name] = float(value) if isinstance(value, int) else None
    stamp = int(pe.FILE_HEADER.TimeDateStamp)
    when = datetime.fromtimestamp(stamp, UTC)
    v["TimeDateStamp_year"] = float(when.year)
    out.facts["compile_time"] = when.isoformat().replace("+00:00", "Z")
    machine = int(pe.FILE_HEADER.Machine)
    out.facts["architecture"] = {0x14C: "x86", 0x8664: "x64", 0xAA64: "arm64", 0x1C4: "arm"}.get(
        machine, f"0x{machine:x}"
    )


def _section_name(section: Any) -> str:
    return bytes(section.Name).split(b"\0", 1)[0].decode("latin-1")


def _sections(pe: Any, data: bytes, out: PeFile) -> None:
    v, sections = out.values, list(pe.sections)
    names = [_section_name(s) for s in sections]
    v["section_count"] = float(len(sections))
    usual = len(set(names) & USUAL_SECTIONS)
    v["section_names_usual"], v["section_names_unusual"] = float(usual), float(len(names) - usual)
    entropies: list[float] = []
    v["text_entropy"] = v["data_entropy"] = 0.0
    exec_write = virtual_only = 0
    ratio = 0.0
    entry = int(pe.OPTIONAL_HEADER.AddressOfEntryPoint)
    entry_section = None
    shown: list[dict[str, Any]] = []
    for i, (s, name) in enumerate(zip(sections, names, strict=True)):
        start, raw = int(s.PointerToRawData), int(s.SizeOfRawData)
        chunk = memoryview(data)[start : start + raw] if start < len(data) else memoryview(b"")
        e = entropy(chunk)
        entropies.append(e)
        if name in (".text", ".data") and v[f"{name[1:]}_entropy"] == 0.0:
            v[f"{name[1:]}_entropy"] = e
        flags, vsize = int(s.Characteristics), int(s.Misc_VirtualSize)
        exec_write += bool(flags & _IMAGE_SCN_MEM_EXECUTE and flags & _IMAGE_SCN_MEM_WRITE)
        virtual_only += raw == 0 and vsize > 0
        if raw:
            ratio = max(ratio, vsize / raw)
        if s.VirtualAddress <= entry < s.VirtualAddress + max(vsize, raw):
            entry_section = i
        if len(shown) < MAX_NAMED:
            shown.append({"name": name, "entropy": round(e, 3), "raw": raw, "virtual": vsize, "flags": flags})
        if start + raw > len(data):
            out.notes.append(
                f"truncated: section {name!r} ends at byte {start + raw:,}, the file has {len(data):,}"
            )
    v["section_entropy_max"] = max(entropies) if entropies else None
    v["section_entropy_min"] = min(entropies) if entropies else None
    v["sections_exec_writable"], v["sections_virtual_only"] = float(exec_write), float(virtual_only)
    v["section_virtual_raw_ratio_max"] = ratio
    v["entry_in_last_section"] = float(entry_section is not None and entry_section == len(sections) - 1)
    in_code = (
        entry_section is not None and int(sections[entry_section].Characteristics) & _IMAGE_SCN_MEM_EXECUTE
    )
    v["entry_outside_code"] = float(not in_code)
    out.facts["sections"] = shown


def _whole_file(pe: Any, data: bytes, out: PeFile) -> None:
    v = out.values
    v["file_size"] = float(len(data))
    v["file_entropy"] = entropy(data)
    start = pe.get_overlay_data_start_offset()
    v["overlay_size"] = float(len(data) - start) if start is not None else 0.0


def _directory_size(pe: Any, index: int) -> int:
    dirs = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    return int(dirs[index].Size) if index < len(dirs) else 0


def _directories(pe: Any, data: bytes, out: PeFile) -> None:
    v = out.values
    v["signature_size"] = float(_directory_size(pe, _DIR_SECURITY))
    for name, index in (
        ("has_debug", _DIR_DEBUG),
        ("has_tls", _DIR_TLS),
        ("has_relocations", _DIR_RELOC),
        ("has_clr", _DIR_CLR),
        ("has_load_config", _DIR_LOAD_CONFIG),
        ("has_exception", _DIR_EXCEPTION),
    ):
        v[name] = float(_directory_size(pe, index) > 0)


def _parse(pe: Any, entry: str) -> None:
    import pefile

    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY[entry]])


def _base_name(name: str) -> str:
    """``LoadLibraryExW`` -> ``LoadLibraryEx``: the A/W variants do the same thing."""
    return name[:-1] if len(name) > 1 and name[-1] in "AW" and name[-2].islower() else name


def _imports(pe: Any, data: bytes, out: PeFile) -> None:
    _parse(pe, "IMAGE_DIRECTORY_ENTRY_IMPORT")
    v = out.values
    entries = list(getattr(pe, "DIRECTORY_ENTRY_IMPORT", []))
    functions = ordinals = network = 0
    found: dict[str, list[str]] = {name: [] for name in IMPORT_FAMILIES}
    dlls = []
    for entry in entries:
        dll = bytes(entry.dll or b"").decode("latin-1").lower()
        dlls.append(dll)
        for imp in entry.imports:
            functions += 1
            if imp.name is None:
                ordinals += 1
                continue
            network += dll in NETWORK_DLLS
            base = _base_name(bytes(imp.name).decode("latin-1"))
            for family, names in IMPORT_FAMILIES.items():
                if base in names and base not in found[family]:
                    found[family].append(base)
    v["import_dlls"], v["import_functions"] = float(len(entries)), float(functions)
    v["import_ordinals"], v["imports_network"] = float(ordinals), float(network)
    for family, hits in found.items():
        v[family] = float(len(hits))
    out.facts["import_dlls"] = dlls[:MAX_NAMED]
    out.facts["imports"] = {f: n[:MAX_NAMED] for f, n in found.items() if n}
    if entries:
        out.facts["imphash"] = pe.get_imphash()


def _exports(pe: Any, data: bytes, out: PeFile) -> None:
    _parse(pe, "IMAGE_DIRECTORY_ENTRY_EXPORT")
    export = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    out.values["export_count"] = float(len(export.symbols)) if export is not None else 0.0


def _resources(pe: Any, data: bytes, out: PeFile) -> None:
    _parse(pe, "IMAGE_DIRECTORY_ENTRY_RESOURCE")
    v = out.values
    count = size = 0
    top = 0.0
    for leaf in _resource_leaves(getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None), 0):
        count += 1
        claimed = int(leaf.struct.Size)
        size += claimed
        start = pe.get_offset_from_rva(int(leaf.struct.OffsetToData))
        if start is not None and 0 <= start < len(data):
            top = max(top, entropy(memoryview(data)[start : start + claimed]))
    v["resource_count"], v["resource_size"], v["resource_entropy_max"] = float(count), float(size), top
    v["version_info"] = float(_has_version_info(pe))


def _resource_leaves(directory: Any, depth: int) -> Iterator[Any]:
    """Each data entry of the resource tree; pefile bounds the depth and the entries it reads."""
    if directory is None or depth > 8:
        return
    for entry in getattr(directory, "entries", []):
        if hasattr(entry, "directory"):
            yield from _resource_leaves(entry.directory, depth + 1)
        elif hasattr(entry, "data"):
            yield entry.data


def _has_version_info(pe: Any) -> bool:
    """A version resource naming company, product and versions (ClaMP's ``fileinfo``)."""
    wanted = {b"FileVersion", b"ProductVersion", b"ProductName", b"CompanyName"}
    for info in getattr(pe, "FileInfo", []):
        for entry in info:
            for table in getattr(entry, "StringTable", []):
                if wanted <= set(table.entries):
                    return True
    return False
