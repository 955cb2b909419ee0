"""The header rows of pbtool's own workbooks: what the writers put in row one and what the import
recognizes to refuse a workbook pbtool wrote itself (notdata.own_output). Data only, no imports, so
that checking a file for them costs nothing (importing the writers pulled in the coverage stage and
SQLAlchemy before the file was even parsed)."""

# the problem list (问题清单), outputs/problems_xlsx.py
SUMMARY_HEADER = ["文件", "工作表", "行号", "列", "问题代码", "严重程度", "原值", "问题及处理办法"]

# the rectification ledger (整改台账), outputs/ledger_xlsx.py
PLACE_HEADER = ["序号", "对象类别", "对象", "社区", "问题", "规则代码", "正式党员", "预备党员", "党员合计",
                "其中有问题记录", "状态", "持续季度数", "整改建议", "责任人", "整改措施", "整改时限"]
RATE_HEADER = ["范围", "街道", "社区", "组织类型", "组织总数", "党组织覆盖数", "党组织覆盖率", "较上期", "工作覆盖数",
               "工作覆盖率", "较上期"]
DISTRICT_HEADER = ["区", "两新组织", "党组织覆盖率", "较上期", "工作覆盖率", "较上期", "小区总数", "小区党组织覆盖率",
                   "较上期", "空白点（处）", "已整改（处）"]
COUNT_HEADER = ["街道", "空白点（处）", "问题（个）", "新增（处）", "持续（处）", "问题变化（处）", "已整改（处）"]
