"""Cleaning newsroom copy: what wire services and web pages mix into an article's body.

A newsroom's own archive is not a clean test collection. Its bodies start with bylines
("By Sam Whitfield, Education Correspondent") and datelines ("LONDON, Oct 3 (Reuters) -"),
and carry wire credits, advertising and newsletter prompts, "Read more" and "Most read"
lists, social prompts, copyright lines and photo captions between the paragraphs. Left
in, they are indexed as news, turn up as hits and open digests.

`clean_copy` is the one cleaning stage every input format goes through (plain text,
Markdown, HTML, JSON, JSON Lines, CSV; from the CLI, the browser, the API and
`precis digest`): it returns the body without them, the byline's author, the dateline,
the captions, and what it removed. Rules are written to be sure rather than thorough: a
paragraph is removed only when the whole of it is boilerplate, a byline only when it has
the shape of names ("By the time ..." is a sentence), a dateline only when it has a place
in capitals and a date, an agency or a dash that closes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# --- bylines ---------------------------------------------------------------------------

# A name: 1-4 capitalised words (initials, hyphens, apostrophes, particles such as "de").
_NAME_WORD = r"(?:[A-Z][a-zA-Z'’\-]*\.?|Mc[A-Z][a-z]+|O['’][A-Z][a-z]+)"
_PARTICLE = r"(?:de|da|del|van|von|der|le|la|al|bin|ibn)"
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,3}}"
_NAMES = rf"{_NAME}(?:(?:,\s*|\s+)(?:and|&)\s+{_NAME}|,\s+{_NAME}(?=,?\s+(?:and|&)\s)){{0,3}}"
# Words that end a byline's job title ("Education Correspondent", "Staff Writer").
_ROLE_END = (
    r"(?i:correspondents?|reporters?|editors?|writers?|columnist|journalist|producer|"
    r"analyst|contributor|critic|presenter|chief|staff)\b"
)
_ROLE = rf"(?:(?:[A-Z][\w&'’\-]*|[a-z][\w'’\-]*)\s+){{0,5}}{_ROLE_END}"
# Words of a byline in each language Precis stems (a byline must open with one).
BYLINE_WORDS = {
    "english": ("By", "BY", "Written by", "Words by"),
    "french": ("Par", "PAR"),
    "german": ("Von", "VON"),
    "spanish": ("Por", "POR"),
    "italian": ("Di", "DI"),
    "portuguese": ("Por", "POR"),
    "dutch": ("Door", "DOOR"),
}
# Capitalised words that are not names: "By Tuesday ...", "By March ...", "By The Way".
_NOT_NAMES = frozenset(
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
    "May June July August September October November December The A An This That These "
    "Those Then Now Today Tonight Yesterday Tomorrow Noon Midnight Christmas Easter Law "
    "Order Air Sea Road Rail Far Contrast Comparison Way Night Day Dawn Lunchtime By BY Par "
    "Von Por Door Written Words".split()
)
_ROLE_ONLY = re.compile(_ROLE)
_REPORTS = re.compile(rf"^(?P<name>{_NAME}) reports?(?: from [A-Z][\w .'’\-]*)?\.?$")


_NAME_AND_ROLE = re.compile(rf"^(?P<name>{_NAME}),\s*(?P<role>{_ROLE})$")
_BYLINE_WHERE = re.compile(
    r"^(?P<byline>.+?)\s+(?:in|from|for|FOR|IN|FROM)\s+(?P<where>[A-Z][\w.&'’\- ]{1,40})$"
)


def _byline_re(opener: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{re.escape(opener)}:?\s+(?P<name>{_NAMES})(?:\s*[,|–—-]\s*(?P<role>{_ROLE}))?"
        r"(?P<rest>.*)$",
        re.DOTALL,
    )


_BYLINES = {
    language: [_byline_re(word) for word in words] for language, words in BYLINE_WORDS.items()
}


def _byline_patterns(language: str) -> list[re.Pattern[str]]:
    """The byline patterns of `language`, then English's (wire copy mixes them)."""
    own = _BYLINES.get(language, [])
    return own if language == "english" else own + _BYLINES["english"]


# --- datelines -------------------------------------------------------------------------

