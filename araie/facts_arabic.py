"""The Arabic rules of `araie facts`: entity keys, names, dates and casualty counts from mention text.

Keys decide what merges, so they fold exactly the variation that Arabic spelling allows for one name
and nothing more:

- tashkeel, tatweel, Quranic marks and bidi controls are dropped, presentation forms unfolded and
  Arabic-Indic digits made ASCII (the model's own normaliser, `araie.hf.text_araie.normalize`);
- hamza and madda on alef are dropped (`أ إ آ ٱ` -> `ا`): writers omit them freely (`إدلب`, `ادلب`);
- taa marbuta and haa are one letter (`ة` -> `ه`), as are alef maqsura and yaa (`ى` -> `ي`): both pairs
  are confused in print and online copy;
- a word-final `يا` is `يه` (`سوريا` = `سورية`, `روسيا` = `روسية`): the two spellings of one country;
- `عبد` joins the name after it (`عبد الرحمن` = `عبدالرحمن`), written either way;
- a proclitic glued to the article is cut (`بالجيش` -> `الجيش`), and the article that `لل` swallowed is
  restored (`للحكومة`: the span is `لحكومة` by the guidelines, the name is `الحكومة`).

Nothing else merges here: `النظام`, `قوات النظام` and `الجيش السوري` are three keys (which short forms
join which full names inside one document is decided in `araie.facts`, where the text is).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from araie.hf.text_araie import NormalizeConfig, clitic_split_point, is_arabic_letter, normalize

_PLAIN = NormalizeConfig(split_clitics=False, space_punct=False, space_scripts=False)
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_EDGE = "«»\"'“”‘’()[]{}<>،,.:;؛!؟?-–—/ "
_BARE_CLITICS = ("وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك")
# City and town designators: `مدينة حلب` is `حلب` (folded spelling: ة is ه)
_DESIGNATORS = ("مدينه ", "بلده ")
_ABD = re.compile(r"(?<![\u0621-\u064A])عبد (?=ال)")


@lru_cache(maxsize=65536)  # bounded: names repeat across a corpus, and memory must not grow with it
def plain(text: str) -> str:
    """Text without marks, tatweel or controls, digits ASCII, one space between words, no edge punctuation."""
    return " ".join(normalize(text, _PLAIN).text.split()).strip(_EDGE)


def fold(name: str) -> str:
    """The spelling-blind form of a plain name (hamza, taa marbuta, alef maqsura, `يا`/`ية`, Latin case).

    Example:
        >>> fold("إدلب"), fold("سوريا"), fold("السورية"), fold("مصطفى")
        ('ادلب', 'سوريه', 'السوريه', 'مصطفي')
    """
    words = name.translate(_FOLD).lower().split()
    folded = " ".join(w[:-1] + "ه" if len(w) >= 4 and w.endswith("يا") else w for w in words)
    return _ABD.sub("عبد", folded)


def after_clitic_lam(before: str) -> bool:
    """Whether `before` (the text just before a span) ends with a word-initial `ل`, `ول` or `فل` proclitic."""
    if not before.endswith("ل"):
        return False
    rest = before[:-1]
    if rest[-1:] in ("و", "ف"):
        rest = rest[:-1]
    return not rest or not is_arabic_letter(rest[-1])


@lru_cache(maxsize=65536)
def surface_name(text: str, before: str = "", restore_article: bool = True) -> str:
    """The name a mention stands for, as an analyst reads it (hamzas kept, proclitics gone).

    `before` is the raw text just before the span: after a proclitic `ل` a span `لحكومة` is what
    remains of `ل + الحكومة` and its article comes back, unless `restore_article` is False (the
    rarer `ل + لبنان`, which `araie.facts` chooses when the document supports it).

    Example:
        >>> surface_name("لحكومة", before=" ل"), surface_name("بالجيش السوري"), surface_name("حَلـَب")
        ('الحكومة', 'الجيش السوري', 'حلب')
    """
    name = plain(text)
    first, _, rest = name.partition(" ")
    cut = clitic_split_point(first)
    lam = after_clitic_lam(before)
    if cut:
        lam = first[:cut].endswith("ل")
        first = first[cut:]
    if restore_article and lam and first.startswith("ل") and not first.startswith("ال"):
        first = "ا" + first
    return f"{first} {rest}" if rest else first


def bare_clitic_names(name: str) -> list[str]:
    """The name without a bare proclitic (`وحلب` -> `حلب`), longest stack first, for the document to confirm."""
    return [name[len(c):] for c in _BARE_CLITICS if name.startswith(c) and len(name.split()[0]) - len(c) >= 3]


@lru_cache(maxsize=65536)
def name_key(entity_type: str, name: str) -> str:
    """The stable cross-document key of a name: its type and folded spelling (`GPE:سوريه`)."""
    folded = fold(name)
    if entity_type in ("GPE", "LOC"):
        for d in _DESIGNATORS:
            if folded.startswith(d):
                folded = folded[len(d):]
                break
    return f"{entity_type}:{folded}"


# --- dates ----------------------------------------------------------------------------------------

_MONTHS = {  # folded spellings; Gregorian loanwords (Egypt, the Gulf) and Syriac names (the Levant, Iraq)
    "يناير": 1, "فبراير": 2, "مارس": 3, "ابريل": 4, "مايو": 5, "يونيو": 6, "يونيه": 6, "يوليو": 7, "يوليه": 7,
    "اغسطس": 8, "سبتمبر": 9, "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "اذار": 3, "نيسان": 4, "ايار": 5, "حزيران": 6, "تموز": 7, "اب": 8,
    "ايلول": 9, "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الاول": 12,
}
_WEEKDAYS = {"الاثنين": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخميس": 3, "الجمعه": 4, "السبت": 5, "الاحد": 6}
_L, _R = r"(?<![\u0621-\u064A])", r"(?![\u0621-\u064A])"
_MONTH_RE = re.compile(_L + "[وب]?(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + ")" + _R)
_WEEKDAY_RE = re.compile(_L + "(?:يوم )?(" + "|".join(_WEEKDAYS) + ")" + _R)
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_DAY_RE = re.compile(r"(?<!\d)([0-3]?\d)(?!\d)")
_RELATIVE = {"اول امس": -2, "امس": -1, "البارحه": -1, "اليوم": 0, "غدا": 1}


def reference_date(meta: dict) -> dt.date | None:
    """The article's own date from its record (`date`, `published` or `date_extracted`, ISO-prefixed)."""
    for key in ("date", "published", "date_published", "date_extracted"):
        value = meta.get(key)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                continue
    return None


