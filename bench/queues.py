"""The local SQS's cost as a backlog grows: the emulator's time (its call ledger, server side) for
a SendMessage, and the wall time of a ReceiveMessage of ten plus their deletes, with 0, 1e3 and
5e3 messages queued. moto 5.2 walked the backlog several times a call (``cheap_queue_scans`` in
``llm_gateway/local/emulator.py``); a backlog forms whenever the usage ledger or the judge falls
behind a burst of requests. Printed, not asserted."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_gateway.local.emulator import EmulatorProcess


def main() -> None:
    emulator = EmulatorProcess().start()
    try:
        sqs = boto3.client("sqs", endpoint_url=emulator.endpoint, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
        print("== Local SQS as the backlog grows (emulator: moto 5.2 with cheap_queue_scans) ==")
        queued = 0
        for backlog in (0, 1_000, 5_000):
            while queued < backlog:
                sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": "r" * 600} for i in range(10)])
                queued += 10
            emulator.calls(clear=True)
            for _ in range(50):
                sqs.send_message(QueueUrl=url, MessageBody="s" * 600)
            sends = [(c["end"] - c["start"]) * 1000 for c in emulator.calls(clear=True)]
            started = time.perf_counter()
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)])
            receive_ms = (time.perf_counter() - started) * 1000
            queued += 50 - len(received)
            print(f"{backlog:>6} queued   SendMessage {statistics.median(sends):6.2f} ms (emulator)   "
                  f"receive 10 + delete {receive_ms:6.1f} ms")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
