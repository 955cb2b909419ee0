"""Shipped data tables (schema, problem codes, rules) merged with the user's optional pbtool.toml."""
from __future__ import annotations

import copy
import re
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
    profiles: dict[str, Any] = field(default_factory=lambda: shipped("profiles.toml"))   # value profiles

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
      [profiles.person_type]  add_values = ["农村党员"]   # value profiles (profiles.toml): add or override
    """
    schema = shipped("schema.toml")
    profiles = shipped("profiles.toml")
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
        merge_profiles(profiles["profiles"], user.get("profiles", {}), schema, path)
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
                  district=district.strip() if district else None, profiles=profiles)


NO_FIELD = "-"   # a profile's `otherwise`: the column is no field at all, its text kept as written

# What a [profiles.NAME] table of pbtool.toml may hold (data/profiles.toml explains each key). A key given
# replaces the shipped one; add_values and add_hints extend the shipped lists instead.
PROFILE_KEYS: dict[str, type] = {
    "field": str, "kinds": list, "label": str, "values": list, "add_values": list, "pattern": str,
    "overrides_header": bool, "claims_unknown": bool, "otherwise": str, "hints": list, "add_hints": list,
    "vocab": str, "exclude": list,
}
_TYPE_WORDS = {str: "文字（加英文双引号）", list: "文字列表，例如 [\"甲\", \"乙\"]", bool: "true 或 false"}


def merge_profiles(profiles: dict[str, Any], user: Any, schema: dict[str, Any], path: Path | None) -> None:
    """pbtool.toml [profiles.NAME] tables merged into the shipped value profiles: a new NAME adds a
    profile, a shipped one is overridden key by key. Every entry given is checked; a malformed one is a
    ConfigError naming the entry, the key and what it should be."""
    if not isinstance(user, dict):
        raise ConfigError(f"配置文件 {path}：profiles 应写成 [profiles.名称] 表，例如 [profiles.person_type]")
    kinds = schema["kinds"]
    for name, entry in user.items():
        where = f"配置文件 {path}：[profiles.{name}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} 应是一个表（单独一行写 [profiles.{name}]，下面逐行写 键 = 值）")
        for key, value in entry.items():
            if key not in PROFILE_KEYS:
                raise ConfigError(f"{where} 中的 {key} 不是可用的键（可用：{'、'.join(PROFILE_KEYS)}）")
            want = PROFILE_KEYS[key]
            if isinstance(value, list):
                ok = want is list and all(isinstance(v, str) and v.strip() for v in value)
            else:
                ok = isinstance(value, want)
            if not ok:
                raise ConfigError(f"{where} 的 {key} 应为{_TYPE_WORDS[want]}")
        merged = dict(profiles.get(name, {}))
        for key, value in entry.items():
            if key.startswith("add_"):
                base = key.removeprefix("add_")
                merged[base] = [*merged.get(base, []), *value]
            else:
                merged[key] = value
        if not isinstance(merged.get("label"), str) or not merged["label"].strip():
            raise ConfigError(f"{where} 缺少 label（这类内容的中文说明，例如 label = \"农村党员/城镇党员等人员身份\"）")
        if merged.get("vocab") and merged["vocab"] not in schema.get("vocab", {}):
            raise ConfigError(f"{where} 的 vocab = \"{merged['vocab']}\" 不是已有的取值表"
                              f"（可用：{'、'.join(schema.get('vocab', {}))}）")
        if not merged.get("values") and not merged.get("pattern") and not merged.get("vocab"):
            raise ConfigError(f"{where} 既没有 values、pattern 也没有 vocab，无法判断哪些内容属于它")
        if merged.get("pattern"):
            try:
                re.compile(merged["pattern"])
            except re.error as exc:
                at = f"第 {exc.pos + 1} 个字符附近有误" if exc.pos is not None else "写法有误"
                raise ConfigError(f"{where} 的 pattern 不是有效的正则表达式（{at}）。"
                                  "TOML 中正则表达式请用单引号，例如 pattern = '^\\d{6}$'") from None
        unknown = [k for k in merged.get("kinds", []) if k not in kinds]
        if unknown:
            raise ConfigError(f"{where} 的 kinds 中 {'、'.join(unknown)} 不是已知的清单类型（可用：{'、'.join(kinds)}）")
        for key in ("field", "otherwise"):
            fld = merged.get(key)
            if fld is None or (key == "otherwise" and fld == NO_FIELD):
                continue
            if not merged.get("kinds"):
                raise ConfigError(f"{where} 写了 {key}，还要用 kinds 写明适用于哪些清单，例如 kinds = [\"roster\"]")
            lacking = [k for k in merged["kinds"] if fld not in kinds[k]["fields"]]
            if lacking:
                k = lacking[0]
                raise ConfigError(f"{where} 的 {key} = \"{fld}\" 不是 {k} 的字段（可用：{'、'.join(kinds[k]['fields'])}）")
        profiles[name] = merged
