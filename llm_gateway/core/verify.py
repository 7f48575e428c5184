"""Does a cached answer to one question answer another? The semantic cache's check beyond cosine.

Sentence encoders put "upload a file to S3" next to "download a file from S3", "string to int" next
to "int to string" and "time complexity" next to "space complexity". The rules below reject what
they blur, and err on the side of a model call: a missed paraphrase costs one request, a wrong hit
serves a wrong answer.

- **negation** ("not", "without", "prevent", "stop ... from") and **quantities** must agree, the
  quantities in their order (numbers standing alone; "S3", "EC2", "python3" are names);
- **names** must agree: known technologies (one name each: "golang" is "go") and words capitalised
  mid-sentence ("Berlin", "Jira"); so must times ("last year", "tomorrow"), colours, and what a
  "how many" question counts; operators are words ("==" is not "!=");
- **opposite operations** (add/remove, encrypt/decrypt, ...: ``OPPOSITES``, and un-/dis-/de- forms);
- **swapped operands**: two shared words in the other order across the same to/from/than/with/...,
  or two things trading places ("Did Google acquire YouTube?" / "Did YouTube acquire Google?");
- **the kind of question**: who, when, where and why ask different things; so do a thing's
  **aspects** (its time or its place, its speed or its memory, how far or how big: ``ASPECTS``);
- **minimal pairs**: two questions the same but for a word or two that are not synonyms
  ("monthly"/"hourly", "keys"/"values"), or but for a qualifier added ("a *vegan* lasagna recipe");
  and **a thing put for another in its place** (after the same article or preposition) even with
  words added elsewhere ("unclog a *bathroom* sink" / "unclog a *kitchen* sink with a disposal");
- **how many** ("one file" / "all files") and **alternatives**: a question weighing two things ("the
  employee *or* the employer", "*between* weather *and* climate") is not one about either alone.

Measured on near misses written after the rules (``eval/corpus/cache_holdout.jsonl``, ``make
eval``), they still let a few through: rules read words, not meaning. ``cache_verify: model`` on a
route has a model confirm every semantic hit.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

STOPWORDS = frozenset("""
    a an the to of in on for with by from at as and or is are was were be been do does did how what which
    who whom whose when where why can could should would will shall may might i me my we our you your it
    its this that these those there here into about way please using use via so just some any all
    explain tell describe summarize summarise know if whether""".split())  # noqa: SIM905
NEGATIONS = frozenset("""
    not no never cannot can't don't doesn't isn't aren't won't shouldn't didn't without prevent avoid""".split())  # noqa: SIM905
ALIASES = {"golang": "go", "postgresql": "postgres", "k8s": "kubernetes", "nodejs": "node", "node.js": "node",
           "js": "javascript", "ts": "typescript", "osx": "macos", "mac": "macos", "fridge": "refrigerator",
           "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
           "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "hundred": "100",
           "colour": "color", "behaviour": "behavior", "behavioural": "behavioral", "favourite": "favorite"}
COLOURS = frozenset("red orange yellow green blue purple violet pink brown black white grey gray".split())  # noqa: SIM905
# When the question is asked about: "last year" is not "this year", "tomorrow" not "today".
TIMES = {"yesterday": "yesterday", "today": "now", "now": "now", "current": "now", "currently": "now",
         "tonight": "tonight", "tomorrow": "tomorrow", "last": "last", "previous": "last", "past": "last",
         "final": "last", "latest": "last", "recent": "last",
         "next": "next", "upcoming": "next", "future": "next", "ago": "ago"}
# Operations and qualities whose opposite is a different question, however close the embeddings.
OPPOSITES = [pair.split("/") for pair in (  # noqa: SIM905
    "add/remove add/delete create/delete create/destroy insert/delete start/stop enable/disable "
    "allow/deny allow/block grant/revoke encrypt/decrypt encode/decode compress/decompress "
    "upload/download import/export increase/decrease increment/decrement raise/lower ascending/descending "
    "asc/desc min/max minimum/maximum first/last before/after open/close connect/disconnect mount/unmount "
    "attach/detach install/uninstall lock/unlock show/hide push/pull send/receive read/write get/set "
    "serialize/deserialize zip/unzip enter/exit login/logout log-in/log-out sign-in/sign-out "
    "subscribe/unsubscribe follow/unfollow include/exclude with/without accept/reject approve/reject "
    "merge/split join/split scale-up/scale-down upgrade/downgrade expand/collapse freeze/unfreeze "
    "pause/resume suspend/resume public/private inbound/outbound ingress/egress upper/lower "
    "uppercase/lowercase left/right horizontal/vertical sync/async synchronous/asynchronous true/false "
    "on/off yes/no success/failure valid/invalid positive/negative inner/outer input/output server/client "
    "source/destination forward/backward faster/slower larger/smaller bigger/smaller more/less "
    "older/newer oldest/newest earliest/latest enqueue/dequeue wrap/unwrap backup/restore "
    "mutable/immutable static/dynamic global/local up/down in/out buy/sell borrow/lend hire/fire "
    "win/lose gain/loss profit/loss import/export encrypted/unencrypted advantages/disadvantages "
    "pros/cons best/worst cheapest/priciest heat/cool warm/cool hot/cold day/night morning/evening "
    "local/remote locally/remotely inside/outside above/below over/under top/bottom head/tail "
    "prefix/suffix leading/trailing start/end begin/end enable/turn-off activate/deactivate "
    "credit/debit deposit/withdraw income/expense arrive/depart arrival/departure learn/forget "
    "remember/forget archive/restore delete/restore remove/restore delete/recover most/least highest/lowest "
    "high/low tallest/shortest tall/short longest/shortest long/short hottest/coldest youngest/oldest "
    "young/old richest/poorest rich/poor early/late earliest/latest easy/hard soft/hard light/dark "
    "heavy/light cheap/expensive full/empty wet/dry strong/weak thick/thin wide/narrow good/bad "
    "benefits/risks benefit/risk gain/lose male/female man/woman men/women boy/girl he/she husband/wife "
    "mother/father son/daughter north/south east/west summer/winter sunrise/sunset buyer/seller "
    "sender/recipient employer/employee parent/child teacher/student landlord/tenant formal/casual "
    "raw/cooked fresh/stale indoor/outdoor indoors/outdoors key/value keys/values catch/raise catch/throw "
    "squash/split reset/restart reset/reboot"
).split()]
OPPOSITE: dict[str, set[str]] = {}
for _a, _b in OPPOSITES:
    OPPOSITE.setdefault(_a, set()).add(_b)
    OPPOSITE.setdefault(_b, set()).add(_a)
NEGATING_PREFIXES = ("un", "dis", "de", "non", "in", "im", "anti")
# Names that make a question about something else: clouds, services, languages, stores, tools
# (one name each: ``ALIASES`` maps the others to it before they are looked up).
ENTITIES = frozenset("""
    aws azure gcp s3 ec2 lambda dynamodb rds aurora sqs sns kinesis eks ecs fargate cloudfront route53 iam
    cloudwatch cloudformation cdk terraform pulumi ansible kubernetes docker podman helm
    python java javascript typescript go rust ruby php c# c++ kotlin swift scala bash powershell
    postgres mysql sqlite mongodb redis elasticsearch opensearch cassandra kafka rabbitmq
    react vue angular svelte django flask fastapi rails spring express nextjs node deno
    linux windows macos ubuntu debian alpine ios android git github gitlab bitbucket jenkins
    pandas polars numpy scipy pytorch tensorflow spark airflow json yaml xml csv toml protobuf graphql
    rest grpc http https tcp udp ssh ssl tls dns nginx apache excel sheets word pdf""".split())  # noqa: SIM905
# Words people swap when they rephrase; anything else swapped one for one changes the question.
SYNONYMS = [set(group.split()) for group in (
    "remove delete erase drop rid purge", "create make build generate add new set-up setup",
    "get obtain retrieve fetch access grab find", "find locate detect identify discover spot search look check",
    "show display list view print see output", "change modify update edit alter adjust switch",
    "start launch run begin boot kick", "stop halt terminate end kill cancel quit shut",
    "big large huge biggest largest bigger larger", "small tiny little smallest smaller",
    "fast quick quickly speedy fastest quickest faster quicker", "move transfer", "slow slowly sluggish",
    "use utilize employ", "renew rotate refresh regenerate reissue", "enable activate on turn",
    "disable deactivate off", "combine merge join concatenate", "error exception failure",
    "folder directory dir", "way method approach best proper correct right recommended", "size length",
    "specific particular certain",
    "squash merge",
    "install set-up setup", "deadline due", "send post submit", "learn study", "program script app application",
    "picture image photo", "buy purchase", "price cost pricing charge", "help assist support",
    "fix repair resolve solve", "choose select pick", "connect link", "reason cause",
    "happen occur", "number count amount", "instance server machine vm", "ordering order sort",
    "dict dictionary", "repo repository", "deduplicate dedupe unique",
    "rights permission permissions privileges access", "today current now", "display print",
    "test check verify", "configure set configuration config", "document doc docs", "stdout console",
    "sudo root admin administrator superuser", "declare define", "parse decode", "make send issue",
    "write create author", "generate produce", "autumn fall", "manager boss supervisor",
    "employee hire staff worker", "book reserve", "enroll register add sign-up", "decode convert",
)]
SYNONYM: dict[str, set[str]] = {}
for _group in SYNONYMS:
    for _word in _group:
        SYNONYM.setdefault(_word, set()).update(_group)
# What a question asks about a thing: the same thing's time and place, speed and size (in memory,
# on disk), distance and size are different answers. Two questions that each name one, and no
# aspect in common, differ ("time complexity" and "running time" are speed).
ASPECTS = {word: aspect for aspect, words in (
    ("time", "when time times date dates season seasons month months hour hours schedule"),
    ("place", "where place places location locations city cities country countries region regions spot spots"),
    ("speed", "fast faster fastest quick quicker quickest speed speeds slow slower slowest latency performance"),
    ("cost", "cheap cheaper cheapest cost costs price prices pricing expensive afford"),
    ("distance", "far farther further distance distances away"),
    ("size", "big bigger biggest large larger largest size sizes small smaller smallest tall taller height "
             "heavy heavier weight memory ram space storage footprint"),
) for word in words.split()}
QUESTION_KINDS = frozenset(("who", "when", "where", "why"))  # "how" and "what" are often rephrased as each other
DIRECTIONAL = frozenset("to from into onto than vs versus before after over is per as in with".split())  # noqa: SIM905
DETERMINERS = frozenset("a an the its my your our their this that these those".split())  # noqa: SIM905
# Words added to a question that leave its answer as it was ("how do I *quickly* reverse a list").
FILLERS = frozenset("""
    quickly easily simply properly correctly exactly actually really basically best good simple easy quick
    proper correct right recommended possible efficiently fast command steps example code syntax""".split())  # noqa: SIM905


def _tokens(text: str) -> list[str]:
    """Lower-case words and operators ("==", "!=="); possessives dropped ("pod's logs"), a
    sentence's closing dot too ("is."), another name for one thing made one ("golang": "go")."""
    words = re.findall(r"[a-z0-9_.+#'-]+|[=!<>&|^~*/%]+[=!<>&|^~*/%+-]*",
                       re.sub(r"['\u2019]s\b", "", text.lower()))
    return [ALIASES.get(w, w) for w in (w.rstrip(".") or w for w in words)]