AGENCIES = (
    "Reuters",
    "AP",
    "AFP",
    "CNN",
    "dpa",
    "DPA",
    "UPI",
    "PA",
    "EFE",
    "ANSA",
    "Xinhua",
    "Kyodo",
    "Bloomberg",
    "Associated Press",
    "Agence France-Presse",
    "Press Association",
    "TASS",
    "IANS",
    "PTI",
)
_AGENCY = "|".join(re.escape(a) for a in sorted(AGENCIES, key=len, reverse=True))
_TRAILING_AGENCY = re.compile(rf"\s(?P<agency>{_AGENCY})$")
_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?|"
    r"(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|"
    r"décembre|Januar|Februar|März|Juni|Juli|Oktober|Dezember|enero|febrero|marzo|abril|"
    r"mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)"
)
_DAY = rf"(?:(?:{_MONTH})\s+\d{{1,2}}|\d{{1,2}}\.?\s+(?:{_MONTH}))(?:,?\s+\d{{4}})?"
# A place in capitals ("LONDON", "NEW YORK", "ST. LOUIS", "RIO DE JANEIRO"), perhaps with
# its state or country in ordinary case ("SPRINGFIELD, Ill.", "KYIV, Ukraine").
_PLACE = r"[A-ZÀ-Þ][A-ZÀ-Þ.'’\-]+(?:\s+(?:DE|DA|DEL|LA|LE|EL|[A-ZÀ-Þ][A-ZÀ-Þ.'’\-]+)){0,3}"
_REGION = r"(?:,\s+[A-Z][a-z]+\.?(?:\s+[A-Z][a-z]+\.?)?)?"
_DASH = r"(?:--|[-–—])"
_DATELINE = re.compile(
    rf"^(?P<dateline>(?P<place>(?P<city>{_PLACE}){_REGION})"
    rf"(?:(?:,\s*|\s+)(?P<day>{_DAY}))?"
    rf"(?:\s*\(\s*(?P<agency>{_AGENCY})\s*\))?)"
    rf"\s*{_DASH}\s+(?P<rest>\S.*)$",
    re.DOTALL,
)
# "Rome (CNN) Italy is ...": a place in any case before an agency in brackets, no dash.
_PLACE_AGENCY = re.compile(
    rf"^(?P<dateline>(?P<place>[A-Z][\w.'’\-]+(?:\s+[A-Z][\w.'’\-]+){{0,2}}{_REGION})"
    rf"\s*\(\s*(?P<agency>{_AGENCY})\s*\))\s*{_DASH}?\s*(?P<rest>\S.*)$",
    re.DOTALL,
)
# "(CNN) --", "( CNN ) --": an agency alone, as CNN and others open their copy.
_AGENCY_ONLY = re.compile(
    rf"^(?P<dateline>\(\s*(?P<agency>{_AGENCY})\s*\))\s*{_DASH}?\s*(?P<rest>\S.*)$", re.DOTALL
)

# --- boilerplate -----------------------------------------------------------------------

