"""Web-like English text for benchmark and sample OWT mirrors.

Speed figures only mean something on text with OpenWebText's statistics: ~4.4 bytes per GPT-2
token and a vocabulary that keeps growing with size (a small one flatters the reference
tokenizer's per-word cache). The English is real, harvested offline from this machine's Python:
docstrings (`ast`) and comments of the standard library and of a bounded sample of the installed
packages, `pydoc_data.topics` and the packages' METADATA descriptions, filtered down to prose.
Documents sample those sentences into paragraphs (seeded) and inject web text's long tail: people,
places, organisations, brands, ad-hoc compounds, numbers, prices, dates, phone numbers, codes,
URLs, e-mail addresses, @handles, hashtags, typos; titles, bylines, footers; and a little
non-ASCII (accented names, curly quotes, em-dashes, a few emoji).
"""

from __future__ import annotations

import ast
import functools
import os
import random
import re
import sysconfig
import zoneinfo
from collections import Counter
from pathlib import Path
from typing import Iterable

_SKIP_DIRS = {"test", "tests", "testing", "idle_test", "lib2to3", "site-packages", "turtledemo",
              "_vendor", "vendor", "vendored", "__pycache__"}
_PURELIB_BYTES_PER_PACKAGE = 100_000  # bounds the harvest of the installed packages (~1 s)
_MIN_DOCSTRING_QUOTES_PER_KB = 1.0    # don't parse files that are nearly all code
_CONTINENTS = {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}

_COMMENT_BLOCK = re.compile(r"(?:^[ \t]*#[ \t]?.*\n)+", re.M)
_COMMENT_MARK = re.compile(r"^[ \t]*#[ \t]?", re.M)
_MARKUP = re.compile(r":[\w:.-]+:`~?([^`<]*?)(?:\s*<[^`]*>)?`|``([^`]+)``|`([^`]+)`_*"
                     r"|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|!?\[([^\]]+)\]\([^)]*\)")
_NOT_PROSE_LINE = re.compile(r"\s*(?:>>>|\.\.\s|[-=~*^+#`]{3,}|[-*+]\s|\d+\.\s|:\w+|\|)")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)"
                           r"(?<!\bMr\.)(?<!\bDr\.)(?<!\bNo\.)\s+(?=[\"'(]?[A-Z])")
_SENTENCE_SHAPE = re.compile(r"[\"'(]?[A-Z][^\n]{20,300}[a-z0-9)\"'][.!?][\"')]?")
_CODE_LIKE = re.compile(
    r">>>|==|->|[{}\[\]<>|\\_=#@$%^~`*]|::|\(\)|\w\w\.\w\w|[a-z][A-Z]|https?:|[A-Za-z]\d|&\w+;"
    r"|(?<![A-Za-z])/|/(?![A-Za-z])|\.\.\.|'[^' ]+'|\b(?:TODO|XXX|FIXME|self|None|True|False)\b"
    r"|\b(?:Args|Arguments|Returns|Raises|Yields|Parameters|Attributes|Examples?|Notes?|Usage"
    r"|Internal|Warning):")
_AFTER_ARTICLE = re.compile(r"\b(?:the|a|an|this|each|every|any|new) ([a-z]{4,12})\b")
_LOWER_WORD = re.compile(r"\b[a-z]{4,12}\b(?!')")


def _python_files(root: str) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith("-info"))
        found += [Path(folder, n) for n in sorted(names) if n.endswith(".py")]
    return found