def _stem(word: str) -> str:
    """A word's stem, crudely: "approves", "approving", "approved" and "approve" are "approv";
    "ounces" and "ounce" are "ounc"; "classes" and "class" are "class"."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")) and len(word) > 4:
        return word[:-2]
    for suffix in ("ing", "ed", "s", "ly"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _names(text: str) -> set[str]:
    """Words capitalised mid-sentence (or in capitals): the names a question is about."""
    names: set[str] = set()
    for sentence in re.split(r"[.?!:;]\s+|\n", text):
        words = re.findall(r"[A-Za-z][\w+#.-]*", sentence)
        names.update(ALIASES.get(name, name) for name in (w.lower().rstrip(".") for w in words[1:]
                                                          if w[0].isupper() and w != "I"))
    return names


def _negations(tokens: list[str]) -> set[str]:
    """What turns the question around: "not", "without", "prevent", "stop (it) from"."""
    found = set(tokens) & NEGATIONS
    for i, token in enumerate(tokens):
        if token in ("stop", "keep") and "from" in tokens[i + 1:i + 5]:
            found.add("prevent")
    return found


def _exchanged(ta: list[str], tb: list[str]) -> bool:
    """The same words with two of them trading places: around a third ("Did Google acquire
    YouTube?" / "Did YouTube acquire Google?"), or side by side, joined by other words ("the index
    of an item" / "an item by its index"). Two things joined by "and", "or" or "vs" trade places
    in a rephrasing ("a process and a thread" / "a thread and a process")."""
    at_a = [i for i, t in enumerate(ta) if t not in STOPWORDS]
    at_b = [i for i, t in enumerate(tb) if t not in STOPWORDS]
    ca, cb = [_stem(ta[i]) for i in at_a], [_stem(tb[i]) for i in at_b]
    if ca == cb or sorted(ca) != sorted(cb):
        return False
    first = next(i for i, (x, y) in enumerate(zip(ca, cb, strict=True)) if x != y)
    last = max(i for i, (x, y) in enumerate(zip(ca, cb, strict=True)) if x != y)
    if not (ca[first] == cb[last] and ca[last] == cb[first] and ca[first + 1:last] == cb[first + 1:last]):
        return False

    def before(tokens: list[str], at: int) -> str:  # the word a thing comes after, determiners aside
        return next((t for t in reversed(tokens[:at]) if t not in DETERMINERS), "")

    # Each thing still after its own preposition is a phrase moved, not a role changed ("from MySQL
    # to Postgres" / "to Postgres from MySQL"; but "baking soda" is no preposition's).
    if all(before(ta, at_a[i]) == before(tb, at_b[j]) and before(ta, at_a[i]) in STOPWORDS | DIRECTIONAL
           for i, j in ((first, last), (last, first))):
        return False
    if last - first >= 2:
        return True
    # Side by side: only with a word joining them on both sides, and another one ("a Python list" is
    # "a list in Python").
    joined_a, joined_b = ({t for t in tokens[at[first] + 1:at[last]] if t not in DETERMINERS}
                          for tokens, at in ((ta, at_a), (tb, at_b)))
    return bool(joined_a and joined_b and joined_a != joined_b and not ({"and", "or", "vs", "versus", "&"} & joined_a))


def _counted(tokens: list[str]) -> str | None:
    """What a "how many" or "how much" question counts: "how many *cups* are in a kilogram"."""
    for i, token in enumerate(tokens[:-2]):
        if token == "how" and tokens[i + 1] in ("many", "much"):
            return tokens[i + 2]
    return None


def _same_count(x: str | None, y: str | None) -> bool:
    return x is None or y is None or _alike(x, y)


NUMBER = re.compile(r"[0-9][0-9.,:x%]*")


def _numbers(tokens: list[str]) -> list[str]:
    """Quantities, in the order they come: numbers standing alone ("3 replicas", "port 8080"), not
    names that contain digits (S3, EC2, utf8, python3): those are entities, compared as such. The
    order counts: "7 divided by 2" is not "2 divided by 7"."""
    return list(dict.fromkeys(t for t in tokens if NUMBER.fullmatch(t)))


def _opposed(sa: set[str], sb: set[str]) -> bool:
    """An operation or quality in one question whose opposite is in the other (and not in the first)."""
    for mine, theirs in ((sa, sb), (sb, sa)):
        for word in mine - theirs:
            if any(other in theirs and other not in mine for other in OPPOSITE.get(word, ())):
                return True
            if any(word == prefix + other for other in theirs - mine if len(other) > 2 and other not in STOPWORDS
                   for prefix in NEGATING_PREFIXES):  # "unlock" for "lock"; "into" is not "to" negated
                return True
    return False


def _swapped(ta: list[str], tb: list[str]) -> bool:
    """Two words both questions share (as stems: "ounces in a pound" / "pounds in an ounce"), in the
    other order, with the same directional word between them in both: "string to int" / "int to
    string", "Python faster than Java" / "Java faster than Python" (but "from MySQL to Postgres" is
    "to Postgres from MySQL"). "In" relates the two only with no other word of substance between
    ("format it as ISO in Python" / "print a Python date in ISO").
    """
    ta, tb = [_stem(t) for t in ta], [_stem(t) for t in tb]
    shared = [t for t in dict.fromkeys(ta) if t in tb and t not in STOPWORDS and t not in DIRECTIONAL]
    pos_a, pos_b = {t: ta.index(t) for t in shared}, {t: tb.index(t) for t in shared}

    def relation(tokens: list[str], i: int, j: int) -> set[str]:
        between = tokens[min(i, j) + 1:max(i, j)]
        words = {"to" if t in ("into", "onto") else t for t in between} & DIRECTIONAL
        return words - {"in"} if any(t not in STOPWORDS for t in between) else words

    for i, x in enumerate(shared):
        for y in shared[i + 1:]:
            if (pos_a[x] < pos_a[y]) != (pos_b[x] < pos_b[y]) and (
                    relation(ta, pos_a[x], pos_a[y]) & relation(tb, pos_b[x], pos_b[y])):
                return True
    return False


def _alike(x: str, y: str) -> bool:
    return x == y or _stem(x) == _stem(y) or y in SYNONYM.get(x, ()) or _stem(y) in SYNONYM.get(_stem(x), ())


ENDINGS = frozenset("s es ed ing y ly ily ness ment ion ation al ally ic ical time".split())  # noqa: SIM905


def _variants(x: str, y: str) -> bool:
    """Forms of one word, crudely: one word and an ending or two ("day" / "daytime", "leaky" /
    "leaking", "run" / "running"; not "employee" / "employer")."""
    common = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
    tails = [tail[1:] if tail[:1] == x[common - 1:common] else tail for tail in (x[common:], y[common:])]  # "running"
    return common >= 3 and all(tail in ENDINGS or not tail for tail in tails)


def _same_after(ta: list[str], tb: list[str], i: int, j: int) -> bool:
    """The word at ``ta[i]`` is the one at ``tb[j]`` (or both questions end there)."""
    return (ta[i:i + 1] or [""]) == (tb[j:j + 1] or [""])


PLACED = DETERMINERS | DIRECTIONAL | frozenset("of for on at about".split())  # noqa: SIM905  # a noun comes after


def _swapped_in_place(ta: list[str], tb: list[str], span: tuple[int, int, int, int]) -> bool:
    """``ta[i1:i2]`` and ``tb[j1:j2]`` name different things in one place ("from *my landlord*" /
    "from *a car rental company*"): after the same article or preposition and before the same word,
    at most three content words a side (articles aside), none a form or synonym of one on the other."""
    i1, i2, j1, j2 = span
    x = [t for t in ta[i1:i2] if t not in DETERMINERS]
    y = [t for t in tb[j1:j2] if t not in DETERMINERS]
    return (0 < len(x) <= 3 and 0 < len(y) <= 3 and i1 > 0 and j1 > 0 and ta[i1 - 1] == tb[j1 - 1]
            and ta[i1 - 1] in PLACED and _same_after(ta, tb, i2, j2)
            and not (set(x) | set(y)) & (STOPWORDS | FILLERS)
            and not any(_alike(p, q) or _variants(p, q) for p in x for q in y))


TOWARDS, AWAY = frozenset(("to", "into", "onto")), frozenset(("from", "off"))


def _turned(ta: list[str], tb: list[str], span: tuple[int, int, int, int]) -> bool:
    """The same thing moved the other way: "copy a file *to* a remote server" / "... *from* a remote
    server" (one word for the other, before the same word; "to" alone is too often a verb's)."""
    i1, i2, j1, j2 = span
    pair = {*ta[i1:i2], *tb[j1:j2]}
    return i2 - i1 == j2 - j1 == 1 and bool(pair & TOWARDS) and bool(pair & AWAY) and _same_after(ta, tb, i2, j2)


