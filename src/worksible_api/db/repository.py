"""The tenant-scoped repository base: another organization's rows do not exist here."""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

import asyncpg
from pydantic import AliasChoices, BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    SQLColumnExpression,
    Uuid,
    bindparam,
    func,
    insert,
    inspect,
    select,
    tuple_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import URL

from worksible_api.db.base import Base
from worksible_api.db.filters import NO_FILTERS, Asked, Filters
from worksible_api.db.rows import (
    CompiledInsert,
    CompiledSelect,
    as_sqlalchemy_error,
    attribute_names,
)
from worksible_api.db.transaction import transaction_driver
from worksible_api.errors import NotFound, ValidationFailed
from worksible_api.kit.ids import parse_id
from worksible_api.kit.pagination import Cursor, ListParams, Order, Page, page_links
from worksible_api.models.row_count import COUNTED_TABLES, RowCount

ModelT = TypeVar("ModelT", bound=Base)
OutT = TypeVar("OutT")
OutModelT = TypeVar("OutModelT", bound=BaseModel)
# A row read to change it: FOR UPDATE, or FOR SHARE to keep it as it is meanwhile.
RowLock = Literal["update", "share"]
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class ListColumns:
    """What a list filters and orders on (API.md §4, §17)."""

    created: SQLColumnExpression[datetime]
    # For objects that never change (events, log entries, attempts) their creation.
    updated: SQLColumnExpression[datetime]
    id: SQLColumnExpression[Any]
    # The default order, newest first: these columns descending, the last one unique so pages
    # are stable (and a page can start after a row: keyset paging).
    newest_key: tuple[SQLColumnExpression[Any], ...]
    # Whether `id` is a UUID (an event's is text).
    uuid_ids: bool = True

    def newest_first(self) -> list[Any]:
        return [column.desc() for column in self.newest_key]


@dataclass(frozen=True)
class Slice(Generic[RowT]):
    """A page of rows, the count of all that match, and where the next page of
    `order=updated_at` starts (None: this is the last)."""

    count: int
    rows: Sequence[RowT]
    after: Cursor | None = None


def _filtered(statement: Select[Any], params: ListParams, columns: ListColumns) -> Select[Any]:
    for column, bound, below in (
        (columns.created, params.created_gte, params.created_lt),
        (columns.updated, params.updated_gte, params.updated_lt),
    ):
        if bound is not None:
            statement = statement.where(column >= bound)
        if below is not None:
            statement = statement.where(column < below)
    return statement


async def paginate_by(
    session: AsyncSession,
    statement: Select[Any],
    params: ListParams,
    columns: ListColumns,
    cursor_of: Callable[[Any], Cursor],
    *,
    scalars: bool = True,
    counter: Select[int] | None = None,
) -> Slice[Any]:
    """One page of `statement` as `params` asks, and the count of all its matches: `counter`
    when the caller has a cheaper one (the counters of an unfiltered list), else a count(*)
    of the filtered statement.

    The count rides on the page's query as one more column (an uncorrelated subquery,
    which PostgreSQL evaluates once): one round trip instead of two. Only an empty page
    asks for it apart. `cursor_of` tells a row's (updated_at, id); rows are ORM objects, or
    tuples with `scalars=False`.
    """
    statement = _filtered(statement, params, columns)
    counting = counter
    if counting is None:
        counting = select(func.count()).select_from(statement.order_by(None).subquery())
    if params.order is Order.NEWEST and params.starting_after is None:
        page = statement.order_by(*columns.newest_first())
        fetched = await _with_count(session, page, params.offset, params.page_size, counting)
        return Slice(await _count_of(session, fetched, counting), _items(fetched, scalars))
    if params.order is Order.NEWEST:
        statement = await _after_anchor(session, statement, columns, params)
        page = statement.order_by(*columns.newest_first())
    else:
        if params.after is not None:
            row_id = _cursor_id(params.after, columns)
            after = tuple_(columns.updated, columns.id) > tuple_(params.after.updated_at, row_id)
            statement = statement.where(after)
        page = statement.order_by(columns.updated.asc(), columns.id.asc())
    # One row more than the page tells whether another page follows.
    fetched = await _with_count(session, page, params.offset, params.page_size + 1, counting)
    count = await _count_of(session, fetched, counting)
    more = len(fetched) > params.page_size
    fetched = fetched[: params.page_size]
    next_start = cursor_of(fetched[-1][0] if scalars else fetched[-1]) if more else None
    return Slice(count, _items(fetched, scalars), next_start)