def _docstrings_and_comments(source: str) -> list[str]:
    """Docstrings of the module, classes and functions (`ast`), and full-line comment blocks."""
    texts, quotes = [], source.count('"""') + source.count("'''")
    if quotes * 1000 >= _MIN_DOCSTRING_QUOTES_PER_KB * len(source):
        try:
            nodes: list = [ast.parse(source)]
        except (SyntaxError, ValueError):
            nodes = []
        while nodes:
            node = nodes.pop()
            texts.append(ast.get_docstring(node) or "")
            nodes += [n for n in node.body
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    # Comments by line pattern, not `tokenize` (40x slower): a "#" line inside a string is rare
    # and the prose filter drops it anyway.
    return texts + [_COMMENT_MARK.sub("", m[0]) for m in _COMMENT_BLOCK.finditer(source)]


def _harvest_texts() -> list[str]:
    paths = sysconfig.get_paths()
    texts = []
    for path in _python_files(paths["stdlib"]):
        texts += _docstrings_and_comments(path.read_text(errors="replace"))
    per_package: Counter[str] = Counter()
    for path in _python_files(paths["purelib"]):
        package, size = path.relative_to(paths["purelib"]).parts[0], path.stat().st_size
        if per_package[package] + size <= _PURELIB_BYTES_PER_PACKAGE:
            per_package[package] += size
            texts += _docstrings_and_comments(path.read_text(errors="replace"))
    import pydoc_data.topics
    texts += [pydoc_data.topics.topics[key] for key in sorted(pydoc_data.topics.topics)]
    for metadata in sorted(Path(paths["purelib"]).glob("*.dist-info/METADATA")):
        body = metadata.read_text(errors="replace").partition("\n\n")[2]
        texts.append(re.sub(r"```.*?```", "\n\n", body, flags=re.S))  # without fenced code
    return texts


def _prose_sentences(text: str) -> Iterable[str]:
    """Sentences from the prose paragraphs of a docstring, comment, reST or Markdown text."""
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.split("\n")
        if block[:1] in " \t" or any(_NOT_PROSE_LINE.match(line) for line in lines):
            continue  # code block, doctest, directive, heading rule, list, table or field list
        paragraph = _MARKUP.sub(lambda m: next(g for g in m.groups() if g is not None),
                                " ".join(line.strip() for line in lines))
        for sentence in _SENTENCE_END.split(paragraph):
            letters = sum(map(str.isalpha, sentence)) + sentence.count(" ")
            if (_SENTENCE_SHAPE.fullmatch(sentence) and not _CODE_LIKE.search(sentence)
                    and sentence.count(" ") >= 4 and letters >= 0.92 * len(sentence)):
                yield " ".join(sentence.split())


@functools.lru_cache(maxsize=1)
def harvest() -> dict[str, list[str]]:
    """The sentence pool (deduplicated, in harvest order) and word lists; cached per process."""
    sentences = list(dict.fromkeys(s for text in _harvest_texts() for s in _prose_sentences(text)))
    # Nouns and adjectives, roughly: the words that follow an article, most common first.
    nouns = Counter(w for s in sentences for w in _AFTER_ARTICLE.findall(s))
    words = Counter(w for s in sentences for w in _LOWER_WORD.findall(s))
    cities = {zone.rsplit("/", 1)[1].replace("_", " ") for zone in zoneinfo.available_timezones()
              if zone.split("/")[0] in _CONTINENTS and not zone.rsplit("/", 1)[1].isupper()}
    return {"sentences": sentences, "cities": sorted(cities) or ["Springfield"],
            "nouns": [w for w, n in nouns.most_common() if n >= 2],
            "words": sorted(w for w, n in words.items() if n >= 2)}


_FIRST_NAMES = ("James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth Susan "
                "Joseph Jessica Thomas Sarah Daniel Karen Mark Emily Kevin Laura Eric Olivia Noah "
                "Emma Wei Mei Hiroshi Yuki Raj Priya Ahmed Fatima Carlos Maria Ivan Olga Pierre "
                "Claire Hans Anna Kwame Amara Tom Kate Ben Grace").split()
_ACCENTED_FIRST_NAMES = "José Zoë Chloé Renée Björn Søren Jürgen François Hélène Łukasz".split()
_COMMON_SURNAMES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Wilson "
                    "Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Walker "
                    "Young King Wright Scott Green Baker Hill Campbell Carter Evans Turner Parker "
                    "Murphy Cook Kelly Chen Wang Zhang Singh Kumar Patel Khan Ali Kim Park Nguyen "
                    "Tanaka Müller Schmidt Rossi Dubois Silva Santos Ivanov Kowalski Nowak "
                    "O'Brien").split()
# Rare surnames: one or two made-up syllables and a common ending ("Brailson", "Kedomarski").
_ONSETS = "b c d f g h k l m n p r s t v w z br ch cr dr gr kr pr sh st tr".split()
_VOWELS = "a e i o u a e o ai ou".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "m", "t", "k"]
_SURNAME_ENDINGS = ("son ton ley man berg ski ez ov ova ini ard well ford stein er ell ich sen "
                    "ing ter ner by ham wood ey ick ola ada elli kin").split()