def _kept(ta: list[str], tb: list[str]) -> bool:
    """Most of one question's content words are in the other, in the same order."""
    ca, cb = [t for t in ta if t not in STOPWORDS], [t for t in tb if t not in STOPWORDS]
    same = sum(block.size for block in SequenceMatcher(a=ca, b=cb, autojunk=False).get_matching_blocks())
    return same >= 2 and same * 2 >= min(len(ca), len(cb))


def _substituted(ta: list[str], tb: list[str]) -> bool:
    """A minimal pair: the questions are word for word the same (function words aside) but for one
    short run, whose content words are not synonyms ("monthly cost" / "hourly cost"), or which adds
    a content word the other question has nothing like: a qualifier ("a *vegan* lasagna recipe"), or
    a function word made a content word ("a *for* loop" / "a *while* loop"). Rephrasings change more
    than one place, so they are left to the other checks."""
    opcodes = SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes()
    runs = [(ta[i1:i2], tb[j1:j2]) for op, i1, i2, j1, j2 in opcodes if op != "equal"]
    # The same sentence with a word or two put for others, one for one ("which is bigger, a gigabyte
    # or a gibibyte" / "... a megabyte or a mebibyte"): any word unlike the one it replaced counts.
    # (The same words in another order are for ``_exchanged`` to judge.)
    put = sorted(t for x, _ in runs for t in x) != sorted(t for _, y in runs for t in y)
    if put and runs and all(len(x) == len(y) <= 2 for x, y in runs) and any(
            not _alike(x, y) and x not in STOPWORDS and y not in STOPWORDS
            for xs, ys in runs for x, y in zip(xs, ys, strict=True)):
        return True
    # Or a thing put for another in its place, with words added elsewhere ("unclog a *bathroom* sink"
    # / "unclog a *kitchen* sink with a garbage disposal"): a noun's place, after the same article or
    # preposition and before the same word, in a sentence otherwise kept. (A verb put for another,
    # "how do I *convert*" / "how can I *make*", is how people rephrase.)
    spans = [(i1, i2, j1, j2) for op, i1, i2, j1, j2 in opcodes if op == "replace"]
    if put and any(_swapped_in_place(ta, tb, span) or _turned(ta, tb, span) for span in spans) and _kept(ta, tb):
        return True
    changed = [(x, y, [t for t in x if t not in STOPWORDS], [t for t in y if t not in STOPWORDS]) for x, y in runs]
    changed = [run for run in changed if run[2] or run[3]]
    if len(changed) != 1:
        return False
    raw_mine, raw_theirs, mine, theirs = changed[0]
    if not mine or not theirs:  # content words on one side only: added, or put for function words
        (added, plain, other), asker = ((theirs, raw_mine, ta), tb) if theirs else ((mine, raw_theirs, tb), ta)
        # Only in a question otherwise the same to the letter (rephrasings move function words too),
        # and not a question word's noun ("what food do cats eat" asks what "what do cats eat" does).
        at = asker.index(added[0])
        return (len([x + y for x, y in runs if set(x + y) - DETERMINERS]) == 1  # "in (the) VS Code *terminal*"
                and len(added) == 1 and len(plain) <= 1 and added[0] not in FILLERS
                and not (at and asker[at - 1] in ("what", "which"))
                and not any(_alike(added[0], t) for t in other))
    if not (len(mine) <= 2 and len(theirs) <= 2):
        return False
    # A word swapped for another: each side keeps a word the other has nothing like. (A word only
    # added, "which command lists" for "how do I list", is a rephrasing.)
    return (any(not any(_alike(x, y) for y in theirs) for x in mine)
            and any(not any(_alike(y, x) for x in mine) for y in theirs))