@lru_cache(maxsize=65536)
def resolve_date(text: str, ref: dt.date | None = None) -> str | None:
    """An ISO date (`2015-07-15`, or `2015-07`, `2015`) for a DATE mention, or None where the text does not say.

    Weekdays and `أمس`/`اليوم` count back from `ref`, the article's date (`الثلاثاء الماضي`: the last
    Tuesday on or before it; `المقبل`: the next one after it); a day and month without a year take the
    year of `ref` (the year before when that would put the date more than a month after the article).

    Example:
        >>> resolve_date("15 يوليو 2015"), resolve_date("١٥ تموز/يوليو")
        ('2015-07-15', None)
        >>> resolve_date("يوم الثلاثاء", dt.date(2015, 7, 16)), resolve_date("١٥ تموز", dt.date(2015, 7, 16))
        ('2015-07-14', '2015-07-15')
    """
    s = fold(plain(text))
    month = _MONTH_RE.search(s)
    year = _YEAR_RE.search(s)
    rest = _YEAR_RE.sub(" ", s)
    day = _DAY_RE.search(rest) if month else None
    y = int(year.group(1)) if year else None
    if month:
        m = _MONTHS[month.group(1)]
        if day is None:
            return f"{y:04d}-{m:02d}" if y else None
        if y is None and ref is not None:
            y = ref.year if (dt.date(ref.year, m, 1) - ref).days <= 31 else ref.year - 1
        try:
            return dt.date(y, m, int(day.group(1))).isoformat() if y else None
        except ValueError:
            return None
    if y:
        return f"{y:04d}"
    if ref is None:
        return None
    weekday = _WEEKDAY_RE.search(s)  # before `اليوم`: `اليوم (الاثنين)` names its day
    if weekday:
        wd = _WEEKDAYS[weekday.group(1)]
        if "المقبل" in s or "القادم" in s:
            return (ref + dt.timedelta(days=(wd - ref.weekday()) % 7 or 7)).isoformat()
        return (ref - dt.timedelta(days=(ref.weekday() - wd) % 7)).isoformat()
    for word, delta in _RELATIVE.items():
        if re.search(_L + word + _R, s):
            return (ref + dt.timedelta(days=delta)).isoformat()
    return None