async def _with_count(
    session: AsyncSession,
    page: Select[Any],
    offset: int,
    limit: int,
    counter: Select[int],
) -> Sequence[Any]:
    """The page's rows, each ending with the count of all matches."""
    result = await session.execute(_with_count_column(page, counter, offset, limit))
    rows: Sequence[Any] = result.all()
    return rows


def _with_count_column(
    page: Select[Any], counter: Select[int], offset: Any, limit: Any
) -> Select[Any]:
    """`page` from `offset`, at most `limit` rows (numbers or parameters), with the count of
    all matches as one more column: an uncorrelated subquery, evaluated once."""
    total = counter.scalar_subquery().correlate(None).label("total_matches")
    return page.add_columns(total).offset(offset).limit(limit)


def _counted(table: str, organization: Any, *, narrowed: bool) -> Select[int] | None:
    """How many rows of `table` the organization has, from the counters triggers keep
    (models/row_count.py); `organization` is its id or a parameter. None where the counters
    cannot tell: a table without them, or a list narrowed by filters or time bounds."""
    if table not in COUNTED_TABLES or narrowed:
        return None
    return select(func.coalesce(func.sum(RowCount.count), 0)).where(
        RowCount.organization_id == organization, RowCount.table_name == table
    )


async def _count_of(session: AsyncSession, fetched: Sequence[Any], counter: Select[int]) -> int:
    if fetched:
        return int(fetched[0][-1])
    return int((await session.execute(counter)).scalar_one())


def _items(fetched: Sequence[Any], scalars: bool) -> list[Any]:
    """The rows without their count: the ORM objects, or the selected columns."""
    return [row[0] for row in fetched] if scalars else [row[:-1] for row in fetched]


async def _after_anchor(
    session: AsyncSession, statement: Select[Any], columns: ListColumns, params: ListParams
) -> Select[Any]:
    """`statement` narrowed to the rows after `starting_after` in the default order (newest
    first). The anchor is looked up in the list itself, so an id of another organization, or
    of an object the filters leave out, positions nothing: 422."""
    raw = params.starting_after or ""
    anchor_id = parse_id(raw) if columns.uuid_ids else raw
    anchor = None
    if anchor_id is not None:
        position = statement.with_only_columns(*columns.newest_key).where(columns.id == anchor_id)
        anchor = (await session.execute(position.order_by(None).limit(1))).first()
    if anchor is None:
        raise ValidationFailed.for_field(
            ["query", "starting_after"], f"No object {raw} in this list to start after."
        )
    return statement.where(tuple_(*columns.newest_key) < tuple_(*anchor))


def _cursor_id(cursor: Cursor, columns: ListColumns) -> UUID | str:
    if not columns.uuid_ids:
        return cursor.id
    found = parse_id(cursor.id)
    if found is None:
        raise ValidationFailed.for_field(["query", "after"], "Not a cursor of this list.")
    return found


def row_cursor(row: Any) -> Cursor:
    """The cursor of an ORM row: its updated_at (or created_at, if it never changes) and id."""
    return Cursor(getattr(row, "updated_at", None) or row.created_at, str(row.id))


