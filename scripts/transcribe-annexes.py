#!/usr/bin/env python3
"""Prints the [catalogue] section of the pipeline file, transcribed from the notice's annexes.

usage: scripts/transcribe-annexes.py ../shared/notice-2024.txt > /tmp/catalogue.toml
"""
import json, re, sys

t = open(sys.argv[1], encoding="utf-8").read()
a1 = t[t.index("附件1\n"):t.index("附件2\n")]
a2 = t[t.index("附件2\n"):t.index("附件3\n")]
a3 = t[t.index("附件3\n"):t.index("附件4\n")]

L = [l.strip() for l in a1.split("\n")]
events = []
for i, l in enumerate(L):
    if re.fullmatch(r"\d+", l):
        j = i + 1
        while L[j] == "":
            j += 1
        events.append(L[j])

cells = [l[1:].strip() for l in a2.split("\n") if l.startswith("\t")][3:]
assert len(cells) % 3 == 0
items, cur = [], None
for k in range(0, len(cells), 3):
    no, cat, occ = cells[k:k + 3]
    if cat:
        m = re.fullmatch(r"(.+?)（(\d)－(\d\d)－(\d\d)）", cat)
        cur = (m.group(1), f"{m.group(2)}-{m.group(3)}-{m.group(4)}")
    nog = "（无国标）" in occ
    items.append((int(no), cur[0], cur[1], occ.replace("（无国标）", ""), nog))

cells = [l[1:].strip() for l in a3.split("\n") if l.startswith("\t")][2:]
digital = [cells[k + 1] for k in range(0, len(cells), 2)]
assert (len(events), len(items), len(digital)) == (31, 165, 49)

j = lambda s: json.dumps(s, ensure_ascii=False)
out = ["# Annex catalogues of 渝高技办〔2024〕1号, transcribed completely from the notice.",
       "# Generated from ../shared/notice-2024.txt by scripts/transcribe-annexes.py; do not edit by hand.", "",
       "[catalogue]", "# 附件1 2024年“巴渝工匠”杯职业技能竞赛建议赛事（市级行业赛）", "events = ["]
out += [f"  {j(e)}," for e in events]
out += ["]", "", "# 附件3 数字技能类建议赛项 (the notice lists 档案数字化管理师 twice: nos. 1 and 37)", "digital_items = ["]
out += [f"  {j(e)}," for e in digital]
out += ["]", "", "# 附件2 2024年“巴渝工匠”杯职业技能竞赛建议赛项: no, category, category code, occupation, 无国标"]
for no, cat, code, occ, nog in items:
    out += ["[[catalogue.items]]", f"no = {no}", f"category = {j(cat)}", f'code = "{code}"',
            f"occupation = {j(occ)}", f"no_national_standard = {'true' if nog else 'false'}", ""]
print("\n".join(out))
