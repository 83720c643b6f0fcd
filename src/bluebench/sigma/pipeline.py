"""pySigma processing pipelines that place Sigma's Windows log sources on our events.

A Sigma rule names a log source (product/category/service); our events carry the channel,
event id and provider of the record. The pipeline adds those as ordinary conditions
(``Channel``, ``EventID``), so each compiled rule is self-contained: the evaluator groups
rules by them and the SQL form filters by them. Pipelines compose with ``+`` as pySigma's do.

Field names: Sigma's Windows fields are the EventData names the records already carry
(``Image``, ``CommandLine``, ``TargetUserName``); System fields are the columns below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sigma.processing.pipeline import ProcessingPipeline

# pySigma is imported where a rule is compiled, not here: extraction and the rule cache read
# this module's tables, and pySigma's import costs more than a warm start from the cache.

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
PS_OPERATIONAL = ["Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"]
PS_CLASSIC = "Windows PowerShell"

# Windows categories: (channels, event ids). Sysmon ids after SigmaHQ's sysmon pipeline;
# process_creation also reads Security 4688, whose fields the extraction aliases (FIELD_ALIASES).
WINDOWS_CATEGORIES: dict[str, tuple[list[str], list[int]]] = {
    "process_creation": ([SYSMON, SECURITY], [1, 4688]),
    "file_change": ([SYSMON], [2]),
    "network_connection": ([SYSMON], [3]),
    "sysmon_status": ([SYSMON], [4, 16]),
    "process_termination": ([SYSMON], [5]),
    "driver_load": ([SYSMON], [6]),
    "image_load": ([SYSMON], [7]),
    "create_remote_thread": ([SYSMON], [8]),
    "raw_access_thread": ([SYSMON], [9]),
    "process_access": ([SYSMON], [10]),
    "file_event": ([SYSMON], [11]),
    "registry_add": ([SYSMON], [12]),
    "registry_delete": ([SYSMON], [12]),
    "registry_set": ([SYSMON], [13]),
    "registry_rename": ([SYSMON], [14]),
    "registry_event": ([SYSMON], [12, 13, 14]),
    "create_stream_hash": ([SYSMON], [15]),
    "pipe_created": ([SYSMON], [17, 18]),
    "wmi_event": ([SYSMON], [19, 20, 21]),
    "dns_query": ([SYSMON], [22]),
    "file_delete": ([SYSMON], [23, 26]),
    "clipboard_capture": ([SYSMON], [24]),
    "process_tampering": ([SYSMON], [25]),
    "file_delete_detected": ([SYSMON], [26]),
    "file_block_executable": ([SYSMON], [27]),
    "file_block_shredding": ([SYSMON], [28]),
    "file_executable_detected": ([SYSMON], [29]),
    "sysmon_error": ([SYSMON], [255]),
    "ps_module": (PS_OPERATIONAL, [4103]),
    "ps_script": (PS_OPERATIONAL, [4104]),
    "ps_classic_start": ([PS_CLASSIC], [400]),
    "ps_classic_provider_start": ([PS_CLASSIC], [600]),
    "ps_classic_script": ([PS_CLASSIC], [800]),
}

# Services of the SigmaHQ taxonomy appendix that pySigma's mapping (2.0.1) lacks.
EXTRA_SERVICES: dict[str, str] = {
    "smbserver-connectivity": "Microsoft-Windows-SMBServer/Connectivity",
}
# Categories the taxonomy reads from an ETW provider, which writes no event log: no stored
# event can match them, and a rule on them is refused with this reason instead of running.
ETW_CATEGORIES: dict[str, str] = {
    "file_access": "Microsoft-Windows-Kernel-File",
    "file_rename": "Microsoft-Windows-Kernel-File",
}


def service_channels() -> dict[str, str | Sequence[str]]:
    """Every Windows service we map, to its channel or channels."""
    from sigma.pipelines.common import windows_logsource_mapping

    return {**windows_logsource_mapping, **EXTRA_SERVICES}


# Sigma field -> other EventData names that carry it in another event (Security 4688).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "Image": ("NewProcessName",),
    "ParentImage": ("ParentProcessName",),
    "ProcessId": ("NewProcessId",),
}
# Sigma System fields -> the batch columns that hold them.
SYSTEM_FIELDS: dict[str, str] = {
    "EventID": "code",
    "Channel": "channel",
    "Provider_Name": "provider",
    "Computer": "host",
}


def windows_pipeline() -> ProcessingPipeline:
    """Logsource -> Channel/EventID conditions for every Windows category and service we know."""
    from sigma.processing.conditions import LogsourceCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import AddConditionTransformation

    items: list[ProcessingItem] = []
    for category, (channels, ids) in WINDOWS_CATEGORIES.items():
        items.append(
            ProcessingItem(
                identifier=f"bluebench_windows_{category}",
                transformation=AddConditionTransformation(
                    {"Channel": channels, "EventID": [str(i) for i in ids]}
                ),
                rule_conditions=[LogsourceCondition(category=category, product="windows")],
            )
        )
    for service, channel in service_channels().items():
        items.append(
            ProcessingItem(
                identifier=f"bluebench_windows_service_{service}",
                transformation=AddConditionTransformation(
                    {"Channel": channel if isinstance(channel, str) else list(channel)}
                ),
                rule_conditions=[LogsourceCondition(service=service, product="windows")],
            )
        )
    return ProcessingPipeline(name="bluebench Windows log sources", priority=20, items=items)


def supported(product: str | None, category: str | None, service: str | None) -> str | None:
    """None when the pipeline maps this log source, else the reason it does not."""
    if product != "windows":
        return f"log source not mapped: product={product}"
    if category in ETW_CATEGORIES:
        return (
            f"log source not mapped: windows category={category} is read from the ETW provider "
            f"{ETW_CATEGORIES[category]}, which writes no event log"
        )
    if category is not None and category not in WINDOWS_CATEGORIES:
        return f"log source not mapped: windows category={category}"
    if service is not None and service not in service_channels():
        return f"log source not mapped: windows service={service}"
    return None  # windows with neither: every Windows event (keyword rules)
