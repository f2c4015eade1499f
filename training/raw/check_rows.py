#!/usr/bin/env python3
"""Quick row checker for corpus writers: python3 check_rows.py FILE.jsonl  (prints problems and counts)."""
import collections, json, sys

CODES = ["recruitment_rewards", "entry_fee", "multi_level_commission", "high_return_promise", "inventory_loading"]
STATUTORY = CODES[:3]
STRATA = {"blatant_pyramid", "disguised_pyramid", "ponzi_investment", "single_indicator", "hard_neg_referral",
          "hard_neg_affiliate", "hard_neg_direct_selling", "hard_neg_membership", "hard_neg_group_buying",
          "hard_neg_news", "hard_neg_news_mechanics", "benign"}
STYLES = {None, "long", "negation", "traditional", "obfuscated", "chat"}
problems = 0
c = collections.Counter()
seen = set()
for path in sys.argv[1:]:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            r = json.loads(line)
        except Exception as e:
            print(where, "bad json", e); problems += 1; continue
        errs = []
        for k in ("lang", "text", "risk", "labels", "stratum", "source", "note"):
            if k not in r:
                errs.append(f"missing {k}")
        if errs:
            print(where, errs); problems += 1; continue
        if r["lang"] not in ("zh", "en", "mixed"): errs.append("lang")
        if set(r["labels"]) != set(CODES) or any(v not in (0, 1) for v in r["labels"].values()): errs.append("labels")
        if r["risk"] not in (0, 1): errs.append("risk")
        if r["stratum"] not in STRATA: errs.append("stratum " + str(r["stratum"]))
        if r.get("style") not in STYLES: errs.append("style " + str(r.get("style")))
        L = r["labels"]
        if not errs:
            stat = any(L[k] for k in STATUTORY)
            if stat and r["risk"] != 1: errs.append("statutory label set but risk 0")
            if not stat and not L["high_return_promise"] and r["risk"] != 0: errs.append("risk 1 without statutory/HRP label")
            if r["stratum"].startswith("hard_neg") and r["risk"] != 0: errs.append("hard_neg with risk 1")
            if r["stratum"] == "single_indicator" and sum(L.values()) != 1: errs.append("single_indicator needs exactly one label")
            if r["stratum"] in ("blatant_pyramid", "disguised_pyramid", "ponzi_investment") and r["risk"] != 1: errs.append("positive stratum with risk 0")
        if r["text"].strip() in seen: errs.append("duplicate text")
        seen.add(r["text"].strip())
        if errs:
            print(where, errs); problems += 1; continue
        c["rows"] += 1; c["lang:" + r["lang"]] += 1; c["risk:" + str(r["risk"])] += 1; c["stratum:" + r["stratum"]] += 1
        c["style:" + str(r.get("style"))] += 1
        for k in CODES:
            c["pos:" + k] += L[k]
for k in sorted(c):
    print(f"{k}\t{c[k]}")
print("problems", problems)