# Whole paragraphs that are never news, by language (all of them apply to every article).
_BOILERPLATE = {
    "all": [
        r"advertisement|advertisement\s*[-–—:]?\s*scroll (?:down )?to continue(?: reading)?",
        r"story continues (?:below|after) (?:this )?advertisement",
        # Wire credits: "(Reporting by X; Editing by Y)", "Additional reporting by X".
        r"[-–—]?\s*\((?:additional )?(?:reporting|writing|editing|compiled|research)"
        r"(?: and \w+)? by [^()\n]{2,200}\)",
        r"[-–—]?\s*(?:additional )?(?:reporting|writing|editing)(?: and \w+)? by [^\n;]{2,120};\s*"
        r"(?:editing|writing|additional reporting)(?: and \w+)? by [^\n]{2,120}",
        r"additional reporting by [^\n]{2,100}",
        r"(?:the )?(?:associated press|ap|reuters|afp) (?:writers?|reporters?|correspondents?)"
        r" [^\n]{2,120} contributed(?: to this (?:report|story))?",
        r"sign up (?:for|to) [^\n]{0,80}(?:newsletter|alerts?|updates|e-?mails?|briefing|"
        r"bulletin|digest)[^\n]{0,200}|sign up (?:here|now|today)",
        r"[^\n]{0,60}\?\s*(?:get|sign up for|subscribe to) (?:our|the) [^\n]{0,60}newsletter"
        r"[^\n]{0,120}|after newsletter promotion|support (?:local |independent |our )?"
        r"journalism\b[^\n]{0,160}",
        r"our standards: the thomson reuters trust principles\.?",
        r"this (?:story|article|report) (?:was|is|has been) (?:produced|written|published|"
        r"provided|supplied) (?:by|as part of) [^\n]{1,120}",
        r"this (?:report|story|article) by [^\n]{1,80} was first published[^\n]{0,60}",
        r"contributing:\s*[^\n]{1,160}",
        r"[A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+)? reported from [A-Z][\w ,.'’\-]{1,60}",
        r"subscribe (?:to (?:our|the)|for|now|here|today)\b[^\n]{0,120}",
        r"(?:get|receive) (?:our|the) [^\n]{0,60}newsletter[^\n]{0,80}",
        r"click here to (?:subscribe|sign up|read more|follow|get)[^\n]{0,100}",
        r"read more\s*(?::[^\n]{0,200}|»|>+)?|related(?: articles| stories| content| coverage"
        r"| topics)?\s*(?::[^\n]{0,160})?|most (?:read|popular|viewed|shared)|more on this "
        r"(?:story|topic)|recommended(?: for you)?|you (?:may|might) also like|top stories",
        r"(?:follow|like) us on [^\n]{1,80}|follow @\w+[^\n]{0,80}"
        r"|follow [^\n]{1,60} on (?:facebook|twitter|x|instagram|tiktok|threads|bluesky|"
        r"linkedin|youtube)\b[^\n]{0,60}|e-?mail (?:this )?to a friend|print this (?:article|page)"
        r"|follow (?:\w+['’]s )?(?:live )?(?:coverage|updates) (?:of|on) [^\n]{1,120}"
        r"|share or comment on this (?:article|story)|also read\s*:[^\n]{0,160}"
        r"|share (?:this|the) (?:article|story|page)[^\n]{0,40}|share on (?:facebook|twitter|x)"
        r"|click to share[^\n]{0,60}|join the conversation[^\n]{0,60}",
        r"scroll down for (?:the )?videos?",
        r"(?:©|\(c\))[^\n]{0,200}|copyright\s+(?:©\s*)?\d{4}[^\n]{0,200}",
        r"all rights reserved\.?",
        r"this (?:material|article) may not be (?:published|reproduced|copied)[^\n]{0,200}",
        r"media playback is (?:unsupported|not supported) on your device",
        r"(?:image|media|video) (?:copyright|caption|source)\b[^\n]{0,200}",
        r"(?:watch|listen|video): [^\n]{1,120}",
        r"this (?:story|article) has been updated[^\n]{0,160}",
    ],
    "french": [
        r"publicité",
        r"(?:à )?lire (?:aussi|également|la suite)\s*:?[^\n]{0,160}",
        r"abonnez-vous[^\n]{0,120}|inscrivez-vous[^\n]{0,120}",
        r"partager (?:cet article|sur [^\n]{1,40})",
    ],
    "german": [
        r"anzeige",
        r"lesen sie (?:auch|mehr|hier)\s*:?[^\n]{0,160}|mehr zum thema\s*:?[^\n]{0,160}",
        r"jetzt abonnieren[^\n]{0,120}|newsletter abonnieren[^\n]{0,120}",
    ],
    "spanish": [
        r"publicidad",
        r"(?:lee|lea) (?:también|más)\s*:?[^\n]{0,160}|suscríbete[^\n]{0,120}",
    ],
}
_BOILERPLATE_RES = {
    language: re.compile(r"^\s*(?:" + "|".join(patterns) + r")\s*[.!)\]]*\s*$", re.IGNORECASE)
    for language, patterns in _BOILERPLATE.items()
}
# Headings of link lists: the short title-like lines after them are links, not news.
_LIST_HEADING = re.compile(
    r"^\s*(?:read more|related(?: articles| stories| content| coverage| topics)?|most (?:read|"
    r"popular|viewed|shared)|more on this (?:story|topic)|recommended(?: for you)?|you (?:may|"
    r"might) also like|top stories|lire aussi|à lire aussi|mehr zum thema|"
    r"lesen sie auch|lee también)\s*:?\s*$",
    re.IGNORECASE,
)
_LINK_LINE_MAX_WORDS = 16
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")