# How many of a thing: "one file" is not "all files" (a pronoun's "one", "which one", aside).
QUANTIFIERS = {"one": "one", "single": "one", "all": "all", "every": "all", "each": "all",
               "multiple": "several", "several": "several", "both": "both", "none": "none"}
PRONOUN_ONE = frozenset("which this that the each every any no".split())  # noqa: SIM905


def _quantifiers(tokens: list[str]) -> set[str]:
    return {QUANTIFIERS[t] for i, t in enumerate(tokens) if t in QUANTIFIERS
            and not (t == "one" and (i == len(tokens) - 1 or (i and tokens[i - 1] in PRONOUN_ONE)))}


def _same_quantifier(ta: list[str], tb: list[str]) -> bool:
    """Unless each question says how many and they say different things."""
    mine, theirs = _quantifiers(ta), _quantifiers(tb)
    return not (mine and theirs) or mine == theirs


def _same_alternatives(ta: list[str], tb: list[str]) -> bool:
    """Things ``ta`` weighs against each other ("the employee *or* the employer", "*between*
    weather *and* climate") are both in ``tb``: about only one of them, or another, it asks
    something else."""
    for i, token in enumerate(ta):
        if token in ("or", "vs", "versus") or (token == "and" and "between" in ta[max(0, i - 4):i]):
            sides = (next((t for t in reversed(ta[:i]) if t not in DETERMINERS), ""),
                     next((t for t in ta[i + 1:] if t not in DETERMINERS), ""))
            if all(side and side not in STOPWORDS for side in sides) and not all(
                    _mentioned(part, tb) for side in sides for part in side.split("-") if part not in STOPWORDS):
                return False
    return True


