//! Points in time as the engines keep them: `BIGINT` seconds since 1970 on SQLite,
//! `TIMESTAMPTZ` on PostgreSQL (so a city's IT team reads real timestamps), the same `i64`
//! seconds in Rust. The statements bind and read [`UnixTime`] wherever a column is a time;
//! arithmetic on times in SQL goes through the dialect's `epoch`.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Type};

/// A time, seconds since 1970 (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct UnixTime(pub i64);

/// Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH: i64 = 946_684_800;

impl Type<Sqlite> for UnixTime {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for UnixTime {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for UnixTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(UnixTime(<i64 as Decode<'r, Sqlite>>::decode(value)?))
    }
}

/// `timestamptz` (OID 1184).
fn timestamptz() -> PgTypeInfo {
    PgTypeInfo::with_oid(sqlx::postgres::types::Oid(1184))
}

impl Type<Postgres> for UnixTime {
    fn type_info() -> PgTypeInfo {
        timestamptz()
    }
}

impl Encode<'_, Postgres> for UnixTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let micros = (self.0 - PG_EPOCH)
            .checked_mul(1_000_000)
            .ok_or("time out of range")?;
        buf.extend_from_slice(&micros.to_be_bytes());
        Ok(IsNull::No)
    }
}

impl<'r> Decode<'r, Postgres> for UnixTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => {
                let bytes: [u8; 8] = value.as_bytes()?.try_into()?;
                let micros = i64::from_be_bytes(bytes);
                Ok(UnixTime(micros.div_euclid(1_000_000) + PG_EPOCH))
            }
            PgValueFormat::Text => {
                // `2026-12-03 20:06:03.123+00`: UTC as the sessions are set.
                let text = value.as_str()?;
                let iso = format!("{}Z", text.replacen(' ', "T", 1).trim_end_matches("+00"));
                evgrid_model::time::parse_rfc3339(&iso)
                    .map(UnixTime)
                    .ok_or_else(|| format!("not a timestamp: {text}").into())
            }
        }
    }
}
