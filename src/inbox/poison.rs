//! Which failures of one text are the text's own fault. Pure.
//!
//! A text that fails for a deterministic reason (the database refuses its data, a constraint
//! that no retry will satisfy) would fail again on every pass and hold up every text behind
//! it, so it is set aside as `bad` with the reason. Anything that may go away by itself (the
//! connection, a pool timeout, a serialisation conflict, a unique key another worker took
//! first) aborts the pass, which runs again from what is committed.

use sqlx::error::ErrorKind;

use crate::store::{Backend, StoreError};

/// The reason to record when `e` is the text's own fault; `None` when the pass must retry.
pub(crate) fn poison_reason(e: &StoreError, backend: Backend) -> Option<String> {
    let deterministic = match e {
        StoreError::Sqlx(sqlx::Error::Database(d)) => match d.kind() {
            // Two workers racing for one row or one number: the next pass sees the winner.
            ErrorKind::UniqueViolation => false,
            ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation => true,
            _ => d.code().is_some_and(|c| data_error_code(&c, backend)),
        },
        // A value the driver cannot encode or a row it cannot decode stays so on a retry.
        StoreError::Sqlx(sqlx::Error::Encode(_))
        | StoreError::Sqlx(sqlx::Error::Decode(_))
        | StoreError::Sqlx(sqlx::Error::ColumnDecode { .. }) => true,
        // Connection, pool, I/O, protocol; `Corrupt` is a row another worker took.
        _ => false,
    };
    deterministic.then(|| e.to_string())
}

/// PostgreSQL: SQLSTATE class 22, data exception (invalid byte sequence such as a NUL,
/// value out of range, bad datetime). SQLite (extended result codes): a value too big (18),
/// a type mismatch (20), out of range (25), and a constraint other than UNIQUE (2067) and
/// PRIMARY KEY (1555), e.g. one a trigger raises.
fn data_error_code(code: &str, backend: Backend) -> bool {
    match backend {
        Backend::Postgres => code.len() == 5 && code.starts_with("22"),
        Backend::Sqlite => match code.parse::<i32>() {
            Ok(n) => matches!(n & 0xFF, 18 | 20 | 25) || (n & 0xFF == 19 && n != 2067 && n != 1555),
            Err(_) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Debug)]
    struct Db(&'static str, ErrorKind);
    impl std::fmt::Display for Db {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "db error {}", self.0)
        }
    }
    impl std::error::Error for Db {}
    impl sqlx::error::DatabaseError for Db {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            match self.1 {
                ErrorKind::UniqueViolation => ErrorKind::UniqueViolation,
                ErrorKind::NotNullViolation => ErrorKind::NotNullViolation,
                _ => ErrorKind::Other,
            }
        }
    }

    fn db(code: &'static str, kind: ErrorKind) -> StoreError {
        StoreError::Sqlx(sqlx::Error::Database(Box::new(Db(code, kind))))
    }

    #[test]
    fn data_errors_are_the_texts_fault() {
        use Backend::*;
        // The NUL defect: invalid byte sequence for encoding UTF8.
        assert!(poison_reason(&db("22021", ErrorKind::Other), Postgres).is_some());
        assert!(poison_reason(&db("22003", ErrorKind::Other), Postgres).is_some());
        assert!(poison_reason(&db("23502", ErrorKind::NotNullViolation), Postgres).is_some());
        // RAISE(ABORT) in a trigger, a value too big.
        assert!(poison_reason(&db("1811", ErrorKind::Other), Sqlite).is_some());
        assert!(poison_reason(&db("18", ErrorKind::Other), Sqlite).is_some());
        let reason = poison_reason(&db("22021", ErrorKind::Other), Postgres).unwrap();
        assert!(reason.contains("22021"), "{reason}");
    }

    #[test]
    fn transient_and_racing_errors_retry_the_pass() {
        use Backend::*;
        for (code, backend) in [
            ("23505", Postgres), // unique: another worker won
            ("40001", Postgres), // serialisation failure
            ("40P01", Postgres), // deadlock
            ("57P01", Postgres), // admin shutdown
            ("08006", Postgres), // connection failure
            ("53300", Postgres), // too many connections
            ("5", Sqlite),       // busy
            ("2067", Sqlite),    // unique
            ("10", Sqlite),      // I/O
        ] {
            let kind = if code == "23505" || code == "2067" {
                ErrorKind::UniqueViolation
            } else {
                ErrorKind::Other
            };
            assert_eq!(poison_reason(&db(code, kind), backend), None, "{code}");
        }
        assert_eq!(
            poison_reason(&StoreError::Sqlx(sqlx::Error::PoolTimedOut), Postgres),
            None
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(poison_reason(&StoreError::Sqlx(io.into()), Sqlite), None);
        assert_eq!(
            poison_reason(&StoreError::Corrupt("taken".into()), Sqlite),
            None
        );
    }
}