def _mentioned(word: str, tokens: list[str]) -> bool:
    return any(_alike(word, part) or _variants(word, part) for t in tokens for part in (t, *t.split("-")))


RUN_TIME = frozenset("running run execution cpu response load compile build".split())  # noqa: SIM905  # "... time": speed


def _aspects(tokens: list[str]) -> set[str]:
    padded = ["", *tokens, ""]  # each token with the words either side of it
    return {"speed" if t == "time" and (padded[i + 2] == "complexity" or padded[i] in RUN_TIME) else ASPECTS[t]
            for i, t in enumerate(tokens) if t in ASPECTS}


def _same_aspect(ta: list[str], tb: list[str]) -> bool:
    """Unless each question names an aspect (``ASPECTS``) and they share none."""
    mine, theirs = _aspects(ta), _aspects(tb)
    return not (mine and theirs) or bool(mine & theirs)


def same_question(a: str, b: str) -> bool:
    """Whether an answer to ``a`` serves ``b`` as far as the rules can tell (see the module). The
    cheapest checks first: a lookup verifies every near candidate, and most fail on a number."""
    ta, tb = _tokens(a), _tokens(b)
    sa, sb = set(ta), set(tb)
    return (_numbers(ta) == _numbers(tb)
            and _negations(ta) == _negations(tb)
            and {TIMES[t] for t in sa if t in TIMES} == {TIMES[t] for t in sb if t in TIMES}
            and sa & ENTITIES == sb & ENTITIES
            and sa & QUESTION_KINDS == sb & QUESTION_KINDS
            and sa & COLOURS == sb & COLOURS
            and all(name in sb or _stem(name) in {_stem(t) for t in tb} for name in _names(a))
            and all(name in sa or _stem(name) in {_stem(t) for t in ta} for name in _names(b))
            and _same_count(_counted(ta), _counted(tb))
            and _same_quantifier(ta, tb)
            and _same_alternatives(ta, tb) and _same_alternatives(tb, ta)
            and _same_aspect(ta, tb)
            and not _opposed(sa, sb) and not _swapped(ta, tb) and not _exchanged(ta, tb)
            and not _substituted(ta, tb))
