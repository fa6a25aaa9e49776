//! Where the data is: a database URL that cannot be reached, or that a newer evgrid wrote,
//! gives one clear line and exit status 1 on every command.
#![allow(clippy::unwrap_used)]

mod common;

use common::{evgrid, run};

fn one_line_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("evgrid: "), "{err}");
    assert!(
        !err.contains("backtrace") && !err.contains("Caused by"),
        "{err}"
    );
    lines[0].to_owned()
}

#[test]
fn an_unreachable_database_is_one_line_and_exit_1_and_hides_the_password() {
    // Port 1 on loopback: nothing listens there.
    for args in [
        vec!["user", "list"],
        vec!["targets", "list"],
        vec!["charger", "list"],
        vec!["operator", "list"],
    ] {
        let out = evgrid()
            .args(&args)
            .args(["--database", "postgres://evgrid:s3cret@127.0.0.1:1/evgrid"])
            .output()
            .unwrap();
        let line = one_line_error(&out);
        assert!(line.contains("Connection refused"), "{line}");
        assert!(
            !line.contains("s3cret"),
            "the password is never shown: {line}"
        );
        assert!(line.contains("evgrid:***@127.0.0.1:1"), "{line}");
    }
    let out = evgrid()
        .args(["user", "list", "--database", "mysql://u@127.0.0.1/db"])
        .output()
        .unwrap();
    assert!(one_line_error(&out).contains("not supported"));
}

#[test]
fn a_database_written_by_a_newer_evgrid_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert!(run(&["user", "list", "--data-dir", data]).status.success());
    // A migration this evgrid does not have, as a newer one would have left it.
    let location = common::postgres_database_for(data)
        .unwrap_or_else(|| format!("sqlite://{data}/evgrid.sqlite"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let insert =
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                      VALUES (99999, 'from the future', TRUE, $1, 1)";
        if location.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&location).await.unwrap();
            sqlx::query(insert)
                .bind(vec![0u8])
                .execute(&pool)
                .await
                .unwrap();
        } else {
            let pool = sqlx::SqlitePool::connect(&location).await.unwrap();
            sqlx::query(insert)
                .bind(vec![0u8])
                .execute(&pool)
                .await
                .unwrap();
        }
    });
    let line = one_line_error(&run(&["user", "list", "--data-dir", data]));
    assert!(
        line.contains("migration 99999") && line.contains("newer evgrid"),
        "{line}"
    );
}
