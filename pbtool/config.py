"""Shipped data tables (schema, problem codes, rules) merged with the user's optional pbtool.toml."""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError

USER_CONFIG_NAME = "pbtool.toml"


@lru_cache(maxsize=None)
def _shipped(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("pbtool.data").joinpath(name).read_text(encoding="utf-8"))


def shipped(name: str) -> dict[str, Any]:
    """A deep copy of a shipped data table, safe for the caller to modify."""
    return copy.deepcopy(_shipped(name))


@dataclass
class Config:
    """Everything that is data rather than code: schema and synonyms, vocabularies, problem texts, rules."""

    schema: dict[str, Any]
    problems: dict[str, Any]
    rules: dict[str, Any]
    source: Path | None = None
    thresholds: dict[str, int] = field(default_factory=dict)
    district: str | None = None   # the district this workspace imports for (a store several districts share)

    def kind(self, kind: str) -> dict[str, Any]:
        return self.schema["kinds"][kind]

    def fields(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.schema["kinds"][kind]["fields"]


class ConfigError(InputError, ValueError):
    pass


def load_config(path: Path | None = None) -> Config:
    """Shipped defaults, overridden by `path` or by ./pbtool.toml when it exists.

    pbtool.toml may hold:
      [synonyms.roster]  estate = ["居住楼盘"]      # extra header spellings per kind and field
      [thresholds]       solo_min_full = 3         # rule thresholds (see rules.toml)
      [vocab.category]   "正式党员（已转正）" = "正式"
      district = "青湖区"                          # top level: the district imports belong to (shared store)
    """
    schema = shipped("schema.toml")
    problems = shipped("problems.toml")
    rules = shipped("rules.toml")
    thresholds = dict(rules.get("thresholds", {}))
    if path is None and Path(USER_CONFIG_NAME).is_file():
        path = Path(USER_CONFIG_NAME)
    if path is not None:
        try:
            user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"配置文件 {path} 无法读取：{exc}") from exc
        for kind, extra in user.get("synonyms", {}).items():
            if kind not in schema["kinds"]:
                raise ConfigError(f"配置文件 {path}：[synonyms.{kind}] 不是已知的清单类型（可用：{'、'.join(schema['kinds'])}）")
            for fld, names in extra.items():
                fields = schema["kinds"][kind]["fields"]
                if fld not in fields:
                    raise ConfigError(f"配置文件 {path}：{kind} 没有字段 {fld}（可用：{'、'.join(fields)}）")
                fields[fld]["synonyms"] = list(fields[fld]["synonyms"]) + list(names)
        for vocab, values in user.get("vocab", {}).items():
            schema["vocab"].setdefault(vocab, {}).update(values)
        for key, value in user.get("thresholds", {}).items():
            if key not in thresholds:
                raise ConfigError(f"配置文件 {path}：未知阈值 {key}（可用：{'、'.join(thresholds)}）")
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"配置文件 {path}：阈值 {key} 应为非负整数")
            thresholds[key] = value
    district = user.get("district") if path is not None else None
    if district is not None and (not isinstance(district, str) or not district.strip()):
        raise ConfigError(f"配置文件 {path}：district 应为区名文字，例如 district = \"青湖区\"")
    return Config(schema=schema, problems=problems, rules=rules, source=path, thresholds=thresholds,
                  district=district.strip() if district else None)