# --- captions --------------------------------------------------------------------------

# A photo caption ends with a credit in square brackets: "... said the chief [Getty]".
_CREDIT = re.compile(
    r"(?:\[[^\[\]]{1,60}\]|\((?:[\w.]+ )?(?:photo|image|picture|photograph)s?\b[^()]{0,60}\)"
    r"|(?:photograph|photo|picture|image|credit)s?\s*:\s*[^:.!?]{1,60})\.?$",
    re.IGNORECASE,
)
# "Pictured: ...", "Above: ...", "Photograph: ..." - a label and a colon.
_CAPTION_LABEL = re.compile(
    r"^(?:pictured|picture|photo|photograph|image|above|below|left|right|top|inset|main "
    r"picture|main image|file photo|caption)\s*:\s*\S",
    re.IGNORECASE,
)
# "(pictured)", "(left)", "(centre)": a tabloid caption points at the picture.
_POINTING = re.compile(
    r"\((?:pictured|pictured [^()]{1,40}|left|right|centre|center|above|below|top|inset|"
    r"file photo)\)",
    re.IGNORECASE,
)
# "Reunited: Jenny Trelawny with Bramble at home in Bude": a tabloid's label of one or two
# words, a colon and a caption of seven words or more. Lists and results ("Replacements:
# Servat (Toulouse), ...", "Result: Nadal 6-7 (6/8) ...") and short lines ("GoldenEye: Rogue
# Agent is out now") are news, as are sentences that report speech.
_LABELLED = re.compile(
    r"^(?!.*\b(?:said|says|told|tells|added|adds|wrote|writes|asked|asks)\b)"
    r"(?!.*\(\d)(?!(?:[^(]*\(){3})"
    r"[A-Z][\w'’\-]*(?: [\w'’\-]+)?:\s+[A-Z][^:]*(?:\s+\S+){6,}$"
)
_CAPTION_MAX_WORDS = 45


@dataclass
class Cleaned:
    """An article body after cleaning, and what cleaning took out of it."""

    paragraphs: list[str]
    captions: list[str] = field(default_factory=list)
    author: str = ""
    author_role: str = ""
    dateline: str = ""  # as written, without its dash: "LONDON, Oct 3 (Reuters)"
    removed: list[str] = field(default_factory=list)  # paragraphs and prefixes taken out


def clean_copy(paragraphs: list[str], *, language: str = "english") -> Cleaned:
    """Return `paragraphs` (already normalised, one string each) without bylines,
    datelines, boilerplate and captions; the byline's author and the dateline come back
    as fields, captions as captions, and everything taken out is listed in `removed`."""
    cleaned = Cleaned([])
    body: list[str] = []
    in_list = False
    for paragraph in paragraphs:
        if not paragraph:
            continue
        if _LIST_HEADING.match(paragraph):
            in_list = True
            cleaned.removed.append(paragraph)
            continue
        if in_list and _is_link_line(paragraph):
            cleaned.removed.append(paragraph)
            continue
        in_list = False
        paragraph = _without_inline_prompts(paragraph, cleaned)
        if not paragraph:
            continue
        if is_boilerplate(paragraph):
            cleaned.removed.append(paragraph)
        elif is_caption(paragraph):
            cleaned.removed.append(paragraph)
            cleaned.captions.append(paragraph)
        else:
            body.append(paragraph)
    cleaned.paragraphs = _take_byline_and_dateline(body, language, cleaned)
    return cleaned


# Prompts that copy flattened into one paragraph carries mid-text ("... in the shanty town.
# Scroll down for video An outfit worn ..."): never news wherever they stand.
_INLINE_PROMPT = re.compile(
    r"(?:^|(?<=[.!?'\"”’)\]]\s))Scroll down for (?:the )?(?:videos?|more)\b\s*"
)


