"""A stream consumer used only by the stream tests: each message `{"n": <int>}` is recorded once under its
message id, and a tally counts first applications, in the same transaction. `{"poison": "..."}` is refused.

Run as a process (`python stream_sample.py`) with MONGODB_URI, DB_NAME, AMQP_URI, QUEUE and DELAY (seconds
per batch) set, so a test can kill it with SIGKILL mid-stream."""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence

import pymongo
from pymongo.database import Database

from chassis.mongo import transaction
from chassis.stream import StreamConsumer, StreamMessage, StreamTopology


def topology(queue: str) -> StreamTopology:
    return StreamTopology(exchange=f"{queue}.in", queue=queue)


def handler_for(db: Database, delay: float = 0.0):
    def handle(batch: Sequence[StreamMessage]) -> dict[int, str]:
        poison: dict[int, str] = {}
        bodies = []
        for index, message in enumerate(batch):
            body = json.loads(message.body)
            if "poison" in body:
                poison[index] = f"refused: {body['poison']}"
            else:
                bodies.append((message.message_id, body))

        def apply(uow) -> None:
            ids = [m for m, _ in bodies]
            seen = {d["_id"] for d in uow.collection("applied").find({"_id": {"$in": ids}}, session=uow.session)}
            fresh = [{"_id": m, "n": b["n"]} for m, b in bodies if m not in seen]
            if fresh:
                uow.collection("applied").insert_many(fresh, session=uow.session)
                uow.collection("tally").update_one({"_id": "tally"}, {"$inc": {"count": len(fresh)}}, upsert=True,
                                                   session=uow.session)

        transaction(apply, source="sample", db=db)
        if delay:
            time.sleep(delay)  # after the commit, before the ack: where a kill hurts most
        return poison

    return handle


if __name__ == "__main__":
    client: pymongo.MongoClient = pymongo.MongoClient(os.environ["MONGODB_URI"])
    database = client[os.environ["DB_NAME"]]
    consumer = StreamConsumer(os.environ["AMQP_URI"], topology(os.environ["QUEUE"]),
                              handler_for(database, float(os.environ.get("DELAY", "0"))), batch_size=20, prefetch=40)
    consumer.run(threading.Event())
