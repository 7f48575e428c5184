"""Does a cached answer to one question answer another? The semantic cache's check beyond cosine.

Sentence encoders put "upload a file to S3" next to "download a file from S3", "string to int" next
to "int to string" and "time complexity" next to "space complexity". The rules below reject what
they blur, and err on the side of a model call: a missed paraphrase costs one request, a wrong hit
serves a wrong answer.

- **negation** and **quantities** must agree (numbers standing alone; "S3", "EC2", "python3" are names);
- **names** must agree: known technologies, and words capitalised mid-sentence ("Berlin", "Jira");
- **opposite operations** (add/remove, encrypt/decrypt, ...: ``OPPOSITES``, and un-/dis-/de- forms);
- **swapped operands**: two shared words in the other order across to/from/than/...;
- **the kind of question**: who, when, where and why ask different things;
- **minimal pairs**: two questions the same but for a word or two that are not synonyms
  ("monthly"/"hourly", "keys"/"values") ask different things.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

STOPWORDS = frozenset("""
    a an the to of in on for with by from at as and or is are was were be been do does did how what which
    who whom whose when where why can could should would will shall may might i me my we our you your it
    its this that these those there here into about way please using use via so just some any all
    explain tell describe summarize summarise know""".split())  # noqa: SIM905
NEGATIONS = frozenset("not no never cannot can't don't doesn't isn't aren't won't shouldn't didn't".split())  # noqa: SIM905
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
    "remember/forget"
).split()]
OPPOSITE: dict[str, set[str]] = {}
for _a, _b in OPPOSITES:
    OPPOSITE.setdefault(_a, set()).add(_b)
    OPPOSITE.setdefault(_b, set()).add(_a)
NEGATING_PREFIXES = ("un", "dis", "de", "non", "in", "im", "anti")
# Names that make a question about something else: clouds, services, languages, stores, tools.
ENTITIES = frozenset("""
    aws azure gcp s3 ec2 lambda dynamodb rds aurora sqs sns kinesis eks ecs fargate cloudfront route53 iam
    cloudwatch cloudformation cdk terraform pulumi ansible kubernetes k8s docker podman helm
    python java javascript typescript go golang rust ruby php c# c++ kotlin swift scala bash powershell
    postgres postgresql mysql sqlite mongodb redis elasticsearch opensearch cassandra kafka rabbitmq
    react vue angular svelte django flask fastapi rails spring express nextjs node nodejs deno
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
    "fast quick quickly speedy fastest", "slow slowly sluggish",
    "use utilize employ", "renew rotate refresh regenerate reissue", "enable activate on turn",
    "disable deactivate off", "combine merge join concatenate", "error exception failure",
    "folder directory dir", "way method approach best proper correct right recommended", "size length",
    "install set-up setup", "deadline due", "send post submit", "learn study", "program script app application",
    "picture image photo", "buy purchase", "price cost pricing charge", "help assist support",
    "fix repair resolve solve", "choose select pick", "connect link", "reason cause",
    "happen occur", "number count amount", "instance server machine vm", "ordering order sort",
    "dict dictionary", "repo repository", "deduplicate dedupe unique",
    "rights permission permissions privileges access", "today current now", "display print",
    "test check verify", "configure set configuration config", "document doc docs", "stdout console",
    "sudo root admin administrator superuser", "declare define", "parse decode", "make send issue",
    "write create author", "generate produce",
)]
SYNONYM: dict[str, set[str]] = {}
for _group in SYNONYMS:
    for _word in _group:
        SYNONYM.setdefault(_word, set()).update(_group)
QUESTION_KINDS = frozenset(("who", "when", "where", "why"))  # "how" and "what" are often rephrased as each other
DIRECTIONAL = frozenset("to from into onto than vs versus before after over is per as".split())  # noqa: SIM905


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_.+#'-]+", re.sub(r"['\u2019]s\b", "", text.lower()))  # possessives: "pod's logs"


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def _names(text: str) -> set[str]:
    """Words capitalised mid-sentence (or in capitals): the names a question is about."""
    names: set[str] = set()
    for sentence in re.split(r"[.?!:;]\s+|\n", text):
        words = re.findall(r"[A-Za-z][\w+#.-]*", sentence)
        names.update(w.lower().rstrip(".") for w in words[1:] if w[0].isupper() and w != "I")
    return names


