//! The pieces of SQL that engines spell differently. The statements in `sql/` are written in the
//! SQL every engine takes (standard joins, `ON CONFLICT`, `RETURNING`, window functions,
//! `COALESCE`, numbered parameters `$n`) and ask their engine's dialect for the rest.

/// An engine's spelling of what standard SQL leaves open. Implemented for each sqlx database
/// type an engine uses.
pub(crate) trait Dialect {
    /// The larger of two integer expressions (a scalar, not the aggregate).
    fn greatest(a: &str, b: &str) -> String;

    /// The smaller of two integer expressions (a scalar, not the aggregate).
    fn least(a: &str, b: &str) -> String;

    /// A time column or expression as seconds since 1970 (an integer), for arithmetic.
    fn epoch(time: &str) -> String;

    /// The sum of an integer expression as a 64-bit integer (some engines widen it to a decimal).
    fn sum_int(expr: &str) -> String;

    /// The values of `expr` in the group, ordered by `order_by`, joined by `separator` (a
    /// literal without quotes).
    fn string_agg(expr: &str, separator: &str, order_by: &str) -> String;

    /// The calendar day (`YYYY-MM-DD`) or hour of the day (`HH`) in China (UTC+8) of a time
    /// column or expression.
    fn china_bucket(time: &str, hourly: bool) -> String;

    /// A subquery of the 64-bit ids in the JSON array bound to parameter `$n`
    /// (`… WHERE id IN (<this>)`).
    fn ids_in_json(n: usize) -> String;

    /// A condition: `column` is one of the texts in the JSON array bound to parameter `$n`.
    fn text_among_json(column: &str, n: usize) -> String;

    /// The column that orders a table's rows as they were inserted, for tables without one.
    const INSERTION_ORDER: &'static str;

    /// The `n`th (1-based) parameter of a statement built with many rows.
    fn batch_param(n: usize) -> String;

    /// A statement that refreshes the planner's statistics of the network's tables after a
    /// large import, where the engine's plans depend on them; `None` where they do not.
    const REFRESH_NETWORK_STATISTICS: Option<&'static str>;
}

impl Dialect for sqlx::Sqlite {
    fn greatest(a: &str, b: &str) -> String {
        format!("MAX({a}, {b})")
    }

    fn least(a: &str, b: &str) -> String {
        format!("MIN({a}, {b})")
    }

    fn epoch(time: &str) -> String {
        time.to_owned()
    }

    fn sum_int(expr: &str) -> String {
        format!("SUM({expr})")
    }

    fn string_agg(expr: &str, separator: &str, order_by: &str) -> String {
        format!("group_concat({expr}, '{separator}' ORDER BY {order_by})")
    }

    fn china_bucket(seconds: &str, hourly: bool) -> String {
        let format = if hourly { "%H" } else { "%Y-%m-%d" };
        format!("strftime('{format}', {seconds} + 28800, 'unixepoch')")
    }

    fn ids_in_json(n: usize) -> String {
        format!("SELECT value FROM json_each(${n})")
    }

    fn text_among_json(column: &str, n: usize) -> String {
        format!("{column} IN (SELECT value FROM json_each(${n}))")
    }

    const INSERTION_ORDER: &'static str = "rowid";

    /// SQLite's plans for these lookups follow the unique indexes whatever the statistics.
    const REFRESH_NETWORK_STATISTICS: Option<&'static str> = None;

    /// Anonymous: sqlx finds a numbered SQLite parameter by scanning the statement's list of
    /// names, which made binding a 400-row statement quadratic (7% of the server's CPU under
    /// `evgrid bench ocpp`).
    fn batch_param(_n: usize) -> String {
        "?".to_owned()
    }
}

impl Dialect for sqlx::Postgres {
    fn greatest(a: &str, b: &str) -> String {
        format!("GREATEST({a}, {b})")
    }

    fn least(a: &str, b: &str) -> String {
        format!("LEAST({a}, {b})")
    }

    fn epoch(time: &str) -> String {
        format!("CAST(EXTRACT(EPOCH FROM {time}) AS BIGINT)")
    }

    /// PostgreSQL widens the SUM of a `BIGINT` to `NUMERIC`.
    fn sum_int(expr: &str) -> String {
        format!("CAST(SUM({expr}) AS BIGINT)")
    }

    fn string_agg(expr: &str, separator: &str, order_by: &str) -> String {
        format!("string_agg({expr}, '{separator}' ORDER BY {order_by})")
    }

    fn china_bucket(seconds: &str, hourly: bool) -> String {
        let format = if hourly { "HH24" } else { "YYYY-MM-DD" };
        format!("to_char({seconds} AT TIME ZONE 'Asia/Shanghai', '{format}')")
    }

    fn ids_in_json(n: usize) -> String {
        format!("SELECT CAST(jsonb_array_elements_text(CAST(${n} AS JSONB)) AS BIGINT)")
    }

    /// `= ANY` of an array made once: the planner looks each text up by the index, where
    /// `IN (SELECT jsonb_array_elements_text(…))` guessed a hundred rows and scanned the
    /// operator's connectors (1 ms a T/CEC push's group).
    fn text_among_json(column: &str, n: usize) -> String {
        format!("{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(${n} AS JSONB))))")
    }

    /// Tables without an order of their own carry an identity column `seq` on PostgreSQL.
    const INSERTION_ORDER: &'static str = "seq";

    /// Without it, until autovacuum's next analyze (a minute or more), the planner takes an
    /// operator's thousands of connectors for a few dozen and looks a push's connectors up by
    /// scanning all of them (2 ms instead of 0.05 ms per push).
    const REFRESH_NETWORK_STATISTICS: Option<&'static str> =
        Some("ANALYZE operators, stations, equipment, connectors, tariff_periods");

    fn batch_param(n: usize) -> String {
        format!("${n}")
    }
}