_ORG_KINDS = ("Group Labs Inc Corp LLC Partners Foundation Institute Capital Media Health "
              "Systems Motors Energy Bank Records Press News Games Studios Council").split()
_COMPOUND_HEADS = ("based driven free related specific friendly like aware style only heavy "
                   "level sized oriented ready powered centric wide").split()
_TLDS = "com com com org net co.uk io de ca com.au info".split()
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_CAPITALS = "ABCDEFGHJKLMNPRSTVWXYZ"
_EMOJI = "👍 😂 ❤️ 🔥 🙏 😊 👉 🎉".split()
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r" (the|an?) (?=[a-z])")

# Per-sentence injection rates, tuned so that the output has ~4.4 bytes per GPT-2 token and still
# >10,000 new word types per MB past 100 MB (`corpus_statistics` reports both).
PREFIX_RATE, SUFFIX_RATE, COMPOUND_RATE, QUOTE_RATE, TYPO_RATE = 0.3, 0.75, 0.9, 0.05, 0.05
EXTRA_SENTENCE_RATE = 0.45  # per paragraph
_PREFIXES = ["In {year}, ", "On {weekday}, ", "According to {org}, ", "{person} said that ",
             "Last {weekday}, ", "In {place}, ", "{place} — ", "At {org}, ", "For {org}, ",
             "{person} of {org} said that ", "Speaking to {org}, {person} said that "]
_SUFFIXES = [", {person} said", ", according to {org}", " in {place}", ", {person} told {org}",
             " at {org}", " ({brand})", ", said {person} of {org}", " — {person}", " for {org}",
             ", {person} wrote", " with {brand}", " by {org}", " (via {org})", ", {org} said",
             " in {org}'s {brand}", " ({number})", " for {money}", " since {year}",
             " — {person} ({handle})", " (model {code})", " #{hashtag}",
             ", said {person}, {age}, of {place}", " ({number} in {year})"]
_EXTRA_SENTENCES = [
    "Contact {email} for more information.", "Read more at {url}", "Call {phone} or email {email}.",
    "Follow {person} on Twitter at {handle}.", "The full report from {org} is at {url}.",
    "Tickets cost {money} at {org}.", "Photo: {person}/{org}", "{org} declined to comment.",
    "{org} reported revenue of {millions} in {year}, up {percent} from a year earlier.",
    "{person}, {age}, of {place}, contributed to this report.", "Posted by {handle} on {date}",
    "{number} people have shared this.", "Order {code} shipped {date}.", "{org} did not respond.",
    "{person} is a reporter for {org}.", "Prices start at {money} for the {brand} {code}.",
    "{person} of {org} and {person} of {org} disagree.", "Thanks to {person} and {person}.",
    "{person} and {person} are the founders of {org}."]
_BYLINES = ["By {person}", "{date}", "By {person} | {date}", "Posted on {date} by {handle}",
            "{person}, {org}", "Published {weekday}, {date}", "By {person} and {person}"]
_FOOTERS = ["Share this:", "Twitter", "Facebook", "Like this:", "Related", "Advertisement",
            "Copyright © {year} {org}. All rights reserved.", "Follow us on Twitter: {handle}",
            "Read more: {url}", "Tags: #{hashtag} #{hashtag}", "Email: {email}", "Loading..."]


