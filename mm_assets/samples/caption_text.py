"""Caption-like English for sample mirrors and the caption benchmark, with the real sources' shapes.

Speed figures for caption encoding only mean something on text shaped like the real captions:
COCO sentences (~10.5 words, capitalised, a final period), Visual Genome region phrases
(~4.7 words, mostly lower case, typos) and CC3M alt-text (~10 words, hypernymised: "actor attends
the premiere"). The vocabulary keeps growing with size, as in the real data (names, places,
numbers, misspellings), so fairseq's per-word BPE cache is not flattered. Seeded: the same seed
gives the same text.
"""

from __future__ import annotations

import random

OBJECTS = """man woman person child boy girl people player skier surfer rider dog cat horse cow sheep
elephant giraffe zebra bear bird pigeon duck car truck bus train bicycle motorcycle airplane boat
kite frisbee skateboard surfboard snowboard umbrella suitcase backpack handbag tie bench chair couch
bed table desk toilet sink oven microwave refrigerator laptop keyboard phone remote television clock
vase book bottle cup glass bowl plate fork knife spoon pizza sandwich cake donut banana apple orange
broccoli carrot hotdog building tower house window door roof wall fence pole sign light street road
sidewalk tree bush grass field beach ocean wave water sky cloud mountain hill snow rock river bridge
shirt jacket hat helmet cap shoe pants jeans dress glasses hair hand arm leg head face ear eye nose
mouth wheel tire mirror seat handle leaf branch flower plant pot curtain pillow blanket lamp shelf
cabinet counter floor tile carpet rug poster picture painting stop hydrant meter lane crosswalk
train platform track station tennis racket ball bat glove baseball court net goal""".split()
ADJECTIVES = """white black red blue green yellow brown gray orange pink purple silver large small
big little tall short long old young wooden metal plastic glass dirty clean wet dry empty full open
closed bright dark striped spotted colorful parked busy crowded snowy sunny cloudy grassy sandy
rocky tiled paved""".split()
VERBS = """riding holding sitting standing walking running flying eating playing looking carrying
wearing throwing catching laying parked hanging leaning crossing waiting driving pulling pushing
cutting watching grazing swimming skiing surfing skateboarding jumping""".split()
PREPOSITIONS = "on in next to near under behind in front of on top of beside with by at across".split(" ")
PLACES = """a kitchen|a living room|a bathroom|a street|a city street|a field|a beach|the ocean|a park|a
table|a plate|a counter|a grassy field|the snow|a slope|a court|a runway|the water|a parking lot|a
sidewalk|a bedroom|a restaurant|a station|a zoo|a farm|a lake|a river""".replace("\n", " ").split("|")
CC3M_SUBJECTS = """actor actress person politician artist musician athlete footballer team model
chef couple family tourists students city building skyline landscape illustration vector cartoon
portrait view architecture automobile model dish""".split()
CC3M_PHRASES = """attends the premiere|performs on stage|poses for a photo|arrives at the event|walks
the runway|during a match|in the city|at the festival|on a sunny day|against a white background|with
copy space|in the evening|at sunset|during the game|at the gala|for the season|in the kitchen""".replace("\n", " ").split("|")
SYLLABLES = "ka lo mi ra den tor vel sha nu bri ost qua fen gal rik mon dru pel zan hol".split()


class CaptionText:
    """Seeded generators of COCO captions, VG phrases and CC3M alt-text."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def _word(self, words: list[str]) -> str:
        word = self.rng.choice(words)
        roll = self.rng.random()
        if roll < 0.02 and len(word) > 3:  # a typo: the long tail of the real vocabulary
            cut = self.rng.randrange(1, len(word) - 1)
            word = word[:cut] + word[cut + 1:] if roll < 0.01 else word[:cut] + word[cut] + word[cut:]
        elif roll < 0.03:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))
        return word

    def _noun_phrase(self, adjectives: float = 0.5) -> str:
        parts = []
        if self.rng.random() < adjectives:
            parts.append(self._word(ADJECTIVES))
        parts.append(self._word(OBJECTS))
        return " ".join(parts)

    def coco_caption(self) -> str:
        """'A brown dog sitting on a bench next to a bicycle.' (~10.5 words)."""
        rng = self.rng
        subject = f"{rng.choice(['A', 'A', 'The', 'Two', 'A couple of', 'Some'])} {self._noun_phrase(0.7)}"
        parts = [subject, rng.choice(["is", "", "", "are"]), self._word(VERBS), rng.choice(["a", "the", "some"]),
                 self._noun_phrase(0.5)]
        if rng.random() < 0.8:
            parts += [rng.choice(PREPOSITIONS), rng.choice(["a", "the"]), self._noun_phrase(0.3)]
        if rng.random() < 0.3:
            parts += ["in", rng.choice(PLACES)]
        text = " ".join(parts)
        if rng.random() < 0.05:
            text += f" at {rng.randint(1, 12)} o'clock"
        return " ".join(text.split()) + ("." if rng.random() < 0.85 else "")

    def vg_phrase(self) -> str:
        """'white clouds in blue sky' (~4.7 words, mostly lower case)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            text = f"{self._noun_phrase(0.8)} {rng.choice(PREPOSITIONS)} {rng.choice(['the', 'a', ''])} {self._noun_phrase(0.5)}"
        elif roll < 0.7:
            degree = rng.choice(['', 'very', ''])
            text = f"{rng.choice(['the', 'a'])} {self._noun_phrase(0.7)} is {degree} {self._word(ADJECTIVES)}"
        elif roll < 0.9:
            text = f"{rng.choice(['the', 'a', ''])} {self._noun_phrase(0.5)} {self._word(VERBS)} {self._noun_phrase(0.4)}"
        else:
            text = self._noun_phrase(0.9)
        text = " ".join(text.split())
        if rng.random() < 0.1:
            text = text.capitalize()
        return text

    def cc3m_caption(self) -> str:
        """'actor attends the premiere of the film in the city' (~10 words)."""
        rng = self.rng
        parts = [rng.choice(["", "", "the", "a"]), self._noun_phrase(0.3) if rng.random() < 0.3 else "",
                 self._word(CC3M_SUBJECTS), rng.choice(CC3M_PHRASES)]
        if rng.random() < 0.85:
            parts.append(f"of {rng.choice(['the', 'a'])} {self._noun_phrase(0.6)}")
        if rng.random() < 0.5:
            parts.append(rng.choice(CC3M_PHRASES))
        if rng.random() < 0.2:
            parts.append(str(rng.randint(1990, 2024)))
        return " ".join(" ".join(parts).split())
