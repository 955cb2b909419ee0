"""Stage 4c: residences resolved against the period's community and estate lists.

A member's residence is keyed by (street, community, estate), never by a name alone: community and
estate names repeat across streets. When a roster has no estate column (national-system exports),
the estate is the listed estate whose name the free-text home address contains."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .clean import place_key
from .detect import street_in_text

ESTATE_SUFFIXES = ("小区",)
COMMUNITY_SUFFIXES = ("社区", "社区居委会", "居委会")


@dataclass(frozen=True)
class Place:
    street: str
    community: str
    estate: str | None = None


@dataclass
class Resolution:
    status: str                   # ok | unknown | ambiguous | none
    place: Place | None = None
    detail: str = ""              # Chinese, for the problem message
    mismatch: str = ""            # ok, but the row's community is not the listed one of its estate


def _variants(name: str, suffixes: tuple[str, ...]) -> set[str]:
    key = place_key(name)
    out = {key}
    for s in suffixes:
        if key.endswith(s) and len(key) - len(s) >= 2:
            out.add(key[: -len(s)])
    return out


def _trie_regex(words: set[str]) -> re.Pattern[str] | None:
    """One regex matching any of `words`, longest first at each position (a trie, not an alternation
    of 20,000 names, so Python's re stays fast)."""
    if not words:
        return None
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if end else body

    return re.compile("(?=(" + build(trie) + "))")


class PlaceIndex:
    def __init__(self, communities: list[tuple[str, str]], estates: list[tuple[str, str, str]]):
        self.has_estates = bool(estates)
        self.has_communities = bool(communities) or bool(estates)
        self.estates: dict[str, list[Place]] = {}
        for street, community, name in estates:
            p = Place(street, community, name)
            for v in _variants(name, ESTATE_SUFFIXES):
                bucket = self.estates.setdefault(v, [])
                if p not in bucket:
                    bucket.append(p)
        self.communities: dict[str, list[Place]] = {}
        for street, name in list(communities) + [(s, c) for s, c, _ in estates]:
            p = Place(street, name)
            for v in _variants(name, COMMUNITY_SUFFIXES):
                bucket = self.communities.setdefault(v, [])
                if p not in bucket:
                    bucket.append(p)
        self._address_re = _trie_regex(set(self.estates))
        # community names as listed (社区 included): an estate name inside one (望湖 in 望湖社区) is not the estate
        self._community_re = _trie_regex({place_key(c) for _, c in communities if c}
                                         | {place_key(c) for _, c, _ in estates if c})
        self.streets = {s for s, _ in communities if s} | {s for s, _, _ in estates if s}

    @staticmethod
    def _in_community(cands: list[Place], community: str) -> list[Place]:
        """The candidates whose community is the row's: with or without 社区/居委会, and also where
        the row writes the street before it (东湖街道朝阳社区)."""
        ck = _variants(community, COMMUNITY_SUFFIXES)
        key = place_key(community)
        return [p for p in cands if _variants(p.community, COMMUNITY_SUFFIXES) & ck
                or (p.community and key.endswith(place_key(p.community)) and len(p.community) >= 2)]

    def _listed_community(self, street: str, community: str) -> str:
        """The community list's name of `community` in `street` (朝阳 -> 朝阳社区), or the text as written."""
        same = [p for p in self.communities.get(place_key(community), []) if p.street == street]
        if not same:
            same = [p for p in self._in_community([p for ps in self.communities.values() for p in ps], community)
                    if p.street == street]
        names = {p.community for p in same}
        return names.pop() if len(names) == 1 else community

    @staticmethod
    def _in_street(cands: list[Place], street: str) -> list[Place]:
        return [p for p in cands if p.street == street] if street else cands

    def resolve(self, street: str, community: str | None, estate: str | None, address: str | None) -> Resolution:
        if street and self.streets and street not in self.streets and (estate or community or address):
            listed = "、".join(sorted(self.streets)[:10])
            return Resolution("unknown", detail=f"本期社区、小区清单中没有“{street}”（清单中的街道：{listed}），"
                                                "原因是街道名称不符，而不是小区或社区名称。请核对街道名称，或先导入该街道的资源清单。")
        if estate:
            if not self.has_estates:
                return Resolution("none")
            found = self._in_street(self.estates.get(place_key(estate), []), street)
            same = self._in_community(found, community) if community else []
            # (an estate listed without its community says nothing against the row's)
            if community and found and not same and all(p.community for p in found):
                return self._mismatch(found, estate, community)
            # the row's community, else an estate listed without one (the row's may be its), else any
            cands = (same or [p for p in found if not p.community] or found) if community else found
            res = self._pick(cands, f"小区“{estate}”")
            if res.place is not None and not res.place.community and community:
                # an estate listed without its community: the member keeps the community the row names
                # (as listed where the community list has it), not a blank one
                res.place = Place(res.place.street, self._listed_community(res.place.street, community), res.place.estate)
            return res
        if community:
            cands = self._in_street(self.communities.get(place_key(community), []), street)
            return self._pick(cands, f"社区“{community}”")
        if address and self._address_re is not None:
            return self.resolve_address(street, address)
        return Resolution("none")

    @staticmethod
    def _mismatch(found: list[Place], estate: str, community: str) -> Resolution:
        """The row's estate is listed, but under another community than the row's 所在社区. The list
        decides where the estate is (a community holds many estates, an estate belongs to one); the
        row is kept under the listed community and the clerk is told both names."""
        listed = "、".join(f"{p.street}{p.community}" for p in found)
        if len(found) > 1:
            return Resolution("ambiguous", detail=f"小区“{estate}”在清单中属于{listed}，"
                                                  f"与本行所填社区“{community}”都不符，无法确定是哪一个。")
        return Resolution("ok", found[0], mismatch=f"小区“{estate}”在本期小区清单中属于“{found[0].community}”，"
                                                   f"与本行所填社区“{community}”不符；已按小区清单记为“{found[0].community}”。")

    def _pick(self, cands: list[Place], what: str) -> Resolution:
        if len(cands) == 1:
            return Resolution("ok", cands[0])
        if not cands:
            return Resolution("unknown", detail=f"本期清单中没有{what}。")
        streets = "、".join(sorted({p.street for p in cands}))
        return Resolution("ambiguous", detail=f"{what}在{streets}都有，本行没有写明街道，无法确定是哪一个。")

    def resolve_address(self, street: str, address: str) -> Resolution:
        text = place_key(address)
        if not street:
            street = street_in_text(text) or ""
        spans = [(m.start(1), m.end(1)) for m in self._address_re.finditer(text) if m.group(1)]
        # the longest name wins where one contains the other (翠苑一区 over 翠苑), and a community's full
        # name over an estate name inside it (望湖社区临湖家园: 临湖家园, not 望湖小区)
        longer = spans + ([(m.start(1), m.end(1)) for m in self._community_re.finditer(text) if m.group(1)]
                          if self._community_re is not None else [])
        spans = [s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and o[1] - o[0] > s[1] - s[0]
                                             for o in longer)]
        found: list[Place] = []
        for a, b in spans:
            for p in self._in_street(self.estates[text[a:b]], street):
                if p not in found:
                    found.append(p)
        if len(found) == 1:
            return Resolution("ok", found[0])
        if not found:
            return Resolution("unknown", detail="家庭住址中找不到本期小区清单里的任何小区。")
        names = "、".join(f"{p.street}{p.estate}" for p in found)
        return Resolution("ambiguous", detail=f"家庭住址同时指向{names}，无法确定是哪一个。")