def _numbers(tokens: list[str]) -> set[str]:
    """Quantities: numbers standing alone ("3 replicas", "port 8080"), not names that contain digits
    (S3, EC2, utf8, python3): those are entities, compared as such."""
    return {t for t in tokens if re.fullmatch(r"[0-9][0-9.,:x%]*", t)}


def _opposed(sa: set[str], sb: set[str]) -> bool:
    """An operation or quality in one question whose opposite is in the other (and not in the first)."""
    for mine, theirs in ((sa, sb), (sb, sa)):
        for word in mine - theirs:
            if any(other in theirs and other not in mine for other in OPPOSITE.get(word, ())):
                return True
            if any(word == prefix + other for other in theirs - mine for prefix in NEGATING_PREFIXES):
                return True
    return False


def _swapped(ta: list[str], tb: list[str]) -> bool:
    """Two words both questions share, in the other order, with a directional word between them in
    both: "string to int" / "int to string", "Python faster than Java" / "Java faster than Python"."""
    shared = [t for t in dict.fromkeys(ta) if t in tb and t not in STOPWORDS and t not in DIRECTIONAL]
    pos_a, pos_b = {t: ta.index(t) for t in shared}, {t: tb.index(t) for t in shared}
    for i, x in enumerate(shared):
        for y in shared[i + 1:]:
            if (pos_a[x] < pos_a[y]) == (pos_b[x] < pos_b[y]):
                continue
            between_a = ta[min(pos_a[x], pos_a[y]) + 1:max(pos_a[x], pos_a[y])]
            between_b = tb[min(pos_b[x], pos_b[y]) + 1:max(pos_b[x], pos_b[y])]
            if DIRECTIONAL & set(between_a) and DIRECTIONAL & set(between_b):
                return True
    return False


def _alike(x: str, y: str) -> bool:
    return x == y or _stem(x) == _stem(y) or y in SYNONYM.get(x, ()) or _stem(y) in SYNONYM.get(_stem(x), ())


def _substituted(ta: list[str], tb: list[str]) -> bool:
    """A minimal pair: the questions are word for word the same (function words aside) but for one
    short run, whose content words are not synonyms ("monthly cost" / "hourly cost"). Rephrasings
    change more than one place, so they are left to the other checks."""
    runs = [(ta[i1:i2], tb[j1:j2]) for op, i1, i2, j1, j2 in SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes()
            if op != "equal"]
    changed = [([t for t in x if t not in STOPWORDS], [t for t in y if t not in STOPWORDS]) for x, y in runs]
    changed = [(x, y) for x, y in changed if x or y]
    if len(changed) != 1:
        return False
    mine, theirs = changed[0]
    if not (0 < len(mine) <= 2 and 0 < len(theirs) <= 2):
        return False
    # A word swapped for another: each side keeps a word the other has nothing like. (A word only
    # added, "which command lists" for "how do I list", is a rephrasing.)
    return (any(not any(_alike(x, y) for y in theirs) for x in mine)
            and any(not any(_alike(y, x) for x in mine) for y in theirs))


def same_question(a: str, b: str) -> bool:
    """Whether an answer to ``a`` serves ``b`` as far as the rules can tell (see the module)."""
    ta, tb = _tokens(a), _tokens(b)
    sa, sb = set(ta), set(tb)
    checks = (
        sa & NEGATIONS == sb & NEGATIONS,
        _numbers(ta) == _numbers(tb),
        sa & ENTITIES == sb & ENTITIES,
        all(name in sb or _stem(name) in {_stem(t) for t in tb} for name in _names(a))
        and all(name in sa or _stem(name) in {_stem(t) for t in ta} for name in _names(b)),
        sa & QUESTION_KINDS == sb & QUESTION_KINDS,
    )
    return all(checks) and not _opposed(sa, sb) and not _swapped(ta, tb) and not _substituted(ta, tb)
