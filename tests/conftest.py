from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from builders import (ESTATE_HEADER, member, write_lists)  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    """A small district: 朝阳社区 and 幸福里小区 exist in two streets (names repeat across streets)."""
    comms = [
        {"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""},
        {"所在街道": "东湖街道", "社区名称": "青松社区", "社区党组织名称": "青松社区党委"},
        {"所在街道": "西山街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"},
        {"所在街道": "南桥街道", "社区名称": "枫林社区", "社区党组织名称": "枫林社区党委"},
    ]
    ests = [
        {"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""},
        {"所在街道": "东湖街道", "所属社区": "青松社区", "小区名称": "青松苑", "小区党组织名称": "青松苑党支部"},
        {"所在街道": "西山街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "枫林小区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "翠苑", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "翠苑一区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "锦绣家园", "小区党组织名称": ""},
    ]
    orgs = [
        {"单位名称": "青湖智联科技有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
         "党组织建立情况": "未建立"},
        {"单位名称": "青湖(杭州)数据服务有限公司", "组织类型": "民办非企业单位", "所在街道": "东湖街道",
         "所在社区": "朝阳社区", "党组织建立情况": "联合组建", "党组织名称": "朝阳社区联合党支部"},
    ]
    return write_lists(tmp_path / "资源清单.xlsx", comms, ests, orgs)


__all__ = ["ROOT", "member", "ESTATE_HEADER"]