def _without_inline_prompts(paragraph: str, cleaned: Cleaned) -> str:
    """`paragraph` without the prompts it carries between sentences (kept in `removed`)."""
    if "Scroll down" not in paragraph:
        return paragraph
    found = _INLINE_PROMPT.findall(paragraph)
    if not found or _INLINE_PROMPT.fullmatch(paragraph.strip() + " "):
        return paragraph  # a paragraph that is only the prompt goes as boilerplate
    cleaned.removed.extend(prompt.strip() for prompt in found)
    return _INLINE_PROMPT.sub("", paragraph).strip()


def is_boilerplate(paragraph: str) -> bool:
    """Tell whether a whole paragraph is boilerplate (an advertisement marker, a wire
    credit, a newsletter or social prompt, a "Read more" line, a copyright line)."""
    if len(paragraph) > 400:
        return False
    # Every language's patterns apply: "Anzeige" or "Publicité" alone is never news.
    return any(pattern.match(paragraph) for pattern in _BOILERPLATE_RES.values())


def is_caption(paragraph: str) -> bool:
    """Tell whether a paragraph is a photo caption: a short line ending in a credit like
    [Getty], opening with a label ("Pictured: ..."), or pointing at the picture
    ("(pictured)") or labelled ("Flooded out: Residents ...") without a full stop."""
    words = len(paragraph.split())
    if words > _CAPTION_MAX_WORDS:
        return False
    if _CREDIT.search(paragraph) or _CAPTION_LABEL.match(paragraph):
        return True
    unfinished = not _SENTENCE_END.search(paragraph)
    if unfinished and _POINTING.search(paragraph):
        return True
    return unfinished and words >= 4 and bool(_LABELLED.match(paragraph))


def _is_link_line(paragraph: str) -> bool:
    """A line of a link list: short, title-like, without a full stop."""
    return len(paragraph.split()) <= _LINK_LINE_MAX_WORDS and not _SENTENCE_END.search(paragraph)


def _take_byline_and_dateline(body: list[str], language: str, cleaned: Cleaned) -> list[str]:
    """Take a byline (its own paragraph, or the start of the first) and then a dateline
    off the start of the body, into `cleaned`."""
    body = list(body)
    # A byline paragraph of its own, within the first three paragraphs.
    for position, paragraph in enumerate(body[:3]):
        byline = parse_byline(paragraph, language, alone=True)
        if byline:
            cleaned.author, cleaned.author_role = byline
            cleaned.removed.append(paragraph)
            del body[position]
            break
    if not body:
        return body
    first = body[0]
    if not cleaned.author:
        glued = _glued_byline(first, language)
        if glued:
            (cleaned.author, cleaned.author_role), prefix, first = glued
            cleaned.removed.append(prefix)
    dated = parse_dateline(first)
    if dated:
        cleaned.dateline, rest = dated
        prefix = first[: len(first) - len(rest)].strip()
        if cleaned.removed and cleaned.removed[-1] and body[0].startswith(cleaned.removed[-1]):
            cleaned.removed[-1] = body[0][: len(body[0]) - len(rest)].strip()
        else:
            cleaned.removed.append(prefix)
        first = rest
    if first:
        body[0] = first
    else:
        del body[0]
    return body


def clean_author(author: str) -> str:
    """Return an author field as names only: "By " dropped and job titles left out
    ("Sam Whitfield; Education Correspondent" -> "Sam Whitfield")."""
    author = re.sub(r"^(?:by|par|von|por|door)\s+", "", author.strip(), flags=re.IGNORECASE)
    parts = [part.strip() for part in re.split(r"\s*[;|]\s*", author) if part.strip()]
    if len(parts) < 2:  # "Ann Writer" is a name: only a part beside names is a job title
        return parts[0] if parts else ""
    names = [part for part in parts if not _ROLE_ONLY.fullmatch(part)] or parts[:1]
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if names else ""