def violated_constraint(error: IntegrityError) -> str | None:
    """The unique index or constraint a write violated, as PostgreSQL names it: asyncpg's
    error carries it, wrapped by SQLAlchemy's DBAPI adapter (`orig.__cause__`) or, for a
    statement sent on the driver, as `orig` itself (db/rows.py `as_sqlalchemy_error`)."""
    for reported in (error.orig, getattr(error.orig, "__cause__", None)):
        name = getattr(reported, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


class Repository(Generic[ModelT]):
    model: type[ModelT]
    # Shown in 404 details, e.g. "No such freelancer: …".
    object_name: str
    # What its list can be narrowed by (`asked`, `page`).
    filters = Filters()

    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self._scoped: Select[ModelT] | None = None

    def scoped(self) -> Select[ModelT]:
        """This organization's rows. One statement per repository (a statement never
        changes, each step makes a new one), so a list given it back is known unfiltered."""
        if self._scoped is None:
            model: Any = self.model
            self._scoped = select(self.model).where(model.organization_id == self.organization_id)
        return self._scoped

    @classmethod
    def scoped_by_organization_alone(cls) -> bool:
        """Whether its rows are the organization's rows and nothing narrower (most
        repositories): then a row by id can be read by a statement made once, with the
        organization bound (`by_id`, the direct reads)."""
        return cls.scoped is Repository.scoped

    def with_external_id(
        self, statement: Select[ModelT], external_id: str | None
    ) -> Select[ModelT]:
        """Narrows a list to the object with the client's own id (API.md §17)."""
        if external_id is None:
            return statement
        model: Any = self.model
        return statement.where(model.external_id == external_id)

    async def find(self, raw_id: str | UUID, *, for_update: bool = False) -> ModelT | None:
        object_id = parse_id(raw_id)
        if object_id is None:
            return None
        statement, parameters = self.by_id(object_id, "update" if for_update else None)
        result = await self.session.execute(statement, parameters)
        found: ModelT | None = result.scalar_one_or_none()
        return found

    def by_id(
        self, object_id: UUID, lock: RowLock | None = None
    ) -> tuple[Select[ModelT], dict[str, Any]]:
        """The statement reading one of this organization's rows, `lock`ed if asked, and its
        parameters. A repository scoped by its organization alone (most) runs one statement
        made once per model and lock, its values bound at execution: building the statement
        and its cache key for each call cost more CPU than running it (~170 µs a read)."""
        if self.scoped_by_organization_alone():
            parameters = {"organization_id": self.organization_id, "object_id": object_id}
            return _row_by_id(self.model, lock), parameters
        model: Any = self.model
        return _locked(self.scoped().where(model.id == object_id), lock), {}

    async def get(self, raw_id: str | UUID, *, for_update: bool = False) -> ModelT:
        found = await self.find(raw_id, for_update=for_update)
        if found is None:
            raise NotFound(f"No such {self.object_name}: {raw_id}")
        return found

    async def referenced(
        self, raw_id: str | UUID, field: str, *, for_update: bool = False
    ) -> ModelT:
        """An object a body field names: unknown or another organization's is 422 (API.md §1)."""
        found = await self.find(raw_id, for_update=for_update)
        if found is None:
            raise ValidationFailed.for_field(
                ["body", field], f"No such {self.object_name}: {raw_id}"
            )
        return found

    async def add(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def insert(self, **values: Any) -> dict[str, Any]:
        """Writes one row of this organization in one statement and answers it as PostgreSQL
        wrote it (RETURNING), keyed by the attribute names response models read.

        A value may be a SQL expression evaluated inside the INSERT, such as a default read
        from the organization's row, where reading it first would cost a round trip; it names
        the organization as ACTING_ORGANIZATION. The statement is built and compiled once per
        set of columns, not per request: building it with the values cost a create more than
        the INSERT's round trip (docs/benchmark.md). It is sent on the driver connection of the
        session's transaction; what PostgreSQL refuses is raised as SQLAlchemy raises it."""
        expressions = tuple(
            (name, value) for name, value in values.items() if isinstance(value, ColumnElement)
        )
        plain = tuple(
            name for name, value in values.items() if not isinstance(value, ColumnElement)
        )
        made = insert_statement(self.model, plain, expressions)
        params = {made.column_keys[name]: values[name] for name in plain}
        params["organization_id"] = self.organization_id
        if expressions:
            params[ACTING_ORGANIZATION.key] = self.organization_id
        compiled = _compiled_insert(made, tuple(params), self.session.get_bind().dialect)
        driver = await transaction_driver(self.session)
        try:
            record = await driver.fetchrow(compiled.sql, *compiled.arguments(params))
        except asyncpg.PostgresError as error:
            raise as_sqlalchemy_error(error, compiled.sql) from error
        return dict(zip(made.attribute_names, compiled.values(record), strict=True))

    @classmethod
    @functools.cache
    def list_columns(cls) -> ListColumns:
        # Made once per repository: every list request asks for them.
        model: Any = cls.model
        updated = getattr(model, "updated_at", model.created_at)
        return ListColumns(
            model.created_at,
            updated,
            model.id,
            (model.created_at, model.id),
            uuid_ids=model.__table__.c.id.type.python_type is UUID,
        )

    async def paginate(self, statement: Select[ModelT], params: ListParams) -> Slice[ModelT]:
        """One page, newest first with ties broken by id (or oldest change first), and the
        total count of matches."""
        return await paginate_by(
            self.session,
            statement,
            params,
            self.list_columns(),
            row_cursor,
            counter=self._whole_count(statement, params),
        )

    def _whole_count(self, statement: Select[ModelT], params: ListParams) -> Select[int] | None:
        """The count of a list without filters, all of the organization's rows, read from the
        counters triggers keep (models/row_count.py); None when it must be counted."""
        table = str(getattr(self.model, "__tablename__", ""))
        # The very statement scoped() made: comparing statements costs more than the count.
        if statement is not self.scoped():
            return None
        return _counted(table, self.organization_id, narrowed=params.filters_time)

    @classmethod
    def asked(cls, **given: Any) -> Asked:
        """The list's filters (`filters`) a request gives, those not None, with their values."""
        return cls.filters.asked(**given)

    async def page(
        self,
        listing: "Select[ModelT] | Asked",
        params: ListParams,
        url: URL,
        out: type[OutModelT],
    ) -> Page[OutModelT]:
        """A list response (API.md §4) of `listing`, each row as `out`: the organization's rows
        narrowed by the filters asked for, or a statement built by the caller.

        Where every field of `out` reads a column, the page is read as plain rows and
        validated into `out` in one call: no ORM instances, identity map or attribute
        instrumentation, which cost a page of 50 more CPU than its queries. Otherwise (a field
        reads a property of the ORM object) each object is validated as the API does elsewhere.
        Filters asked for are read by a statement compiled once (`CompiledPages`) unless the
        page starts after an object (`starting_after` looks it up first) or a filter's value
        can match nothing.
        """
        asked = self._asked(listing)
        bind: Any = self.session.get_bind()
        compiled = (
            self.compiled_read(self.organization_id, asked, params, out, bind.dialect)
            if asked is not None
            else None
        )
        if compiled is not None:
            connection = await self.session.connection()
            driver: Any = (await connection.get_raw_connection()).driver_connection
            return await compiled.page(driver, url)
        statement = listing if isinstance(listing, Select) else listing.narrow(self.scoped())
        reader = RowReader.of(self.model, out)
        if reader is None:
            return await self.page_rendered(statement, params, url, out.model_validate)
        found = await paginate_by(
            self.session,
            statement.with_only_columns(*reader.columns),
            params,
            self.list_columns(),
            row_cursor,
            scalars=False,
            counter=self._whole_count(statement, params),
        )
        return _page_response(url, params, found, reader.validate(found.rows))

    def _asked(self, listing: "Select[ModelT] | Asked") -> Asked | None:
        """The filters `listing` is made of; None for a statement the caller built."""
        if isinstance(listing, Asked):
            return listing
        # The very statement scoped() made: comparing statements costs more than the page.
        return NO_FILTERS if listing is self.scoped() else None

    @classmethod
    def compiled_read(
        cls,
        organization_id: UUID,
        asked: Asked,
        params: ListParams,
        out: type[OutModelT],
        dialect: Dialect,
    ) -> "CompiledRead[OutModelT] | None":
        """How a page of the organization's rows narrowed by `asked` is read by a statement
        compiled once for the filters and the page's shape (`CompiledPages`); None where it
        cannot be: a field of `out` is not a column, the page starts after an object
        (`starting_after` looks it up first), or a filter's value matches nothing."""
        reader = RowReader.of(cls.model, out)
        shape = PageShape.of(params)
        if reader is None or shape is None or asked.matches_nothing:
            return None
        columns = cls.list_columns()
        pages = CompiledPages.of(cls.model, reader, columns, shape, asked, dialect)
        return CompiledRead(pages, reader, columns, params, organization_id, asked)

    async def page_rendered(
        self,
        statement: Select[ModelT],
        params: ListParams,
        url: URL,
        render: Callable[[ModelT], OutT],
    ) -> Page[OutT]:
        """A list response of `statement`, each ORM object rendered by `render`."""
        found = await self.paginate(statement, params)
        return _page_response(url, params, found, [render(row) for row in found.rows])


def _page_response(
    url: URL, params: ListParams, found: Slice[Any], results: list[OutT]
) -> Page[OutT]:
    next_link, previous_link = page_links(url, params, found.count, found.after)
    return Page[OutT](count=found.count, next=next_link, previous=previous_link, results=results)


@dataclass(frozen=True)
class CompiledRead(Generic[OutModelT]):
    """A list response read by its compiled statement (`Repository.compiled_read`): the same
    answer as the statement built per request gives."""

    pages: "CompiledPages"
    reader: "RowReader[OutModelT]"
    columns: ListColumns
    params: ListParams
    organization_id: UUID
    asked: Asked

    async def page(self, driver: Any, url: URL) -> Page[OutModelT]:
        """The page, read on the asyncpg connection `driver`."""
        params, names = self.params, self.reader.names
        count, rows = await self.pages.read(
            driver, params, self.organization_id, self.columns, self.asked
        )
        found = Slice(count, rows)
        if self.pages.shape.order is Order.UPDATED and len(rows) > params.page_size:
            # One row more than the page was read: another page follows, after its last.
            last = dict(zip(names, rows[params.page_size - 1], strict=True))
            found = Slice(count, rows[: params.page_size], row_cursor(SimpleNamespace(**last)))
        return _page_response(url, params, found, self.reader.validate(found.rows))


# The organization a statement acts for, bound by `Repository.insert`: an expression among an
# insert's values names it this way instead of holding the id, so the statement stays the same
# from one request to the next and is compiled once (ORGANIZATION_DEFAULT_CURRENCY).
ACTING_ORGANIZATION = bindparam("acting_organization_id", type_=Uuid)


@dataclass(frozen=True, eq=False)
class InsertStatement:
    statement: Insert
    # Attribute name (`metadata_`) -> column key (`metadata`), for the values given.
    column_keys: dict[str, str]
    # The RETURNING columns' attribute names, in order.
    attribute_names: tuple[str, ...]
    # The RETURNING columns, in order.
    returning: tuple[Any, ...]


@functools.lru_cache(maxsize=256)
def _compiled_insert(
    made: InsertStatement, keys: tuple[str, ...], dialect: Dialect
) -> CompiledInsert:
    """`made` compiled for the columns `keys` names, once per set and dialect: run on the
    driver, the INSERT skips SQLAlchemy's per-statement work (its execution context, parameter
    and result processing, the compiled cache's lookup), 7 % of a create's instructions."""
    return CompiledInsert(made.statement, keys, made.returning, dialect)


def _locked(statement: Select[ModelT], lock: RowLock | None) -> Select[ModelT]:
    if lock is None:
        return statement
    # populate_existing: an object already in the session is refreshed from the row now
    # locked, so the rule that follows reads the committed state, not a stale copy.
    locked = statement.with_for_update(read=lock == "share")
    return locked.execution_options(populate_existing=True)


def bound_to_organization(model: type[ModelT]) -> Select[ModelT]:
    """`model`'s rows of the organization bound at execution as `organization_id`: what
    `Repository.scoped` reads, for a statement made once and run with its values."""
    table: Any = model
    return select(model).where(table.organization_id == bindparam("organization_id"))


@functools.lru_cache(maxsize=256)
def _row_by_id(model: type[ModelT], lock: RowLock | None) -> Select[ModelT]:
    """One row of `model` by `organization_id` and `object_id`, both bound at execution."""
    table: Any = model
    return _locked(bound_to_organization(model).where(table.id == bindparam("object_id")), lock)


@functools.lru_cache(maxsize=256)
def insert_statement(
    model: type[Base], plain: tuple[str, ...], expressions: tuple[tuple[str, Any], ...]
) -> InsertStatement:
    """The INSERT of one `model` row setting `plain` from parameters and `expressions` as
    given, returning every column: made once per model, columns and (constant) expressions."""
    table: Any = model.__table__
    attribute_of = attribute_names(model)
    column_key = {attribute: key for key, attribute in attribute_of.items()}
    statement = (
        insert(table)
        .values({column_key[name]: expression for name, expression in expressions})
        .returning(*table.columns)
    )
    return InsertStatement(
        statement,
        {name: column_key[name] for name in plain},
        tuple(attribute_of[column.key] for column in table.columns),
        tuple(table.columns),
    )


@dataclass(frozen=True)
class RowReader(Generic[OutModelT]):
    """How a list reads `out` from plain rows: the mapped columns, labelled with the attribute
    names response models read (`metadata_` for the column `metadata`), and one validator for
    the whole page."""

    columns: tuple[Any, ...]
    names: tuple[str, ...]
    adapter: TypeAdapter[list[OutModelT]]

    @classmethod
    def of(cls, model: type[Base], out: type[OutModelT]) -> "RowReader[OutModelT] | None":
        """The reader of `out` from `model`'s rows (made once per pair), or None when a field of
        `out` reads something that is not a column."""
        key = (model, out)
        if key not in _READERS:
            _READERS[key] = cls._made(model, out)
        return _READERS[key]

    @staticmethod
    def _made(model: type[Base], out: type[BaseModel]) -> "RowReader[Any] | None":
        attributes = inspect(model).column_attrs
        names = tuple(attribute.key for attribute in attributes)
        for name, field in out.model_fields.items():
            if field.is_required() and not input_names(name, field.validation_alias) & set(names):
                return None
        columns = tuple(attribute.columns[0].label(attribute.key) for attribute in attributes)
        return RowReader(columns, names, TypeAdapter(list[out]))  # type: ignore[valid-type]

    def validate(self, rows: Sequence[Any]) -> list[OutModelT]:
        # Plain dicts: pydantic reads a Row's attributes, or its mapping, several times slower.
        names = self.names
        return self.adapter.validate_python([dict(zip(names, row, strict=True)) for row in rows])


_READERS: dict[tuple[type[Base], type[BaseModel]], RowReader[Any] | None] = {}


# The time bounds a list takes (API.md §4, §17), as ListParams names them.
_TIME_BOUNDS = ("created_gte", "created_lt", "updated_gte", "updated_lt")


@dataclass(frozen=True)
class PageShape:
    """What a list's statement looks like besides its filters: its order, which time bounds it
    has, and whether it starts after a cursor. The values are the statement's parameters."""

    order: Order
    bounds: tuple[str, ...]
    after: bool

    @classmethod
    def of(cls, params: ListParams) -> "PageShape | None":
        """None for `starting_after`, which first looks its anchor up."""
        if params.starting_after is not None:
            return None
        bounds = tuple(name for name in _TIME_BOUNDS if getattr(params, name) is not None)
        after = params.order is Order.UPDATED and params.after is not None
        return cls(params.order, bounds, after)


@dataclass(frozen=True)
class CompiledPages:
    """The pages of a list narrowed by the same filters (or none, the ones most asked for: an
    export paging through everything, a sync reading what changed since its last run): the
    organization's rows, within the time bounds asked for, in the order asked for, with their
    count (from the counters when nothing narrows the list and the table has them). Compiled
    once per model, filters and shape and read with asyncpg (db/rows.py): building the
    statement, its cache key and SQLAlchemy's execution cost a page of 50 half its CPU
    (docs/benchmark.md). The statement `paginate_by` builds, with the organization, filters,
    bounds, cursor, offset and size as parameters."""

    shape: PageShape
    page: CompiledSelect
    count: CompiledSelect

    async def read(
        self,
        driver: Any,
        params: ListParams,
        organization_id: UUID,
        columns: ListColumns,
        asked: Asked,
    ) -> tuple[int, list[Sequence[Any]]]:
        """The count, and the page's rows (one more, oldest change first, to tell whether
        another page follows) on the asyncpg connection `driver`."""
        values = {ACTING_ORGANIZATION.key: organization_id, **asked.parameters()}
        values |= {name: getattr(params, name) for name in self.shape.bounds}
        after = {}
        if self.shape.after and params.after is not None:
            after = {
                "after_at": params.after.updated_at,
                "after_id": _cursor_id(params.after, columns),
            }
        limit = params.page_size if self.shape.order is Order.NEWEST else params.page_size + 1
        records = await driver.fetch(
            self.page.sql,
            *self.page.arguments(**values, **after, page_offset=params.offset, page_limit=limit),
        )
        if records:
            count = records[0][-1]
        else:  # past the last page: the count on its own
            count = await driver.fetchval(self.count.sql, *self.count.arguments(**values))
        return int(count), [self.page.values(record)[:-1] for record in records]

    @classmethod
    def of(
        cls,
        model: type[Base],
        reader: RowReader[Any],
        columns: ListColumns,
        shape: PageShape,
        asked: Asked,
        dialect: Dialect,
    ) -> "CompiledPages":
        # A reader selects every column of its model, whatever the answer: one per model,
        # filters and shape.
        key = (model, asked.filters, asked.names, shape)
        if key not in _COMPILED_PAGES:
            page, counter = _page_statements(model, reader.columns, columns, shape, asked)
            compiled = cls(shape, CompiledSelect(page, dialect), CompiledSelect(counter, dialect))
            _COMPILED_PAGES[key] = compiled
        return _COMPILED_PAGES[key]


def _page_statements(
    model: type[Base],
    selected: tuple[Any, ...],
    columns: ListColumns,
    shape: PageShape,
    asked: Asked,
) -> tuple[Select[Any], Select[int]]:
    """The page of `shape` with its count column, and the count alone."""
    mapped: Any = model
    # Typed as expressions; they are the model's columns, whose types the parameters take.
    created: Any = columns.created
    updated: Any = columns.updated
    id_column: Any = columns.id
    rows = select(*selected).where(
        mapped.organization_id == ACTING_ORGANIZATION, *asked.parameterized()
    )
    for name in shape.bounds:
        column = created if name.startswith("created") else updated
        bound = bindparam(name, type_=column.type)
        rows = rows.where(column >= bound if name.endswith("_gte") else column < bound)
    table = str(mapped.__tablename__)
    counter = _counted(table, ACTING_ORGANIZATION, narrowed=bool(shape.bounds or asked.names))
    if counter is None:
        counter = select(func.count()).select_from(rows.subquery())
    if shape.order is Order.NEWEST:
        page = rows.order_by(*columns.newest_first())
    else:
        if shape.after:
            cursor = tuple_(
                bindparam("after_at", type_=updated.type),
                bindparam("after_id", type_=id_column.type),
            )
            rows = rows.where(tuple_(updated, id_column) > cursor)
        page = rows.order_by(updated.asc(), id_column.asc())
    page = _with_count_column(
        page,
        counter,
        bindparam("page_offset", type_=Integer),
        bindparam("page_limit", type_=Integer),
    )
    return page, counter


_COMPILED_PAGES: dict[tuple[Any, ...], CompiledPages] = {}


def input_names(name: str, alias: object) -> set[str]:
    """The names a response model's field reads from its input (its aliases, or its name)."""
    if isinstance(alias, AliasChoices):
        return {choice for choice in alias.choices if isinstance(choice, str)}
    return {alias} if isinstance(alias, str) else {name}