# --- counts ---------------------------------------------------------------------------------------

_UNITS = {"واحد": 1, "واحده": 1, "احد": 1, "احدي": 1, "اثنان": 2, "اثنين": 2, "اثنتان": 2, "اثنتين": 2,
          "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4, "خمس": 5, "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7,
          "سبعه": 7, "ثمان": 8, "ثماني": 8, "ثمانيه": 8, "تسع": 9, "تسعه": 9, "عشر": 10, "عشره": 10}
_TENS = {f"{stem}{end}": 10 * n for n, stem in enumerate(
    ("عشر", "ثلاث", "اربع", "خمس", "ست", "سبع", "ثمان", "تسع"), start=2) for end in ("ون", "ين")}
_HUNDREDS = {"مئه": 100, "مائه": 100, "مئتان": 200, "مئتين": 200, "مائتان": 200, "مائتين": 200}
_THOUSANDS = {"الف": 1000, "الاف": 1000, "الفان": 2000, "الفين": 2000, "مليون": 10**6, "ملايين": 10**6}
_VAGUE = {"عشرات", "العشرات", "مئات", "المئات", "الاف", "الالاف", "ملايين", "بضع", "بضعه", "عده"}
_NUMBER_RE = re.compile(r"\d+(?:[.,٫٬]\d+)*")


@lru_cache(maxsize=65536)
def parse_count(text: str) -> int | None:
    """The number a QUANTITY counts, or None when it is vague (`عشرات`) or says no number.

    Example:
        >>> parse_count("12 مدنياً"), parse_count("ثلاثة جنود"), parse_count("275 ألف شخص"), parse_count("عشرات القتلى")
        (12, 3, 275000, None)
    """
    words = fold(plain(text)).split()
    digits = _NUMBER_RE.search(" ".join(words))
    if digits:
        raw = digits.group(0).replace("٬", ",").replace("٫", ".")
        # `1,200` groups thousands; `3.5` (or `3,5`) is a decimal before `الف`/`مليون`
        value = float(raw.replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+", raw) else float(raw.replace(",", "."))
        after = " ".join(words).split(digits.group(0), 1)[1].split()
        if after and after[0] in _THOUSANDS:
            value *= _THOUSANDS[after[0]]
        return round(value)
    return _count_words(words)


def _count_words(words: list[str]) -> int | None:
    """`خمسة وعشرون` -> 25, `ثلاث مئة` -> 300, `ثلاثة آلاف` -> 3000; None without a number word."""
    total = current = 0
    seen = False
    for word in words:
        if word in _VAGUE and not seen:
            return None
        w = word[1:] if word.startswith("و") and word[1:] in {**_UNITS, **_TENS, **_HUNDREDS} else word
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _HUNDREDS:
            current = max(current, 1) * _HUNDREDS[w] if _HUNDREDS[w] == 100 else current + 200
        elif w in _THOUSANDS:
            total += max(current, 1) * _THOUSANDS[w]
            current = 0
        else:
            continue
        seen = True
    return total + current if seen else None
