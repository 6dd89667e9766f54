"""Choose the SaudiNewsNet articles annotated as real news (issue: real news in the training data).

Run once, where ../shared is; the ids it prints stay outside the project. Standard library only:

    python annotations/tools/select_news.py ../shared/corpus/saudinewsnet.jsonl.gz > runs/news_selection.json

Two thirds conflict news (Syria, Iraq, Yemen, Libya: battles, control, casualties, alliances), one third
general political and world news with named people. Articles of 250-550 words, one per story (a title or
an opening that shares most of its words with one already chosen is skipped), none of the ids reserved
for an external check (held here as digests). The held-out split `test_news` is drawn from the chosen ids by a fixed seed,
and the real articles of `dev` after it, here, before any model is trained on them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import sys

RESERVED_SHA256 = {  # ids reserved for an external check, as digests: none of them may appear in annotations/
    "0eefc65ef6fa5a37", "27229a3dc2ec5cc3", "29ca449a9e6a4eef",
    "572c175728f14914", "6ed6e1e80dbe07fc", "a9e9746f26e14886",
    "b270b6d863b9c06c", "c55f47e6393f78fb", "caa3299b7096ad84",
    "f3eef7bb13008543",
}
PLACES = r"سوري|حلب|إدلب|ادلب|درعا|حمص|حماة|دمشق|الرقة|دير الزور|العراق|الموصل|الأنبار|الرمادي|الفلوجة|تكريت|" \
         r"اليمن|الحوثي|عدن|تعز|صنعاء|مأرب|ليبيا|بنغازي|طرابلس|سرت|درنة"
VIOLENCE = r"قتل|مقتل|قتلى|جرحى|قصف|غارات|غارة|اشتباكات|معارك|سيطر|هجوم|استعاد|حصار|مسلحي|داعش|المعارضة|الفصائل|ميليشيا"
GENERAL = r"الرئيس|وزير|رئيس الوزراء|المتحدث|السفير|الأمين العام|البرلمان|الحكومة|المستشارة|الانتخابات"
NOT_NEWS = {"aleqtisadiya", "arreyadi", "arriyadiyah"}  # economy and sports papers
N_CONFLICT, N_GENERAL, N_TEST, N_DEV, SEED = 88, 44, 34, 12, 20261204


def words(text: str) -> list[str]:
    return text.split()


def main(path: str) -> None:
    conflict, general = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if hashlib.sha256(r["id"].encode()).hexdigest()[:16] in RESERVED_SHA256 or r["source"] in NOT_NEWS:
                continue
            text = r["title"].strip() + "\n" + r["content"].strip()
            n = len(words(text))
            if not 250 <= n <= 550:
                continue
            places = len(re.findall(PLACES, text))
            violence = len(re.findall(VIOLENCE, text))
            people = len(re.findall(GENERAL, text))
            if places >= 4 and violence >= 6:
                conflict.append((violence + places, r["id"], text))
            elif places <= 1 and violence <= 1 and people >= 5:
                general.append((people, r["id"], text))
    rng = random.Random(SEED)
    chosen: list[tuple[str, str]] = []
    seen: list[set[str]] = []
    for pool, k, kind in ((conflict, N_CONFLICT, "conflict"), (general, N_GENERAL, "general")):
        rng.shuffle(pool)
        taken = 0
        for _, doc_id, text in pool:
            opening = set(words(text)[:40])
            if any(len(opening & s) > 20 for s in seen):
                continue
            seen.append(opening)
            chosen.append((doc_id, kind))
            taken += 1
            if taken == k:
                break
    ids = [doc_id for doc_id, _ in chosen]
    test = set(rng.sample(ids, N_TEST))
    dev = set(rng.sample([i for i in ids if i not in test], N_DEV))
    split = {i: "test_news" if i in test else "dev" if i in dev else "train" for i in ids}
    json.dump({"seed": SEED, "documents": [{"id": i, "kind": k, "split": split[i]} for i, k in chosen]},
              sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
