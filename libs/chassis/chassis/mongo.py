"""MongoDB for one service: its own database, indexes, and a unit of work.

mongoengine 0.29 has no transaction helper, so `transaction()` runs a pymongo
session transaction (with the driver's retry on transient errors) and the unit
of work writes documents through their collections with that session. Events
published through the unit of work land in the service's `outbox` collection in
the same transaction as the state change; `chassis.outbox` relays them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar

import bson
import mongoengine
from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from chassis.contracts import validate_event_data
from chassis.envelope import CloudEvent, new_event
from chassis.errors import NotFound
from chassis.settings import Settings
from chassis.telemetry import current_traceparent

T = TypeVar("T")
OUTBOX = "outbox"
COUNTERS = "counters"
LOCKS = "entity_locks"
JOBS, JOB_STEPS = "jobs", "job_steps"  # chassis.jobs


def connect(settings: Settings, alias: str = "default") -> Database:
    """Connect mongoengine's alias to this service's database and return it."""
    mongoengine.disconnect(alias)
    mongoengine.connect(
        db=settings.database,
        host=settings.mongodb_uri,
        alias=alias,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
    )
    return mongoengine.get_db(alias)


def database(alias: str = "default") -> Database:
    return mongoengine.get_db(alias)


def get_or_not_found(document: type[mongoengine.Document], entity_id: Any, what: str) -> Any:
    """The document with this id, or `NotFound("<what> <id> does not exist")`."""
    found = document.objects(id=entity_id).first()
    if found is None:
        raise NotFound(f"{what} {entity_id} does not exist")
    return found


def ensure_indexes(documents: Iterable[type[mongoengine.Document]], db: Database | None = None) -> None:
    """Create every index the service declares: its documents' and the chassis' own."""
    for document in documents:
        # mongoengine caches a collection per class; a class it cannot find by name in its registry (two
        # services may name a document alike) keeps the one of a closed connection after a reconnect.
        document._collection = None
        document.ensure_indexes()
    db = db if db is not None else database()
    db[OUTBOX].create_index([("published_at", 1), ("created_at", 1)])
    # Published outbox records are kept a week for diagnosis, then expire.
    db[OUTBOX].create_index("published_at_ttl", expireAfterSeconds=7 * 24 * 3600)
    db["applied_events"].create_index("applied_at", expireAfterSeconds=30 * 24 * 3600)
    db[LOCKS].create_index("at", expireAfterSeconds=30 * 24 * 3600)
    # Ids discarded by saga compensations (chassis.discarded) are refused for a month.
    db["discarded_ids"].create_index("discarded_at", expireAfterSeconds=30 * 24 * 3600)
    db[JOBS].create_index([("kind", 1), ("status", 1), ("created_at", -1)])
    db[JOBS].create_index([("status", 1), ("lease_until", 1)])
    db[JOB_STEPS].create_index("job_id")


# Statements per `update` command: far below the 16 MB a command document may hold (a statement is ~200 bytes).
UPDATES_PER_COMMAND = 10_000


@dataclass(frozen=True)
class Updated:
    """What an `update` command (or several) did: documents matched, modified, and the ids upserted by index."""

    matched: int
    modified: int
    upserted: dict[int, Any]


@dataclass
class WriteTally:
    """The replies of one write sent as several commands (`insert` or `update`), added up as one: the counts,
    the upserted ids and the write errors by index in the whole write, raised as `bulk_write` raises them."""

    n: int = 0
    modified: int = 0
    upserted: dict[int, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    concern_errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, offset: int, reply: dict[str, Any]) -> None:
        """A command's reply, for the statements or documents from `offset` of the whole write."""
        self.n += reply.get("n", 0)
        self.modified += reply.get("nModified", 0)
        self.upserted.update((offset + u["index"], u["_id"]) for u in reply.get("upserted", []))
        self.errors += [{**e, "index": offset + e["index"]} for e in reply.get("writeErrors", [])]
        if "writeConcernError" in reply:
            self.concern_errors.append(reply["writeConcernError"])

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.concern_errors)

    def raise_failed(self, inserting: bool = False) -> None:
        if not self.failed:
            return
        upserted = len(self.upserted)
        raise BulkWriteError({
            "writeErrors": self.errors, "writeConcernErrors": self.concern_errors,
            "nInserted": self.n if inserting else 0, "nUpserted": upserted,
            "nMatched": 0 if inserting else self.n - upserted, "nModified": self.modified, "nRemoved": 0,
            "upserted": [{"index": i, "_id": v} for i, v in self.upserted.items()]})

    def updated(self) -> Updated:
        return Updated(self.n - len(self.upserted), self.modified, self.upserted)