class WebLikeText:
    """Seeded generator of web-like English documents (see the module docstring)."""

    def __init__(self, seed: int = 0) -> None:
        pool, rng = harvest(), random.Random(seed)
        self.rng, self.sentences, self.cities = rng, pool["sentences"], pool["cities"]
        self.nouns, self.words = pool["nouns"], pool["words"]
        randint = rng.randint
        self.slots = {  # what fills each {slot} of a template
            "year": lambda: str(2019 - int(60 * rng.random() ** 3)),
            "age": lambda: str(randint(18, 90)),
            "weekday": lambda: rng.choice(_WEEKDAYS),
            "date": lambda: f"{rng.choice(_MONTHS)} {randint(1, 28)}, {self.slots['year']()}",
            "number": lambda: f"{int(10 ** rng.uniform(0, 6.5)):,}",
            "percent": lambda: f"{rng.uniform(0, 60):.1f}%",
            "money": lambda: f"{rng.choice('$$$$£€')}{10 ** rng.uniform(0, 5):,.2f}",
            "millions": lambda: f"${rng.uniform(1, 999):.1f} million",
            "phone": lambda: f"({randint(201, 989)}) {randint(200, 999)}-{randint(0, 9999):04d}",
            "code": lambda: f"{rng.choice(_CAPITALS)}{rng.choice(_CAPITALS)}-{randint(10, 99999)}",
            "handle": lambda: f"@{self.first_name()}_{self.surname()}".lower(),
            "email": lambda: f"{self.first_name()}.{self.surname()}@{self.noun()}.com".lower(),
            "hashtag": self.brand,
            **{name: getattr(self, name) for name in ("person", "place", "org", "brand", "url")},
        }

    def fill(self, template: str) -> str:
        """The template with each {slot} replaced by a fresh entity of that kind."""
        return _SLOT.sub(lambda m: self.slots[m[1]](), template)

    def _skewed(self, items: list[str], power: float = 2.0) -> str:
        """A Zipf-like pick: early items are common, the rest form a long tail."""
        return items[int(len(items) * self.rng.random() ** power)]

    def surname(self) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            return self._skewed(_COMMON_SURNAMES)
        stem = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                       for _ in range(1 + (rng.random() < 0.8)))
        return stem.capitalize() + self._skewed(_SURNAME_ENDINGS, 1.5)

    def first_name(self) -> str:
        names = _ACCENTED_FIRST_NAMES if self.rng.random() < 0.04 else _FIRST_NAMES
        return self._skewed(names, 1.5)

    def person(self) -> str:
        return f"{self.first_name()} {self.surname()}"

    def place(self) -> str:
        if self.rng.random() < 0.8:
            return self._skewed(self.cities, 1.5)
        return self.surname() + self.rng.choice(["ville", "ton", "burg", "field", " Springs"])

    def noun(self) -> str:
        return self._skewed(self.nouns, 1.2)

    def brand(self) -> str:
        return self.rng.choice(self.nouns).title() + self.noun().title()

    def org(self) -> str:
        r = self.rng.random()
        if r < 0.8:
            return f"{self.surname() if r < 0.4 else self.brand()} {self._skewed(_ORG_KINDS)}"
        return self.brand() if r < 0.9 else f"University of {self.place()}"

    def compound(self) -> str:
        """An ad-hoc compound modifier: "cache-friendly", "buffer-header"."""
        head = self.rng.choice(_COMPOUND_HEADS) if self.rng.random() < 0.3 else self.noun()
        return f"{self.rng.choice(self.words)}-{head}"

    def url(self) -> str:
        rng, site = self.rng, self.noun() + self.rng.choice(["", "", "news", "times", "blog"])
        slug = "-".join(self.noun() for _ in range(rng.randint(2, 6)))
        if rng.random() < 0.5:
            return f"https://www.{site}.com/{self.slots['year']()}/{rng.randint(1, 12):02d}/{slug}/"
        return f"http://{site}.{rng.choice(_TLDS)}/{slug}-{rng.randint(1000, 999999)}.html"

    def sentence(self) -> str:
        """A real sentence, with the long tail injected."""
        rng = self.rng
        sentence = rng.choice(self.sentences)
        if rng.random() < PREFIX_RATE:
            first_word = sentence.split(" ", 1)[0]
            if first_word[1:].islower() or first_word == "A":
                sentence = sentence[0].lower() + sentence[1:]
            sentence = self.fill(rng.choice(_PREFIXES)) + sentence
        if rng.random() < SUFFIX_RATE and sentence[-1] in ".!?":
            suffix, end = self.fill(rng.choice(_SUFFIXES)), sentence[-1]
            sentence = sentence[:-1] + suffix + ("" if suffix.endswith(end) else end)
        elif rng.random() < QUOTE_RATE and sentence[-1] == ".":
            sentence = f'"{sentence[:-1]}," {self.person()} said.'
        if rng.random() < COMPOUND_RATE and (match := _ARTICLE.search(sentence)):
            compound = self.compound()
            article = "the" if match[1] == "the" else "an" if compound[0] in "aeiou" else "a"
            sentence = f"{sentence[:match.start()]} {article} {compound} {sentence[match.end():]}"
        if rng.random() < TYPO_RATE:  # one letter dropped, doubled or swapped
            i = rng.randrange(1, len(sentence) - 2)
            a, b = sentence[i], sentence[i + 1]
            if a.islower() and b.islower():
                sentence = sentence[:i] + rng.choice((b, a + a + b, b + a)) + sentence[i + 2:]
        return sentence

    def paragraph(self) -> str:
        sentences = [self.sentence() for _ in range(max(1, int(self.rng.lognormvariate(1.2, 0.6))))]
        if self.rng.random() < EXTRA_SENTENCE_RATE:
            extra = self.fill(self.rng.choice(_EXTRA_SENTENCES))
            sentences.insert(self.rng.randint(0, len(sentences)), extra)
        return " ".join(sentences)

    def title(self) -> str:
        words = self.rng.choice(self.sentences).rstrip(".!?").split()[: self.rng.randint(3, 10)]
        if self.rng.random() < 0.5:
            words = [w[:1].upper() + w[1:] if len(w) > 3 else w for w in words]
        title, r = " ".join(words).rstrip(",;:"), self.rng.random()
        if r < 0.3:
            return f"{title} | {self.org()}" if r < 0.2 else f"{self.person()}: {title}"
        return title

    def document(self) -> bytes:
        """One UTF-8 document ending in a newline: maybe a title and a byline, 1-30 paragraphs
        (the odd subheading, maybe a dateline), maybe footer lines."""
        rng = self.rng
        lines = [self.title()] if rng.random() < 0.7 else []
        if rng.random() < 0.35:
            lines.append(self.fill(rng.choice(_BYLINES)))
        for i in range(min(30, 1 + int(rng.lognormvariate(1.7, 0.9)))):
            if i and rng.random() < 0.05:
                lines.append(self.title())
            dateline = f"{self.place().upper()} — " if i == 0 and rng.random() < 0.1 else ""
            lines.append(dateline + self.paragraph())
        if rng.random() < 0.3:
            lines += [self.fill(rng.choice(_FOOTERS)) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.03:
            lines[-1] += " " + rng.choice(_EMOJI)
        text = ("\n\n" if rng.random() < 0.85 else "\n").join(lines) + "\n"
        if rng.random() < 0.2:  # typographic quotes and apostrophes
            text = re.sub(r'"([^"\n]*)"', r"“\1”", text).replace("'", "’")
        return text.encode("utf-8")


def corpus_statistics(documents: Iterable[bytes], encoding, *, tokenize_every: int = 1,
                      mb: int = 1_000_000) -> dict:
    """Bytes, GPT-2 tokens and vocabulary growth of a stream of documents, in one pass.

    Word types are whitespace-separated byte strings, kept as 64-bit hashes (collisions are
    negligible below billions of types). `new_word_types_per_mb[i]` counts the types first seen
    in the i-th MB (MB boundaries fall between documents). With `tokenize_every=k` only every
    k-th document is tokenized (`encoding.encode_ordinary`) and bytes/token is that sample's.
    """
    seen: set[int] = set()
    total_bytes = tokenized_bytes = tokens = count = types_at_last_mb = 0
    new_per_mb: list[int] = []
    for count, document in enumerate(documents, start=1):
        seen.update(map(hash, document.split()))
        total_bytes += len(document)
        if count % tokenize_every == 0:
            tokens += len(encoding.encode_ordinary(document.decode("utf-8")))
            tokenized_bytes += len(document)
        while total_bytes >= (len(new_per_mb) + 1) * mb:
            new_per_mb.append(len(seen) - types_at_last_mb)
            types_at_last_mb = len(seen)
    return {
        "documents": count, "bytes": total_bytes, "tokenized_every": tokenize_every,
        "tokenized_bytes": tokenized_bytes, "tokens": tokens,
        "bytes_per_token": tokenized_bytes / tokens if tokens else float("nan"),
        "word_types": len(seen), "new_word_types_per_mb": new_per_mb,
    }