def parse_byline(text: str, language: str = "english", *, alone: bool) -> tuple[str, str] | None:
    """Return (author, role) if `text` is a byline ("By Jane Doe and John Roe",
    "By Sam Whitfield, Education Correspondent", "Jane Doe reports"), else None.

    With `alone`, the whole text must be the byline; otherwise see `_glued_byline`."""
    text = text.strip()
    if alone:
        reports = _REPORTS.match(text)
        if reports and _is_names(reports.group("name")):
            return reports.group("name"), ""
        # "Duncan Reid, Highlands and Islands reporter": names and a job title, no "By".
        titled = _NAME_AND_ROLE.match(text)
        if titled and _is_names(titled.group("name")):
            return titled.group("name"), titled.group("role")
        # "By Anna Kowalski in Warsaw", "By JACK MORLEY FOR CLARION ONLINE".
        where = _BYLINE_WHERE.match(text)
        if where:
            found = parse_byline(where.group("byline"), language, alone=True)
            if found:
                return found[0], found[1] or where.group("where")
    for pattern in _byline_patterns(language):
        found = pattern.match(text)
        if not found or not _is_names(found.group("name")):
            continue
        rest = found.group("rest").strip(" ,|")
        if alone and rest:
            continue
        name, role = found.group("name").strip(), (found.group("role") or "").strip()
        # "By DARNELL HUTCHINS Associated Press": the agency is the names' last words.
        agency = _TRAILING_AGENCY.search(name)
        if agency and agency.start() > 0:
            name, role = name[: agency.start()].strip(), role or agency.group("agency")
        return name, role
    return None


def _glued_byline(paragraph: str, language: str) -> tuple[tuple[str, str], str, str] | None:
    """A byline glued to the first paragraph: "By Tom Briggs, Business Reporter PORTSMOUTH,
    4 March - The council ...". It needs a job title or a dateline after the names to
    tell where the names end; returns ((author, role), the prefix, the rest)."""
    for pattern in _byline_patterns(language):
        found = pattern.match(paragraph)
        if not found or not _is_names(found.group("name")):
            continue
        rest = found.group("rest")
        if found.group("role") and rest[:1].isspace() and rest.strip():
            prefix = paragraph[: len(paragraph) - len(rest)].strip()
            return (found.group("name").strip(), found.group("role").strip()), prefix, rest.strip()
        # No job title: the names must run straight into a dateline.
        name_words = found.group("name").split()
        for cut in range(len(name_words) - 1, 0, -1):
            names = " ".join(name_words[:cut])
            tail = " ".join(name_words[cut:]) + rest
            if parse_dateline(tail) and _is_names(names):
                prefix = paragraph[: len(paragraph) - len(tail)].strip()
                return (names, ""), prefix, tail.strip()
    return None


def _is_names(names: str) -> bool:
    words = re.findall(r"[\w'’\-]+", names)
    if not words or words[0] in _NOT_NAMES:
        return False
    return not any(word in _NOT_NAMES for word in words if word not in ("and",))


def parse_dateline(text: str) -> tuple[str, str] | None:
    """Return (dateline, rest) if `text` opens with a dateline ("LONDON, Oct 3 (Reuters) -",
    "PORTSMOUTH, 4 March -", "WASHINGTON (AP) —", "( CNN ) --"), else None.

    A place in capitals with only a dash after it counts when the place is a word of
    three letters or more; the rest must go on with a capital letter, a digit or a quote."""
    for pattern in (_AGENCY_ONLY, _DATELINE, _PLACE_AGENCY):
        found = pattern.match(text)
        if not found:
            continue
        rest = found.group("rest")
        if not re.match(r"[\"'“‘(\d\w]", rest) or not rest[:1].upper() == rest[:1]:
            continue
        if pattern is _DATELINE and not (found.group("day") or found.group("agency")):
            place = found.group("city")
            if len(place.replace(" ", "")) < 3 or not place.isupper():
                continue
        dateline = " ".join(found.group("dateline").split())
        dateline = re.sub(r"\(\s*(.*?)\s*\)", r"(\1)", dateline)  # "( CNN )" -> "(CNN)"
        return dateline, rest.strip()
    return None


def dateline_parts(dateline: str) -> tuple[str, str]:
    """Return (place, agency) of a dateline as written ("LONDON, Oct 3 (Reuters)")."""
    for pattern in (_AGENCY_ONLY, _DATELINE, _PLACE_AGENCY):
        found = pattern.match(dateline + " - X")
        if found:
            place = found.groupdict().get("place") or ""
            return place.strip(), (found.group("agency") or "").strip()
    return "", ""
