"""``mips batch`` and ``mips adjust`` on Spark: the same array kernels, hierarchy and budget neutrality over DataFrames,
giving the same rows as the single-process job (``engine.batch.job``, ``engine.batch.adjust``).

* ``score_frame``: a DataFrame of submissions (JSON text) scored batch by batch with ``mapInArrow``; the rulebook is
  broadcast, so executors never read YAML. One row out per row in: scored, or refused with its message.
* ``adjust_frame``: the hierarchy as Spark SQL (each TIN/NPI's candidates joined, the best one per TIN/NPI by a
  grouped minimum), then budget neutrality as a reduction: partial sums per partition, the factors solved on the
  driver from those few rows, the adjustments applied partition by partition with the sums of the partitions before.
* ``session``: a local SparkSession whose Python workers run this interpreter (running on a cluster: its docstring).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from pyspark import TaskContext
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from engine.batch import adjust, job, layout, typed
from engine.batch.runner import score_many
from engine.population import hierarchy as h
from engine.population import neutrality as n
from engine.rules.model import Rulebook
from engine.scoring.columnar import compiled
from engine.scoring.fixed import precision

SCORED, REFUSED = "scored", "refused"
STATUS = pa.schema([("position", pa.int64()), ("status", pa.string()), ("message", pa.string())])
ORIGIN = "document"  # the file a row's place names: a DataFrame row has none, its position tells it
_NO_CANDIDATES = h.Candidates(*(np.zeros(0, np.int64),) * 6)


def session(app: str = "mips", master: str = "local[2]", config: Mapping[str, str] | None = None) -> SparkSession:
    """A local SparkSession whose Python workers run this interpreter (``PYSPARK_PYTHON``), so that they import the
    engine and its dependencies; no UI, 4 shuffle partitions, then ``config``.

    On a cluster, submit an application instead (``spark-submit app.py``, which loads the rulebook with
    ``engine.load`` and calls ``score_frame`` and ``adjust_frame``). The executors' Python needs the package
    installed with its dependencies (``pip install 'mips-rules-engine[spark]'``, or the built wheel, on every node),
    or a packed virtual environment that has it: ``venv-pack -o env.tar.gz``, then ``PYSPARK_DRIVER_PYTHON=python
    PYSPARK_PYTHON=./env/bin/python spark-submit --archives env.tar.gz#env app.py``. ``--py-files`` of the wheel
    does not do: the engine reads its JSON schemas from the installed files, which a zip on the path does not give.
    Executors never read the rulebook's YAML: it is broadcast from the driver."""
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    builder = SparkSession.builder.appName(app).master(master).config("spark.ui.enabled", "false") \
        .config("spark.sql.shuffle.partitions", "4")
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


# ------------------------------------------------------------------------------------------------ scoring


def _read(chunk: layout.Chunk, where: layout.Where, document: str | None, profile: str | None) -> None:
    """One input row into ``chunk`` (a document or a refusal): the document read as a JSON Lines line (its profile
    under ``profile``), the ``profile`` column, when not null, giving the profile instead."""
    if document is None:
        chunk.refuse(where, "no document (null)")
        return
    try:
        facts = None if profile is None else layout.parse_json(profile, "profile")
    except ValueError as exc:
        chunk.refuse(where, str(exc))
        return
    line = layout.Chunk(0)
    layout.parse_line(line, where, document.encode())
    if line.refusals:
        chunk.refuse(where, line.refusals[0].message)
    else:
        chunk.add(where, line.documents[0], line.profiles[0] if facts is None else facts)


