"""Load and validate every site under a sites directory: `load_site_files(sites_dir)`.

Layout: `<sites_dir>/<site_id>/site.yaml` plus the point schedules it names (by default
`points/<block_id>.csv`). All problems of all files are collected and raised together as one
`RegistryError`, each naming file, line and field.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mcs.registry.errors import RegistryError, located, pydantic_message
from mcs.registry.models import (
    SINGLE_SOURCE_BILLING_ROLES,
    Block,
    BlockDefinition,
    Device,
    SiteDefinition,
    SiteFile,
)
from mcs.registry.schedule import SourcedPoint, read_schedule

SITE_FILE = "site.yaml"

Loc = tuple[str | int, ...]


def load_site_files(sites_dir: Path | str) -> list[SiteDefinition]:
    """Every site under `sites_dir`, validated; raises RegistryError listing all problems."""
    root = Path(sites_dir)
    if not root.is_dir():
        raise RegistryError([f"{root}: sites directory does not exist"])
    errors: list[str] = []
    sites: list[SiteDefinition] = []
    for site_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if not (site_dir / SITE_FILE).is_file():
            continue
        site, site_errors = load_site(site_dir)
        errors += site_errors
        if site is not None:
            sites.append(site)
    errors += _cross_site_errors(sites)
    if errors:
        raise RegistryError(dict.fromkeys(errors))  # a schedule shared by two blocks reports once
    return sites


def load_site(site_dir: Path) -> tuple[SiteDefinition | None, list[str]]:
    path = site_dir / SITE_FILE
    doc = YamlDocument.read(path)
    if doc.errors:
        return None, doc.errors
    data = {k: v for k, v in doc.data.items() if not str(k).startswith("x-")}
    try:
        site_file = SiteFile.model_validate(data)
    except ValidationError as exc:
        return None, [doc.error(err["loc"], pydantic_message(err)) for err in exc.errors()]
    errors: list[str] = []
    if site_file.site.site_id != site_dir.name:
        errors.append(doc.error(("site", "site_id"), f"'{site_file.site.site_id}' must equal the directory "
                                                     f"name '{site_dir.name}'"))
    errors += _site_yaml_errors(site_file, doc)
    blocks: list[BlockDefinition] = []
    referenced: set[Path] = set()
    for index, block in enumerate(site_file.blocks):
        sourced, block_errors = _load_block_points(site_dir, block, index, doc, referenced)
        errors += block_errors + _block_point_errors(block, sourced)
        blocks.append(BlockDefinition(block=block, points=tuple(s.point for s in sourced)))
    for stray in sorted({p.resolve() for p in (site_dir / "points").glob("*.csv")} - referenced):
        errors.append(located(_display(stray), None, None, "point schedule is not listed under any block's "
                                                           "'points' in site.yaml"))
    if errors:
        return None, errors
    return SiteDefinition(site=site_file.site, blocks=tuple(blocks), contracts=site_file.contracts,
                          source=doc.display), []


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# -------------------------------------------------------------------------------- YAML with lines
@dataclass
class YamlDocument:
    """A parsed YAML file plus its node tree, so a pydantic error location can be turned into a line."""

    display: str
    data: dict[str, Any] = field(default_factory=dict)
    root: yaml.Node | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> YamlDocument:
        display = _display(path)
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except OSError as exc:
            return cls(display, errors=[located(display, None, None, f"cannot read: {exc.strerror}")])
        except UnicodeDecodeError as exc:
            return cls(display, errors=[located(display, None, None, f"not UTF-8 text (byte {exc.start})")])
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            return cls(display, errors=[located(display, line, None, f"invalid YAML: {exc.problem}")])
        if not isinstance(data, dict):
            return cls(display, errors=[located(display, 1, None, "expected a mapping with 'site' and 'blocks'")])
        return cls(display, data=data, root=root, errors=_duplicate_keys(root, display))

    def line_of(self, loc: Loc) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                node = None
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    def error(self, loc: Loc | tuple[Any, ...], message: str) -> str:
        name = ".".join(str(p) for p in loc) or None
        return located(self.display, self.line_of(tuple(loc)), name, message)


def _duplicate_keys(node: yaml.Node | None, display: str, path: Loc = ()) -> list[str]:
    """YAML loaders keep the last of two equal keys silently; a site file must not say a thing twice."""
    errors: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            where = (*path, key.value)
            if key.value in seen and key.value != "<<":
                errors.append(located(display, key.start_mark.line + 1, ".".join(map(str, where)),
                                      "key appears twice"))
            seen.add(key.value)
            errors += _duplicate_keys(value, display, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            errors += _duplicate_keys(item, display, (*path, index))
    return errors


# -------------------------------------------------------------------------------- checks
def _site_yaml_errors(site_file: SiteFile, doc: YamlDocument) -> list[str]:
    errors: list[str] = [] if site_file.blocks else [doc.error(("blocks",), "a site needs at least one block")]
    block_ids: dict[str, Block] = {}
    for b, block in enumerate(site_file.blocks):
        if block.block_id in block_ids:
            errors.append(doc.error(("blocks", b, "block_id"), f"'{block.block_id}' is defined twice"))
        block_ids[block.block_id] = block
        errors += _unique(doc, ("blocks", b, "devices"), [d.device_id for d in block.devices], "device_id")
        errors += _unique(doc, ("blocks", b, "equipment"), [e.tag for e in block.equipment], "tag")
        for d, device in enumerate(block.devices):
            errors += [doc.error(("blocks", b, "devices", d, name), message)
                       for name, message in _device_issues(device)]
    for c, contract in enumerate(site_file.contracts):
        loc = ("contracts", c)
        block = block_ids.get(contract.block_id) if contract.block_id else None
        if contract.block_id and block is None:
            errors.append(doc.error((*loc, "block_id"), f"'{contract.block_id}' is not a block of this site"))
        if contract.end_date and contract.end_date < contract.start_date:
            errors.append(doc.error((*loc, "end_date"), "ends before it starts"))
        if contract.kind == "colo_msa":
            for name in ("block_id", "committed_kw", "availability_class", "racks"):
                if getattr(contract, name) is None:
                    errors.append(doc.error(loc, f"a colo_msa needs '{name}'"))
        if block is not None and contract.racks:
            known = {e.tag for e in block.equipment}
            errors += [doc.error((*loc, "racks"), f"'{rack}' is not equipment of {block.block_id}")
                       for rack in contract.racks if rack not in known]
    return errors


def _unique(doc: YamlDocument, loc: Loc, values: list[str], name: str) -> list[str]:
    seen: set[str] = set()
    errors = []
    for index, value in enumerate(values):
        if value in seen:
            errors.append(doc.error((*loc, index, name), f"'{value}' is defined twice"))
        seen.add(value)
    return errors


def _device_issues(device: Device) -> list[tuple[str, str]]:
    if device.protocol == "mqtt":
        return []
    issues = [(name, f"a {device.protocol} device needs '{name}'")
              for name in ("host", "port") if getattr(device, name) is None]
    if device.protocol.startswith("modbus") and device.unit_id is None:
        issues.append(("unit_id", "a Modbus device needs 'unit_id'"))
    if device.protocol == "bacnet-ip" and "device_instance" not in device.params:
        issues.append(("params", "a BACnet device needs params.device_instance"))
    if device.protocol == "snmp" and str(device.params.get("version")) not in ("1", "2c", "3"):
        issues.append(("params", "an SNMP device needs params.version 1, 2c or 3"))
    return issues


def _load_block_points(site_dir: Path, block: Block, index: int, doc: YamlDocument,
                       referenced: set[Path]) -> tuple[list[SourcedPoint], list[str]]:
    files = block.points or (f"points/{block.block_id}.csv",)
    sourced: list[SourcedPoint] = []
    errors: list[str] = []
    for f, name in enumerate(files):
        path = (site_dir / name).resolve()
        if not path.is_relative_to(site_dir.resolve()) or not path.is_file():
            errors.append(doc.error(("blocks", index, "points", f) if block.points else ("blocks", index),
                                    f"point schedule '{name}' not found in {_display(site_dir)}"))
            continue
        referenced.add(path)
        points, file_errors = read_schedule(path, _display(path))
        sourced += points
        errors += file_errors
    return sourced, errors


def _block_point_errors(block: Block, sourced: list[SourcedPoint]) -> list[str]:
    """Rules between points and the block's devices and equipment."""
    devices = {d.device_id: d for d in block.devices}
    equipment = {e.tag for e in block.equipment}
    first_tag: dict[str, SourcedPoint] = {}
    spans: dict[tuple[str, str], list[tuple[range, SourcedPoint]]] = defaultdict(list)
    addresses: dict[tuple[str, str], SourcedPoint] = {}
    roles: dict[str, SourcedPoint] = {}
    errors: list[str] = []

    def err(s: SourcedPoint, column: str, message: str) -> None:
        errors.append(located(s.path, s.line, column, f"{message} (block {block.block_id})"))

    for s in sourced:
        p = s.point
        if p.tag in first_tag:
            other = first_tag[p.tag]
            err(s, "tag", f"'{p.tag}' is already defined at {other.path}:{other.line}")
        first_tag.setdefault(p.tag, s)
        if p.equipment_tag and p.equipment_tag not in equipment:
            err(s, "equipment_parent", f"'{p.equipment_tag}' is not in the block's equipment list")
        if p.device_id:
            device = devices.get(p.device_id)
            if device is None:
                err(s, "device", f"'{p.device_id}' is not in the block's devices")
            elif device.protocol != p.protocol:
                err(s, "protocol", f"'{p.protocol}' but device '{p.device_id}' speaks {device.protocol}")
        if p.billing_role in SINGLE_SOURCE_BILLING_ROLES:
            if p.billing_role in roles:
                err(s, "billing_role", f"'{p.billing_role}' already belongs to {roles[p.billing_role].point.tag}")
            roles.setdefault(p.billing_role, s)
        span = p.register_span()
        if span is not None and p.device_id:
            key = (p.device_id, p.register_type or "holding")
            for other_span, other in spans[key]:
                if set(span) & set(other_span):
                    err(s, "protocol_address", f"registers {p.address} (+{len(span)}) overlap "
                                               f"{other.point.tag} at {other.point.address} on {p.device_id}")
            spans[key].append((span, s))
        elif p.protocol in ("snmp", "bacnet-ip") and p.address and p.device_id:
            key = (p.device_id, p.address)
            if key in addresses:
                err(s, "protocol_address", f"{p.address} is already read by {addresses[key].point.tag} "
                                           f"on {p.device_id}")
            addresses.setdefault(key, s)
    return errors


def _cross_site_errors(sites: list[SiteDefinition]) -> list[str]:
    """Device endpoints and contract references must be unique across all sites."""
    errors: list[str] = []
    endpoints: dict[tuple[str, str, int, int | None], str] = {}
    contracts: dict[str, str] = {}
    for site in sites:
        for b in site.blocks:
            for device in b.block.devices:
                if device.protocol == "mqtt" or device.host is None or device.port is None:
                    continue
                key = (device.transport(), device.host, device.port, device.unit_id)
                here = f"{site.site_id}/{b.block_id}/{device.device_id}"
                if key in endpoints:
                    errors.append(located(site.source, None, "devices", f"{here} uses {device.host}:{device.port}"
                                          f" unit {device.unit_id}, already used by {endpoints[key]}"))
                endpoints.setdefault(key, here)
        for contract in site.contracts:
            if contract.contract_ref in contracts:
                errors.append(located(site.source, None, "contract_ref", f"'{contract.contract_ref}' is "
                                      f"already defined by site {contracts[contract.contract_ref]}"))
            contracts.setdefault(contract.contract_ref, site.site_id)
    return errors
