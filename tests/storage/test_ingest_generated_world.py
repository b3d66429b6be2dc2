"""A world from the generator loads completely, twice without change, and without clear codes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from scoring.domain.personal_code import is_valid
from scoring.storage.ingest import ingest_world
from scoring.storage.tables import Base

from .conftest import FILE_OF_TABLE, PSEUDONYM_KEY, stored_text_values

world = pytest.importorskip("models.world", reason="the world generator is not installed")


@pytest.fixture(scope="module")
def generated_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated") / "world"
    generated = world.generate_world(customers=500, seed=20260630, as_of=date(2026, 6, 30))
    return world.write_world(generated, folder)


def test_a_generated_world_loads_completely_and_idempotently(
    migrated_engine: Engine, generated_world: Path
) -> None:
    first = ingest_world(
        world_dir=generated_world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY
    )
    second = ingest_world(
        world_dir=generated_world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY
    )

    with migrated_engine.connect() as connection:
        for table, file in FILE_OF_TABLE.items():
            rows = pq.read_metadata(generated_world / file).num_rows
            stored = connection.scalar(
                select(func.count()).select_from(Base.metadata.tables[table])
            )
            assert stored == rows == first.tables[table].inserted, table
            assert second.tables[table].already_present == rows, table
    assert second.inserted == 0


def test_nothing_of_the_protected_or_truth_files_reaches_the_database(
    migrated_engine: Engine, generated_world: Path
) -> None:
    ingest_world(world_dir=generated_world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY)

    values = stored_text_values(migrated_engine)
    codes = [
        candidate
        for value in values
        for candidate in re.findall(r"(?<!\d)\d{11}(?!\d)", value)
        if is_valid(candidate)
    ]
    columns = {column.name for table in Base.metadata.tables.values() for column in table.columns}
    assert codes == []
    assert not {"sex", "language", "region", "true_pd", "birth_date"} & columns