class UnitOfWork:
    """Writes of one transaction. Obtain one from `transaction()`.

    `find_documents`, `insert_documents`, `update_documents` and the events are a hot path's commands: plain
    documents, no mongoengine, the same on pymongo's session here and on the wire (`chassis.mongo_wire`)."""

    def __init__(self, db: Database, session: ClientSession, source: str):
        self.db = db
        self.session = session
        self.source = source
        self.events: list[CloudEvent] = []

    def collection(self, target: type[mongoengine.Document] | str) -> Collection:
        if isinstance(target, str):
            return self.db[target]
        return self.db[target._get_collection_name()]

    def insert(self, doc: mongoengine.Document) -> Any:
        """Insert `doc`; returns it as a later read returns it (`stored`), without reading it back."""
        doc.validate()
        son = doc.to_mongo()
        result = self.collection(type(doc)).insert_one(son, session=self.session)
        doc.pk = result.inserted_id
        return self.stored(type(doc), son)

    def insert_many(self, docs: list[Any]) -> list[Any]:
        """Insert documents of one class in one round trip (ordered: a `BulkWriteError` names the first one
        refused, nothing after it is written); returns them as a later read returns them."""
        if not docs:
            return []
        sons = []
        for doc in docs:
            doc.validate()
            sons.append(doc.to_mongo())
        self.collection(type(docs[0])).insert_many(sons, ordered=True, session=self.session)
        return [self.stored(type(doc), son) for doc, son in zip(docs, sons, strict=True)]

    def stored(self, target: type[mongoengine.Document], son: Any) -> Any:
        """The document as MongoDB hands it back: BSON keeps datetimes to the millisecond, so an answer built
        from this shows what a later read shows. An in-process BSON round trip with the database's codec
        options, instead of a read-back query in the transaction."""
        options = self.db.codec_options
        return target._from_son(bson.decode(bson.encode(son, codec_options=options), codec_options=options))

    def find_documents(self, collection: str, query: dict[str, Any], projection: dict[str, Any] | None = None
                       ) -> list[dict[str, Any]]:
        """Every document matching `query`; instants read as `datetime.timezone.utc` (comparing datetimes of two
        tzinfo objects calls bson's pure-Python FixedOffset on every comparison)."""
        return list(self._utc_db[collection].find(query, projection, session=self.session))

    @cached_property
    def _utc_db(self) -> Database:
        return self.db.with_options(codec_options=self.db.codec_options.with_options(tz_aware=True, tzinfo=UTC))

    def insert_documents(self, collection: str, documents: list[dict[str, Any]], *, ordered: bool) -> None:
        """Insert `documents` (a `BulkWriteError` names those refused)."""
        self.db[collection].insert_many(documents, ordered=ordered, session=self.session)

    def update_documents(self, collection: str, statements: list[dict[str, Any]], *, ordered: bool = False
                         ) -> Updated:
        """`statements` (the `update` command's `{q, u, upsert}`) in commands of our own: building a
        `pymongo.UpdateOne` each (its validation and the bulk API's bookkeeping) cost the stream about a tenth
        of its CPU. Errors surface as `bulk_write`'s would."""
        tally = WriteTally()
        for start in range(0, len(statements), UPDATES_PER_COMMAND):
            tally.add(start, self.db.command("update", collection, ordered=ordered, session=self.session,
                                             updates=statements[start:start + UPDATES_PER_COMMAND]))
            tally.raise_failed()
        return tally.updated()

    def replace(self, doc: mongoengine.Document) -> None:
        doc.validate()
        self.collection(type(doc)).replace_one({"_id": doc.pk}, doc.to_mongo(), session=self.session)

    def find_one(self, target: type[mongoengine.Document], query: dict[str, Any]) -> Any:
        raw = self.collection(target).find_one(query, session=self.session)
        if raw is None or isinstance(target, str):
            return raw
        return target._from_son(raw)

    def lock(self, key: str) -> None:
        """Serialise transactions about one entity (e.g. `customer:42`).

        Snapshot isolation lets two concurrent transactions each check something the other is
        writing (a create checking for a tombstone, a purge writing it) and both commit: write skew.
        Writing the same lock document makes them conflict; the driver retries the later one, which
        then sees what the first committed.
        """
        self.update_documents(LOCKS, [{"q": {"_id": key}, "u": {"$inc": {"writes": 1}, "$currentDate": {"at": True}},
                                       "upsert": True}])

    def next_sequence(self, name: str) -> int:
        return next_sequence(self.db, name, self.session)

    def publish(self, event_type: str, data: dict[str, Any], subject: str | None = None) -> CloudEvent:
        """Record an event in the outbox; it is published only if the transaction commits."""
        return self.publish_many([(event_type, data, subject)])[0]

    def publish_many(self, events: Iterable[tuple[str, dict[str, Any], str | None]]) -> list[CloudEvent]:
        """Record several events `(type, data, subject)` with one outbox write (a batch's many events)."""
        made = []
        for event_type, data, subject in events:
            validate_event_data(event_type, data)
            made.append(new_event(event_type, self.source, data, subject=subject, traceparent=current_traceparent()))
        if made:
            now = datetime.now(UTC)
            self.insert_documents(OUTBOX, [{"_id": e.id, "type": e.type, "envelope": e.to_dict(), "created_at": now,
                                            "published_at": None, "attempts": 0} for e in made], ordered=True)
        self.events.extend(made)
        return made


def transaction(fn: Callable[[UnitOfWork], T], *, source: str, db: Database | None = None) -> T:
    """Run `fn` in one MongoDB transaction, retried by the driver on transient errors.

    `fn` must do nothing outside the database: it may run more than once.
    """
    db = db if db is not None else database()
    with db.client.start_session() as session:
        return session.with_transaction(
            lambda s: fn(UnitOfWork(db, s, source)),
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority"),
        )


def next_sequence(db: Database, name: str, session: ClientSession | None = None) -> int:
    """Atomic counter: 1, 2, 3, ... Inside a transaction it is gap-free."""
    doc = db[COUNTERS].find_one_and_update(
        {"_id": name},
        {"$inc": {"value": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    return int(doc["value"])  # type: ignore[index]  # upsert + AFTER always returns the document
