"""The incidents stage: alerts that belong together become one ranked, explained incident.

Runs after alerts and imports only ``schema``, ``errors`` and earlier stages. The review
stage refers to incidents by their stable ids (see :func:`incident_id`).
"""

from bluebench.incidents.config import (
    ENTITY_KINDS,
    RISK_PARTS,
    Asset,
    AssetList,
    GroupingParams,
    default_grouping_text,
    load_assets,
    load_grouping_params,
)
from bluebench.incidents.grouping import GroupingReport, group_alerts, incident_id
from bluebench.incidents.store import Incident, ensure_schema, incident_count, load_incident, load_incidents

__all__ = [
    "ENTITY_KINDS",
    "RISK_PARTS",
    "Asset",
    "AssetList",
    "GroupingParams",
    "GroupingReport",
    "Incident",
    "default_grouping_text",
    "ensure_schema",
    "group_alerts",
    "incident_count",
    "incident_id",
    "load_assets",
    "load_grouping_params",
    "load_incident",
    "load_incidents",
]