def _score_batch(book: Rulebook, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch of input rows scored: one output row per input row, in order, with ``schema``'s columns."""
    positions = batch.column("position").to_pylist()
    chunk = layout.Chunk(0)  # its positions are the rows of the batch
    for position, document, profile in zip(positions, batch.column("document").to_pylist(),
                                           batch.column("profile").to_pylist(), strict=True):
        _read(chunk, layout.Where(ORIGIN, row=position), document, profile)
    result = score_many(book, chunk.documents, chunk.profiles)
    refusals = chunk.refusals + [layout.Refusal(chunk.positions[index], layout.Where(ORIGIN), message)
                                 for index, message in result.refused]
    return _rows(pa.array(positions, pa.int64()), job.results_table(chunk, result, precision(book).one), refusals, schema)


def _rows(positions: pa.Array, table: pa.Table, refusals: list[layout.Refusal], schema: pa.Schema) -> pa.RecordBatch:
    """One output row per input row, in order: ``table``'s results (its ``position``: the row in the batch) and the
    refusals (by row in the batch), each row given its input position from ``positions``."""
    size = len(positions)
    messages: list[str | None] = [None] * size
    for refusal in refusals:
        messages[refusal.position] = refusal.message
    row_of = np.full(size, -1, dtype=np.int64)
    row_of[table.column("position").to_numpy()] = np.arange(table.num_rows)
    taken = pa.array(row_of, mask=row_of < 0)
    columns = [positions, pa.array(np.where(row_of >= 0, SCORED, REFUSED), pa.string()), pa.array(messages, pa.string())]
    for target in list(schema)[len(STATUS):]:
        columns.append(table.column(target.name).take(taken).combine_chunks().cast(target.type)
                       if target.name in table.column_names and table.num_rows else pa.nulls(size, target.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _score_layout_batch(book: Rulebook, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch of the population layout's columns scored from its typed columns (rows holding JSON text read as
    JSON): one output row per input row, in order."""
    one = precision(book).one
    scored = typed.score(book, batch, ORIGIN, 0)
    chunk = layout.json_rows(scored.conformed, scored.problems, ORIGIN, 0, scored.to_json)
    result = score_many(book, chunk.documents, chunk.profiles)
    tables = [job.typed_table(scored, ORIGIN, one), job.results_table(chunk, result, one)]
    refusals = scored.refusals + chunk.refusals + [layout.Refusal(chunk.positions[index], layout.Where(ORIGIN), message)
                                                   for index, message in result.refused]
    table = pa.concat_tables([t.select(tables[0].column_names).cast(tables[0].schema) for t in tables if t.num_rows]) \
        if any(t.num_rows for t in tables) else tables[0]
    return _rows(batch.column("position"), table, refusals, schema)


def result_schema(book: Rulebook) -> pa.Schema:
    """The rows ``score_frame`` gives: position, status, message, then the entity and result columns of a results file
    (``job.results_schema``; not its ``source``: a row's position tells it)."""
    return pa.schema([*STATUS, *(f for f in job.results_schema(book) if f.name not in ("position", "source"))])


def score_frame(df: DataFrame, book: Rulebook) -> DataFrame:
    """Score every row of ``df``: ``document`` (a QPP submission as JSON text, any form the engine accepts; a profile
    may sit under its ``profile`` key, as in JSON Lines), optional ``profile`` (JSON text, or null) and optional
    ``position`` (long; else a monotonically increasing id). One row out per row in: ``result_schema(book)``,
    the result columns null where the row is refused (status ``refused``, with its message)."""
    schema = result_schema(book)
    shared = df.sparkSession.sparkContext.broadcast(book)
    position = F.col("position").cast("long") if "position" in df.columns else F.monotonically_increasing_id()
    profile = F.col("profile") if "profile" in df.columns else F.lit(None)
    rows = df.select(position.alias("position"), F.col("document").cast("string").alias("document"),
                     profile.cast("string").alias("profile"))

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield _score_batch(shared.value, batch, schema)

    return rows.mapInArrow(score, from_arrow_schema(schema))


def read_layout(spark: SparkSession, path: str | Path) -> DataFrame:
    """A Parquet file of the population layout (docs/population-layout.md) as a DataFrame of its columns, each row's
    ``position`` its row in the file."""
    frame = spark.read.parquet(str(path))
    return frame.select(F.col("_metadata.row_index").alias("position"),
                        *[F.col(name) for name in layout.SUBMISSIONS.names if name in frame.columns])


def score_layout(df: DataFrame, book: Rulebook) -> DataFrame:
    """Score a DataFrame of the population layout's columns with a ``position`` (``read_layout``) from its typed
    columns, batch by batch with ``mapInArrow`` (``engine.batch.typed``; rows holding JSON text read as JSON), the
    rulebook broadcast: the rows ``score_frame`` gives, as ``mips batch`` scores a Parquet file."""
    schema = result_schema(book)
    shared = df.sparkSession.sparkContext.broadcast(book)

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield _score_layout_batch(shared.value, batch, schema)

    return df.mapInArrow(score, from_arrow_schema(schema))


# ------------------------------------------------------------------------------------------------ adjusting


def _scores(results: DataFrame, one: int) -> DataFrame:
    """Each scored entity's final score (fixed point) by kind (index into ``hierarchy.KINDS``) and key: ``k0`` (the
    TIN or the id) and ``k1`` (an individual's NPI, else "")."""
    kind: Column = F.lit(None)
    for entity_type, name in layout.KINDS.items():
        kind = F.when(F.col("entity_type") == entity_type, F.lit(h.KINDS.index(name))).otherwise(kind)
    individual, group = F.col("entity_type") == "individual", F.col("entity_type") == "group"
    return (results.where(F.col("final_score").isNotNull())
            .select(kind.alias("kind"), F.when(individual | group, F.col("tin")).otherwise(F.col("entity_id")).alias("k0"),
                    F.when(individual, F.col("npi")).otherwise(F.lit("")).alias("k1"),
                    F.bround(F.col("final_score") * one).cast("long").alias("score"))
            .where(F.col("kind").isNotNull()))


def _unique(scores: DataFrame) -> None:
    """A scored entity with two final scores is refused, as ``hierarchy.choose`` refuses it."""
    twice = scores.groupBy("kind", "k0", "k1").count().where(F.col("count") > 1).select("kind").limit(1).collect()
    if twice:
        raise ValueError(f"a {h.KINDS[twice[0]['kind']]} has more than one final score")


def _asks(people: DataFrame, p: h.HierarchyParams) -> Column:
    """Per TIN/NPI, the scored entities that would cover it, one struct each: kind, its step (-1: no step names it)
    and position among the step's sources, membership (an APM Entity's place in the row's list) and key."""
    place = {source: (index, position) for index, step in enumerate(p.steps) for position, source in enumerate(step.sources)}

    def ask(kind: str, member: Column, k0: Column, k1: Column) -> Column:
        step, position = place.get(kind, (-1, 0))
        return F.struct(F.lit(h.KINDS.index(kind)).alias("kind"), F.lit(step).alias("step"),
                        F.lit(position).alias("position"), member.alias("member"), k0.alias("k0"), k1.alias("k1"))

    none = F.lit("")
    virtual = F.col("virtual_group") if "virtual_group" in people.columns else F.lit(None).cast("string")
    apm = F.coalesce(F.col("apm_entities"), F.array().cast("array<string>")) if "apm_entities" in people.columns \
        else F.array().cast("array<string>")
    return F.concat(F.array(ask("individual", F.lit(0), F.col("tin"), F.col("npi")), ask("group", F.lit(0), F.col("tin"), none),
                            ask("virtual_group", F.lit(0), virtual, none)),
                    F.transform(apm, lambda entity, index: ask("apm_entity", index, entity, none)))


def _choose(people: DataFrame, scores: DataFrame, p: h.HierarchyParams) -> DataFrame:
    """Each TIN/NPI's choice, from one pass over ``people`` and one join: of its candidates (the scored entities that
    cover it) the one of a named step with the lowest step, then the highest score, then the source listed first in
    the step, then the membership listed first (``hierarchy.choose``); and how many candidates it had."""
    asks = people.select("row", "tin", "npi", "paid_cents", F.explode(_asks(people, p)).alias("ask")).select("*", "ask.*")
    found = asks.join(scores, ["kind", "k0", "k1"], "left")
    rank = F.struct("step", (-F.col("score")).alias("less"), "position", "member", "score", "kind")
    return (found.groupBy("row", "tin", "npi", "paid_cents")
            .agg(F.count("score").alias("candidates"),
                 F.min(F.when((F.col("step") >= 0) & F.col("score").isNotNull(), rank)).alias("best"))
            .select(F.col("row").cast("long").alias("row"), "tin", "npi", F.col("paid_cents").cast("long").alias("paid_cents"),
                    F.coalesce("best.score", F.lit(0)).cast("long").alias("score"),
                    F.coalesce("best.kind", F.lit(-1)).cast("int").alias("kind"),
                    F.coalesce("best.step", F.lit(-1)).cast("int").alias("step"),
                    F.col("candidates").cast("long").alias("candidates")))


CHOSEN = pa.schema([("row", pa.int64()), ("tin", pa.string()), ("npi", pa.string()), ("paid_cents", pa.int64()),
                    ("score", pa.int64()), ("kind", pa.int32()), ("step", pa.int32()), ("candidates", pa.int64())])
SUMS = pa.schema([("partition", pa.int32()), ("rows", pa.int64()), ("first", pa.int64()), ("sums", pa.string())])


@dataclass(frozen=True)
class _Plan:
    """What each partition of the second pass needs: the factors, and by partition index the rows and first row
    the first pass saw and the sums of the partitions before it."""

    factors: n.Factors
    partitions: dict[int, tuple[int, int | None, n.Sums]]


def _covered(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch's rows that a score covers, and their final scores and paid amounts."""
    covered = np.flatnonzero(batch.column("step").to_numpy() >= 0)
    return covered, batch.column("score").to_numpy()[covered], batch.column("paid_cents").to_numpy()[covered]


def _partial(book: Rulebook, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A partition's reduction: its index, rows, first row and partial sums (JSON: exact integers)."""
    p = compiled(book).final
    sums, rows, first = n.Sums(), 0, None
    for batch in batches:
        _, score, paid = _covered(batch)
        sums += n.partial_sums(p, score, paid)
        first = batch.column("row")[0].as_py() if first is None and batch.num_rows else first
        rows += batch.num_rows
    yield pa.RecordBatch.from_pylist([{"partition": _partition(), "rows": rows, "first": first,
                                       "sums": json.dumps(dataclasses.asdict(sums))}], schema=SUMS)


def _partition() -> int:
    context = TaskContext.get()
    if context is None:
        raise RuntimeError("not in a Spark task")
    return context.partitionId()


def _adjusted(book: Rulebook, factors: n.Factors, batch: pa.RecordBatch, before: n.Sums) -> tuple[pa.Table, n.Sums]:
    """A batch's TIN/NPIs adjusted, given the sums of the rows before it: ``row``, then ``adjust.adjustment_table``'s columns;
    and the sums of the rows up to the batch's end."""
    p, size = compiled(book).final, batch.num_rows
    covered, score, paid = _covered(batch)
    choice = h.Choice(batch.column("score").to_numpy(), batch.column("kind").to_numpy().astype(np.int8),
                      np.full(size, -1, np.int64), batch.column("step").to_numpy().astype(np.int64),
                      batch.column("candidates").to_numpy(), _NO_CANDIDATES, h.hierarchy_params(book).names)
    table = adjust.adjustment_table(batch.column("tin"), batch.column("npi"), batch.column("paid_cents").to_numpy(), choice,
                                    covered, n.apply(p, score, paid, factors, before), precision(book).one)
    return table.add_column(0, "row", batch.column("row")), before + n.partial_sums(p, score, paid)


def _apply(book: Rulebook, plan: _Plan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The second pass over a partition: its rows adjusted, after checking that it holds the rows it held in the
    first."""
    index = _partition()
    rows, first, before = plan.partitions.get(index, (0, None, n.Sums()))
    seen, start = 0, None
    for batch in batches:
        start = batch.column("row")[0].as_py() if start is None and batch.num_rows else start
        seen += batch.num_rows
        table, before = _adjusted(book, plan.factors, batch, before)
        yield from table.to_batches()
    if (seen, start) != (rows, first):
        raise RuntimeError(f"partition {index} holds other rows than in the first pass ({seen} from row {start}, "
                           f"then {rows} from row {first})")


def _plan(factors: n.Factors, parts: list[tuple[int, int, int | None, n.Sums]]) -> _Plan:
    """The factors, and by partition index its rows, its first row and the sums of the partitions before it."""
    before, partitions = n.Sums(), {}
    for index, rows, first, sums in sorted(parts, key=lambda part: part[0]):
        partitions[index] = (rows, first, before)
        before = before + sums
    return _Plan(factors, partitions)


def adjust_frame(results_df: DataFrame, entities_df: DataFrame, book: Rulebook, pool_cents: int | None = None,
                 partitions: int | None = None) -> tuple[DataFrame, n.Factors]:
    """The Payment Adjustment rows of every TIN/NPI of ``entities_df`` and the population's factors, as
    ``engine.batch.adjust.adjust`` gives them: ``row``, then the same columns.

    ``results_df``: rows of ``score_frame`` or of ``mips batch``'s results (``entity_type``, ``tin``, ``npi``,
    ``entity_id``, ``final_score``; null scores are left out). ``entities_df``: ``entities.parquet``'s columns,
    rows as ``layout.read_entities`` accepts them, with an optional ``row`` (long) that orders the TIN/NPIs (else
    a monotonically increasing id: the order read). ``pool_cents``: the exceptional pool (else the rulebook's).
    ``partitions``: how many ranges of rows budget neutrality runs over (else the default parallelism). The
    TIN/NPIs are range-partitioned by ``row`` and checkpointed, so that both passes see the same partitions."""
    spark, p = entities_df.sparkSession, compiled(book).final
    people = entities_df if "row" in entities_df.columns else entities_df.withColumn("row", F.monotonically_increasing_id())
    scores = _scores(results_df, precision(book).one)
    _unique(scores)
    frame = (_choose(people, scores, h.hierarchy_params(book))
             .repartitionByRange(partitions or spark.sparkContext.defaultParallelism, "row")
             .sortWithinPartitions("row").localCheckpoint())
    shared = spark.sparkContext.broadcast(book)
    parts = [(part["partition"], part["rows"], part["first"], n.Sums(**json.loads(part["sums"])))
             for part in frame.mapInArrow(lambda batches: _partial(shared.value, batches), from_arrow_schema(SUMS)).collect()]
    pool = n.pool_params(book)
    factors = n.solve(p, n.combine(part[3] for part in parts), pool.pool_cents if pool_cents is None else pool_cents,
                      pool.maximum)
    plan = spark.sparkContext.broadcast(_plan(factors, parts))
    schema = _adjusted(book, factors, pa.RecordBatch.from_pylist([], schema=CHOSEN), n.Sums())[0].schema
    return frame.mapInArrow(lambda batches: _apply(shared.value, plan.value, batches), from_arrow_schema(schema)), factors
