"""Requests composed from hand-written phrasings and slot lists, per class.

The benchmark datasets give each class one or two phrasings (an MMLU question with options, a
GSM8K word problem). People write more ways than that: a one-line question about a library, a
few-shot prompt of any relation in any layout, a moral question about their own life. These
generators compose such requests from phrasings and slot fillers written for this corpus
(nothing here is copied from bench/data/classifier_independent.jsonl, which is never read by
training). Each example is its own source record, so the splits hash them one by one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from training.slots import (
    ANTONYMS,
    CAPITALS,
    CHAT_ASIDES,
    CODE_CONCEPTS,
    CODE_ERRORS,
    CODE_TASKS,
    COMMONSENSE,
    CONSTRAINTS,
    CREATIVE_FORMS,
    CREATIVE_SUBJECTS,
    DEVOPS,
    ELEMENTS,
    EVERYDAY,
    FOLLOW_UPS,
    HOWTO,
    LANGUAGES,
    MORAL_ACTIONS,
    MORAL_DEBATES,
    PLURALS,
    REVIEWS,
    ROLES,
    SQL_ASKS,
    TOPICS,
    TRANSLATIONS,
    WORKS,
    WRITING_TASKS,
)

Make = Callable[[random.Random], str]


def _chat(rng: random.Random, text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}]}


def _either(rng: random.Random, text: str, chat_share: float = 0.65) -> dict[str, object]:
    if rng.random() < chat_share:
        return _chat(rng, text)
    return {"prompt": text}


def _casual(rng: random.Random, text: str) -> str:
    """Lower-case starts, missing final punctuation, a greeting: how people type."""
    r = rng.random()
    if r < 0.15:
        text = text[0].lower() + text[1:]
    elif r < 0.25:
        text = text.rstrip("?.!")
    if rng.random() < 0.12:
        text = rng.choice(["Hey, ", "Quick question: ", "Hi! ", "Please help: ", "So "]) + text
    return text


# -- code ----------------------------------------------------------------------------------


def code(rng: random.Random) -> Iterator[dict[str, object]]:
    asks = [
        "Write a {lang} function to {task}.",
        "How do I {task} in {lang}?",
        "{lang}: {task}",
        "Implement code to {task} in {lang}.",
        "What's the idiomatic way to {task} in {lang}?",
        "Can you show me {lang} code that will {task}?",
        "I need a {lang} snippet to {task}.",
        "Give me a short {lang} example that shows how to {task}.",
        "In {lang}, what is the best way to {task}?",
        "Write a class in {lang} that can {task}, with tests.",
    ]
    for _ in range(170):
        text = rng.choice(asks).format(lang=rng.choice(LANGUAGES), task=rng.choice(CODE_TASKS))
        yield _either(rng, _casual(rng, text))
    errors = [
        "I get '{err}' when I {ctx}. How do I fix it?",
        "Why am I getting {err}?",
        "{err} -- what does this mean and how do I fix it?",
        "My {lang} program crashes with: {err}",
        "Getting `{err}` after I {ctx}. Any idea?",
    ]
    contexts = ["run my script", "call the function twice", "deploy to production", "run the tests"]
    for _ in range(70):
        lang, err = rng.choice(CODE_ERRORS)
        text = rng.choice(errors).format(err=err, lang=lang, ctx=rng.choice(contexts))
        yield _either(rng, _casual(rng, text))
    concept = [
        "What is the difference between {a} and {b} in {lang}?",
        "{a} vs {b} in {lang}: when should I use which?",
        "Explain {a} versus {b} with a {lang} example.",
    ]
    for _ in range(50):
        a, b = rng.choice(CODE_CONCEPTS)
        text = rng.choice(concept).format(a=a, b=b, lang=rng.choice(LANGUAGES))
        yield _either(rng, text)
    for _ in range(40):
        yield _either(rng, _casual(rng, rng.choice(DEVOPS)))
    for _ in range(40):
        yield _either(rng, rng.choice(SQL_ASKS))


# -- in-context learning: few-shot prompts of any relation, in any layout ------------------


def _relations() -> list[tuple[str, str, list[tuple[str, str]]]]:
    out: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("Country", "Capital", CAPITALS),
        ("Singular", "Plural", PLURALS),
        ("Word", "Opposite", ANTONYMS),
        ("Element", "Symbol", ELEMENTS),
        ("Review", "Sentiment", REVIEWS),
    ]
    for language, pairs in TRANSLATIONS.items():
        out.append(("English", language, pairs))
    words = [w for w, _ in ANTONYMS]
    out.append(("Word", "Reversed", [(w, w[::-1]) for w in words]))
    out.append(("Word", "Upper", [(w, w.upper()) for w in words]))
    out.append(("Word", "Letters", [(w, str(len(w))) for w in words]))
    out.append(("Number", "Square", [(str(n), str(n * n)) for n in range(2, 30)]))
    out.append(("Number", "Double", [(str(n), str(2 * n)) for n in range(3, 60, 3)]))
    out.append(
        ("Sum", "Result", [(f"{a} + {b}", str(a + b)) for a in range(2, 40, 7) for b in (3, 8, 11)])
    )
    return out


LAYOUTS = [
    "{x} -> {y}",
    "{x} => {y}",
    "{x}: {y}",
    "{x} = {y}",
    "{x} | {y}",
    "{x}\t{y}",
    "Input: {x}\nOutput: {y}",
    "Q: {x}\nA: {y}",
    "{X}: {x}\n{Y}: {y}",
    "{x} \u2192 {y}",
    '"{x}" -> {y}',
]
HEADERS = [
    "",
    "",
    "Continue the pattern.\n",
    "Follow the examples.\n",
    "Here are some examples:\n",
    "{X} to {Y}:\n",
    "Complete the last line.\n",
    "Examples:\n\n",
]


def icl(rng: random.Random) -> Iterator[dict[str, object]]:
    relations = _relations()
    for _ in range(360):
        left, right, pairs = rng.choice(relations)
        shots = rng.sample(pairs, min(len(pairs), rng.randint(3, 7)))
        layout = rng.choice(LAYOUTS)
        sep = rng.choice(["\n", "\n", "\n\n"])
        lines = [layout.format(x=x, y=y, X=left, Y=right) for x, y in shots[:-1]]
        last = layout.format(x=shots[-1][0], y="\0", X=left, Y=right).split("\0")[0].rstrip()
        if rng.random() < 0.15 and "\n" not in layout:  # inline: "a/b, c/d, e/"
            joiner = rng.choice([", ", "; "])
            text = joiner.join([*lines, last])
        else:
            text = sep.join([*lines, last])
        head = rng.choice(HEADERS).format(X=left, Y=right)
        yield _either(rng, head + text, chat_share=0.5)


# -- ethics: moral questions about everyday life -------------------------------------------


def ethics(rng: random.Random) -> Iterator[dict[str, object]]:
    asks = [
        "Is it wrong to {a}?",
        "Is it okay to {a}?",
        "Is it ethical to {a}?",
        "Would it be wrong if I {a_me}?",
        "Is it immoral to {a}?",
        "Is it morally acceptable to {a}?",
        "Am I a bad person if I {a_me}?",
        "Should I feel guilty if I {a_me}?",
        "Do you think it's fair to {a}?",
        "Be honest: is it selfish to {a}?",
        "I {a_past}. Was that wrong?",
        "I {a_past}. Was that the right thing to do?",
        "Last week I {a_past}. Did I do something wrong?",
    ]
    for _ in range(260):
        base, past = rng.choice(MORAL_ACTIONS)
        text = rng.choice(asks).format(a=base, a_me=base, a_past=past)
        yield _either(rng, _casual(rng, text))
    debates = [
        "Is {d} morally justified?",
        "What are the ethical arguments for and against {d}?",
        "Is {d} ethical?",
        "Can {d} ever be morally right?",
    ]
    for _ in range(60):
        yield _either(rng, rng.choice(debates).format(d=rng.choice(MORAL_DEBATES)))


# -- dialogue: conversations, role-play, open creative writing -----------------------------


def dialogue(rng: random.Random) -> Iterator[dict[str, object]]:
    for _ in range(140):
        topic = rng.choice(TOPICS)
        messages: list[dict[str, str]] = []
        if rng.random() < 0.3:
            role = rng.choice(ROLES)
            messages.append({"role": "system", "content": f"You are {role}. Stay in character."})
        messages.append({"role": "user", "content": f"Can we talk about {topic}?"})
        for _ in range(rng.randint(1, 3)):
            reply = f"Of course. {topic.capitalize()} is a big subject. Where should we start?"
            messages.append({"role": "assistant", "content": reply})
            label, text = _turn(rng)
            messages.append({"role": "user", "content": text})
        # labelled by what the last turn asks (quantgate/vocabulary.py): advice is general and
        # a moral question is ethics, in a chat as anywhere
        yield {"messages": messages, "label": label}
    forms = [
        "Write a {form} about {subject}.",
        "Can you write me a {form} about {subject}?",
        "Compose a {form} about {subject}.",
        "I'd love a {form} about {subject}.",
        "Write a {form} for {subject}.",
    ]
    for _ in range(130):
        text = rng.choice(forms).format(
            form=rng.choice(CREATIVE_FORMS), subject=rng.choice(CREATIVE_SUBJECTS)
        )
        yield _either(rng, _casual(rng, text))
    for _ in range(50):
        role = rng.choice(ROLES)
        text = rng.choice(
            [
                f"Pretend you are {role}. Introduce yourself.",
                f"Let's role-play: you're {role} and I'm a visitor. Greet me.",
                f"Act as {role} and tell me about your day.",
            ]
        )
        yield _chat(rng, text)
    for _ in range(40):
        yield _either(rng, rng.choice(CHAT_ASIDES))


def _turn(rng: random.Random) -> tuple[str, str]:
    """A later user turn and its class: a follow-up, or any question people ask in the
    middle of a chat."""
    r = rng.random()
    if r < 0.4:
        return "dialogue", rng.choice(FOLLOW_UPS)
    if r < 0.6:
        return "general", rng.choice(HOWTO)
    if r < 0.75:
        return "ethics", f"I {rng.choice(MORAL_ACTIONS)[1]}. Should I apologize?"
    if r < 0.9:
        return "dialogue", rng.choice(
            ["Yes.", "No, the other one.", "Both, I think.", "Sure, go on."]
        )
    return "dialogue", f"What about {rng.choice(TOPICS)}?"


# -- instruction following: tasks with verifiable constraints ------------------------------


def instruction(rng: random.Random) -> Iterator[dict[str, object]]:
    for _ in range(260):
        task = rng.choice(WRITING_TASKS).format(
            subject=rng.choice(CREATIVE_SUBJECTS), topic=rng.choice(TOPICS)
        )
        picked = rng.sample(CONSTRAINTS, rng.choice([1, 1, 2, 3]))
        constraints = [c.format(n=rng.randint(2, 12), w=rng.choice(EVERYDAY)) for c in picked]
        yield _either(rng, f"{task} {' '.join(constraints)}")


# -- knowledge: closed factual questions ---------------------------------------------------


def knowledge(rng: random.Random) -> Iterator[dict[str, object]]:
    asks: list[Make] = [
        lambda r: f"What is the capital of {r.choice(CAPITALS)[0]}?",
        lambda r: f"Which country has {r.choice(CAPITALS)[1]} as its capital?",
        lambda r: f"What is the chemical symbol for {r.choice(ELEMENTS)[0].lower()}?",
        lambda r: f"Which element has the symbol {r.choice(ELEMENTS)[1]}?",
        lambda r: f"Who wrote '{r.choice(WORKS)}'?",
        lambda r: f"Who is the author of {r.choice(WORKS)}?",
        lambda r: f"In which century was '{r.choice(WORKS)}' written?",
        lambda r: f"Name the capital city of {r.choice(CAPITALS)[0]}.",
    ]
    for _ in range(120):
        yield _either(rng, _casual(rng, rng.choice(asks)(rng)))


# -- general: open requests for information, advice and ideas -----------------------------


def general(rng: random.Random) -> Iterator[dict[str, object]]:
    asks = [
        "Tell me about {t}.",
        "Explain {t} in simple terms.",
        "What should I know about {t}?",
        "Give me an overview of {t}.",
        "Can you explain {t} like I'm five?",
        "I'm curious about {t}. Where do I start?",
        "Describe {t}.",
        "What are the pros and cons of {t}?",
    ]
    for _ in range(180):
        yield _either(rng, _casual(rng, rng.choice(asks).format(t=rng.choice(TOPICS))))
    for _ in range(140):
        yield _either(rng, _casual(rng, rng.choice(HOWTO)))


# -- reasoning: commonsense yes/no questions and small puzzles -----------------------------


def reasoning(rng: random.Random) -> Iterator[dict[str, object]]:
    people = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo"]
    relations = [("taller", "shortest"), ("older", "youngest"), ("faster", "slowest")]
    for _ in range(80):
        a, b, c = rng.sample(people, 3)
        more, least = rng.choice(relations)
        text = f"{a} is {more} than {b}, and {b} is {more} than {c}. Who is the {least}?"
        yield _either(rng, text)
    yes_no = [
        "Could {a} {v}?",
        "Would {a} be able to {v}?",
        "Can {a} {v}?",
        "Is it possible for {a} to {v}?",
        "Would {a} {v} if nobody helped?",
    ]
    for _ in range(120):
        a, v = rng.choice(COMMONSENSE)
        yield _either(rng, _casual(rng, rng.choice(yes_no).format(a=a, v=v)))
    for _ in range(50):
        a, b = rng.sample([x for x, _ in COMMONSENSE], 2)
        text = rng.choice(
            [
                f"Which would win in a race, {a} or {b}? Explain your reasoning.",
                f"If you had to carry either {a} or {b} up a mountain, which is easier, and why?",
            ]
        )
        yield _either(rng, text)


# -- math: computations and word problems with fresh numbers -------------------------------


MATH = [
    "Solve for x: {a}x + {b} = {c}",
    "What is {pct}% of {n}?",
    "Simplify the fraction {six}/{nine}.",
    "What is the derivative of x^{a} + {b}x?",
    "Is {n} divisible by {p}?",
    "Find the mean and median of {a}, {b}, {d}, {e}, {a2}.",
    "A rectangle is {a2} cm by {d} cm. What is its area?",
    "If I drive {n} km at {speed} km/h, how long does it take?",
    "What is the probability of rolling a sum of {a2} with two dice?",
    "{d} apples cost ${b}. How much do {e} apples cost?",
    "Calculate {d} * {e} - {b}",
    "Convert {a}/{den} to a decimal.",
    "What's the square root of {sq}?",
    "Integrate {a}x^{a2} dx.",
    "A shirt costs ${c} and is {pct}% off. What do I pay?",
]


def math(rng: random.Random) -> Iterator[dict[str, object]]:
    for _ in range(220):
        slots = {
            "a": rng.randint(2, 9),
            "a2": rng.randint(2, 12),
            "b": rng.randint(1, 30),
            "c": rng.randint(31, 99),
            "d": rng.randint(10, 60),
            "e": rng.randint(10, 99),
            "n": rng.randint(100, 999),
            "p": rng.choice([3, 7, 11, 13]),
            "pct": rng.choice([5, 10, 12, 15, 20, 25, 35, 40]),
            "six": rng.randint(2, 12) * 6,
            "nine": rng.randint(2, 12) * 9,
            "speed": rng.randint(40, 120),
            "den": rng.choice([8, 16, 20, 25]),
            "sq": rng.randint(2, 30) ** 2,
        }
        yield _either(rng, _casual(rng, rng.choice(MATH).format(**slots)))


GENERATORS: dict[str, Callable[[random.Random], Iterator[dict[str, object]]]] = {
    "math": math,
    "reasoning": reasoning,
    "knowledge": knowledge,
    "instruction": instruction,
    "icl": icl,
    "dialogue": dialogue,
    "ethics": ethics,
    "code": code,
    "general": general,
}
