"""Giving a PostgreSQL role the register of one CPTS (``mt-access registre droits``):
:func:`grant_cpts`."""

from __future__ import annotations

from psycopg import sql

from mt_access.store.postgres import PostgresStore
from mt_access.store.postgres_errors import guard
from mt_access.store.postgres_schema import AUDIT_GRANT, USERS_GRANT

__all__ = ["grant_cpts"]


def grant_cpts(url: str, role: str, cpts: str) -> None:
    """Give the PostgreSQL role ``role`` (created beforehand by the administrator, e.g.
    ``CREATE ROLE coord_lille LOGIN PASSWORD ...``) the use of the register of CPTS ``cpts``
    and of that one only: maps it to the CPTS and grants it the rights on the register's
    tables; the row-level policies do the rest. Run with the administrator's URL (the owner
    of the ``mt_access`` schema).

    Raises:
        StoreError: the database is not a register, or the grant failed.
    """
    with PostgresStore(url, cpts=cpts, create=True) as store:
        conn = store._connection()
        role_id = sql.Identifier(role)
        with guard(f"droits du rôle {role}", store._fail, store._timeout):
            conn.execute("BEGIN")
            try:
                conn.execute(
                    "INSERT INTO mt_access.cpts_roles (role_name, cpts) VALUES (%s, %s) "
                    "ON CONFLICT (role_name) DO UPDATE SET cpts = EXCLUDED.cpts",
                    (role, cpts),
                )
                statements = (
                    "GRANT USAGE ON SCHEMA mt_access TO {}",
                    "GRANT SELECT ON mt_access.schema_info, mt_access.cpts_roles TO {}",
                    "GRANT SELECT, UPDATE ON mt_access.registers TO {}",
                    "GRANT SELECT, INSERT, UPDATE ON mt_access.settings, mt_access.requests, "
                    "mt_access.identities, mt_access.physicians TO {}",
                    "GRANT SELECT, INSERT ON mt_access.ledger, mt_access.runs, "
                    "mt_access.imported_rows, mt_access.sendings TO {}",
                    "GRANT SELECT, INSERT, UPDATE ON mt_access.transitions TO {}",
                    "GRANT EXECUTE ON FUNCTION mt_access.current_cpts() TO {}",
                    USERS_GRANT,
                    AUDIT_GRANT,
                )
                for statement in statements:
                    conn.execute(sql.SQL(statement).format(role_id))
                conn.execute("COMMIT")
            except BaseException:
                PostgresStore._rollback(conn)
                raise
